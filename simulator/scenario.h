// Scenarios: a topology (mail server hosts, client hosts, domains, users), a workload,
// faults and phase lengths; and the runner that plays one scenario for one seed:
//   1. fault phase: sessions arrive while the chaos injector crashes servers (at random
//      times, right after a sync — between fsync and the 250 — and right after a 250 is
//      written), partitions clients from servers, and the net/disk/BUGGIFY faults apply;
//   2. heal: partitions healed, faults off, every server booted again;
//   3. liveness/drain: a few more sessions that must all succeed; every session must end;
//   4. checks: ledger vs. mailboxes, live and as a power loss would leave them.
// Same build + scenario + seed => same trace hash (DESIGN.md Determinism).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checker.h"
#include "imap_workload.h"
#include "pop3_workload.h"
#include "core/result.h"
#include "mail_host.h"
#include "personality.h"
#include "sim_config.h"
#include "workload.h"
#include "world.h"

namespace mail::sim {

struct FaultConfig {
  std::optional<DurationRange> crash_interval;  // between random server crashes; none: no crashes
  DurationRange downtime{1s, 20s};              // a crashed server stays down this long
  std::uint32_t crash_after_sync_ppm = 0;       // crash right after a server's sync completes
  std::uint32_t crash_after_ack_ppm = 0;        // crash right after a server writes "250 ... queued"
  std::optional<DurationRange> partition_interval;  // between client/server partitions
  DurationRange partition_duration{1s, 20s};
  std::uint32_t one_way_partition_ppm = 300'000;
  NetConfig net;    // applies from the start; its fault knobs are zeroed at heal
  DiskConfig disk;  // applies to every server; EIO/ENOSPC are zeroed at heal
  bool buggify = false;
};

// Relaying hosts (the relay-* scenarios, issue 13): server i (mx<i+1>) is the MTA of
// hosts[i].domain (MX <domain> -> mx<i+1>.<domain> -> its address, in SimDns, so routing goes
// through real MX lookups) with the directory's users, runs the outbound queue and relays
// for its trusted networks (the client hosts are 10.0.2.x). The workload submits from
// user@<own domain> to local and remote users, some unknown (bounced back), some with
// NOTIFY=SUCCESS. See relay_workload.h and relay_checker.h.
struct RelayHost {
  std::string domain;                                        // lower-case, one per host
  std::vector<std::string> trusted_networks{"10.0.2.0/24"};  // CIDR ([relay] trusted_networks)
  smtp::RetryPolicy retry;                                   // the queue's schedule ([queue] keys)
  std::vector<node::StaticRoute> routes;                     // tried before MX ([[relay.routes]])
  // Its MX points at an address where nothing ever answers (connects time out): all mail
  // for this domain must bounce after the lifetime.
  bool unreachable = false;
};

struct RelayScenario {
  std::vector<RelayHost> hosts;                  // hosts[i] is mx<i+1>; size == servers
  std::uint32_t remote_recipient_ppm = 600'000;  // a recipient is in another host's domain
  std::uint32_t notify_success_ppm = 200'000;    // a recipient asks NOTIFY=SUCCESS,FAILURE
  // Fault phase only: random DNS SERVFAIL / timeouts per query; of the partitions, the share
  // cut between two MTAs instead of a client and an MTA.
  std::uint32_t dns_servfail_ppm = 0;
  std::uint32_t dns_timeout_ppm = 0;
  std::uint32_t server_partition_ppm = 0;
  std::vector<std::string> domains() const {
    std::vector<std::string> out;
    for (const auto& h : hosts) out.push_back(h.domain);
    return out;
  }
};

// IMAP sessions (imap-concurrent, issue 14): several at once on one login's mailbox over
// implicit TLS (needs `tls` and the login in `logins`), next to the SMTP workload delivering
// into it. `index_loss_ppm`: when a crashed server comes back (any server host), the chance
// that its user's index (<data_dir>/mail/<user>/index.sqlite*) was deleted while it was
// down, so the store must rebuild it from the Maildir. `servers`: the sessions spread over
// mx1..mx<servers>, each host with its own store (nothing shared); workload.liveness_sessions
// is per server host, so each one's folders are read in full at the end. The [imap] table of
// a scenario file (scenario_toml.cpp). See imap_workload.h and imap_checker.h.
struct ImapScenario {
  ImapWorkloadConfig workload;  // user (default: the first login)/password/tls_client: the runner
  std::uint32_t index_loss_ppm = 0;
  std::uint32_t servers = 0;  // IMAP server hosts, <= Scenario::servers; 0: every server host
};

// POP3 sessions (pop3-basic, issue 15): several on one login's maildrop over implicit TLS
// (needs `tls` and the login in `logins`), next to the SMTP workload delivering into it, on
// every server host. `update_crash_ppm`: when a session sends QUIT with messages marked, the
// chance that its server crashes around UPDATE: of those crashes, `update_crash_at_sync_ppm`
// right after the server's 1st..3rd durability sync from then on (inside the expunge: after
// the Maildir directory sync, after the index commit, ...), the others `update_crash_delay`
// after the QUIT went out (before it arrives, while the store expunges, after the +OK).
// The [pop3] table of a scenario file. See pop3_workload.h and pop3_checker.h.
struct Pop3Scenario {
  Pop3WorkloadConfig workload;  // user (default: the first login)/password/tls_client/on_quit: the runner
  std::uint32_t update_crash_ppm = 0;
  std::uint32_t update_crash_at_sync_ppm = 500'000;
  DurationRange update_crash_delay{0s, 20ms};
};

struct Scenario {
  std::string name;
  std::string description;
  std::uint32_t servers = 1;
  std::uint32_t client_hosts = 2;
  MailServerConfig server;  // directory (domains, users), data dir, limits
  WorkloadConfig workload;
  FaultConfig faults;
  // The data directory exists (durably) before the first boot, as a package install
  // leaves it. false: the server must create it durably itself.
  bool provision_data_dir = true;
  // A message refused with 4xx/5xx that is nevertheless in a mailbox leads to a duplicate
  // when the client retries (RFC 5321 §6.1 prefers duplicates to loss). By default that is
  // a warning; strict makes it a violation.
  bool strict_refusals = false;
  // STARTTLS on every server (a per-World certificate, sim_tls.h); clients use it with
  // workload.starttls_ppm. OpenSSL's randomness comes from the seed, so runs stay
  // reproducible.
  bool tls = false;
  // Logins written to server.users_path (default <data_dir>/users) on every server's disk,
  // durably, before the first boot, as `cloudsdial user add` would leave them (SCRAM-SHA-256
  // credentials with a salt from the seed). Workload submission sessions log in with these.
  std::vector<SubmissionUser> logins;
  // Remote-MX personalities by server host name ("mx1", ...): [hosts.NAME.personality].
  std::map<std::string, Personality> personalities;
  // Set: the servers are relaying MTAs (relay-basic, relay-faults). The drain phase then
  // also waits for every outbound queue to empty, and the relay checks run.
  std::optional<RelayScenario> relay;
  std::optional<ImapScenario> imap;
  std::optional<Pop3Scenario> pop3;
  Duration fault_phase = 5min;
  Duration settle = 10s;         // after healing, before the liveness sessions start
  Duration drain_phase = 30min;  // bound on the liveness/drain phase (virtual time)
  std::uint64_t max_steps = 50'000'000;
};

// mkdir -p of `dir` with every level durable (each parent directory synced), as a package
// install leaves a data directory. Used when Scenario::provision_data_dir is set.
Status provision_data_dir(DiskState& disk, const std::string& dir);
// Writes `text` to `path` durably (file synced, its directory created and synced): the
// users file as `cloudsdial user add` leaves it. Used when Scenario::logins is set.
Status provision_file(DiskState& disk, const std::string& path, std::string_view text);
// The users file of `logins` as `cloudsdial user add` writes it (SCRAM-SHA-256, 4096
// iterations), except that each salt comes from the login's name (the same in every World,
// never real randomness), so the derivation is done once per process and login.
std::string users_file_text(const std::vector<SubmissionUser>& logins);

// Relay scenarios: the server configuration of mx<i+1> (sc.server with the host's domain,
// trusted networks, and the outbound queue with its retry schedule and routes), and its DNS
// records (MX <domain> 10 mx<i+1>.<domain>; A: `address`, or a dead address when the host
// is `unreachable`). The runner and the Python World.from_scenario share them.
MailServerConfig relay_host_config(const Scenario& sc, std::uint32_t i);
void add_relay_dns(DnsZones& dns, const Scenario& sc, std::uint32_t i, const std::string& address);

struct RunOptions {
  std::string trace_file;         // full trace, when non-empty
  std::size_t tail_records = 80;  // trace lines in a failure report
  bool lying_sync = false;        // checker self-test: fsync that does nothing
};

struct RunReport {
  std::string scenario;
  std::uint64_t seed = 0;
  std::uint64_t trace_hash = 0;
  std::vector<Violation> violations;
  std::vector<Violation> warnings;  // reported, but the seed still passes
  std::uint64_t messages = 0, acked = 0, refused = 0, unknown = 0, not_sent = 0;
  std::uint32_t sessions = 0, connect_failures = 0, hung_up = 0;
  std::uint32_t tls_sessions = 0;  // sessions that completed a STARTTLS handshake
  std::uint32_t submission_sessions = 0;     // sessions to the submission port
  std::uint32_t authenticated_sessions = 0;  // of those, sessions whose AUTH got 235
  std::uint32_t crashes = 0, partitions = 0;
  // Relay scenarios: recipient outcomes (relay_checker.h) and duplicates by explanation.
  bool relay = false;
  std::uint64_t relay_delivered = 0, relay_bounced = 0, relay_dsns = 0, relay_success_dsns = 0;
  std::uint64_t dup_dropped = 0, dup_crash = 0, dup_lost_reply = 0;
  std::uint64_t relay_retries_checked = 0;  // retry intervals measured against the schedule
  // IMAP scenarios: appends, observations checked, index losses and the UIDVALIDITY
  // changes they explained.
  bool imap = false;
  std::uint64_t imap_appends = 0, imap_appends_acked = 0, imap_uid_observations = 0, imap_counter_observations = 0;
  std::uint32_t index_losses = 0, uidvalidity_changes = 0;
  // POP3 scenarios: how sessions ended, RETRs and DELEs checked, crashes during UPDATE.
  bool pop3 = false;
  std::uint64_t pop3_committed = 0, pop3_update_unknown = 0, pop3_aborted = 0, pop3_in_use = 0;
  std::uint64_t pop3_retrs = 0, pop3_deles = 0;
  std::uint32_t update_crashes = 0;
  std::vector<std::string> notes;
  std::uint64_t steps = 0;
  std::int64_t virtual_us = 0;
  double wall_seconds = 0;
  std::string trace_tail;
  bool ok() const noexcept { return violations.empty(); }
};

// Plays a scenario in bounded slices, so tests can interleave several Worlds in one
// thread and show they do not influence each other.
class ScenarioRun {
 public:
  ScenarioRun(const Scenario& scenario, std::uint64_t seed, RunOptions options = {});
  ~ScenarioRun();
  ScenarioRun(const ScenarioRun&) = delete;
  ScenarioRun& operator=(const ScenarioRun&) = delete;

  // Runs at most `max_steps` events; false once the run has finished (then report()).
  bool advance(std::uint64_t max_steps);
  const RunReport& report() const;
  World& world();
  const Ledger& ledger() const;  // what the clients sent and what they were answered
  const ImapLedger& imap_ledger() const;
  const Pop3Ledger& pop3_ledger() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

RunReport run_scenario(const Scenario& scenario, std::uint64_t seed, const RunOptions& options = {});

std::vector<std::string> builtin_scenario_names();
std::optional<Scenario> builtin_scenario(std::string_view name);
// A scenario from a TOML file (docs/SIMULATOR.md); the error names the key at fault.
Result<Scenario> load_scenario_file(const std::string& path);
Result<Scenario> parse_scenario_toml(std::string_view text, std::string_view origin);
// A personality alone: the keys of a [hosts.NAME.personality] table at the document's root
// (the Python World API sends its dict this way, so both share one parser and its errors).
Result<Personality> parse_personality_toml(std::string_view text, std::string_view origin);

// The one-line, human summary; and the JSON object used by `sim --json`.
std::string summary_line(const RunReport& r);
std::string to_json(const RunReport& r);

}  // namespace mail::sim
