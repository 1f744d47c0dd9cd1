// SimWorld: a simulated world built in code for the Python bindings — mail server hosts,
// client hosts, scripted SMTP, IMAP and POP3 client sessions, faults, runs with bounds, inspection
// (Maildir files and the indexed store) and event taps. Wraps mail::sim::World and the simulator's own workload session, ledger and
// checkers; adds no behaviour of its own. Free of pybind11 (bind_sim.cpp binds it).
// Single-threaded like the World: one Python thread drives one SimWorld at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/prng.h"
#include "simulator/checker.h"
#include "simulator/imap_script.h"
#include "simulator/mail_host.h"
#include "simulator/personality.h"
#include "simulator/pop3_script.h"
#include "simulator/sim_net.h"
#include "simulator/sim_tls.h"
#include "simulator/world.h"
#include "simulator/workload.h"
#include "store_view.h"

namespace mail::sim {
struct RelayScenario;
}  // namespace mail::sim

namespace mail::py {

struct UserSpec {
  std::string name;
  std::vector<std::string> aliases;
};

struct ServerSpec {
  std::string name;
  std::string address;  // empty: 10.0.1.<n>
  std::vector<std::string> domains{"example.test"};
  std::vector<UserSpec> users;
  std::string data_dir = "/var/lib/cloudsdial";
  std::uint16_t port = 25;
  Duration clock_skew{0};
  sim::DiskConfig disk;
  bool provision_data_dir = true;  // the data dir exists durably before the first boot
  bool wait_ready = true;          // run the world until the server listens (bounded)
  bool tls = false;                // offer STARTTLS with the simulator's certificate (SimWorld::tls)
  // Logins (SCRAM users file on the host's disk, salts from the login names); a login that is not
  // among `users` becomes one. Applied with `config` too.
  std::vector<sim::SubmissionUser> logins;
  std::uint16_t imaps_port = 0;  // IMAP over implicit TLS (needs tls and logins); 0 = none
  std::uint16_t pop3s_port = 0;  // POP3 over implicit TLS (needs tls and logins); 0 = none
  // Complete server configuration (limits, connection caps, TLS ...) from a scenario; when
  // set, domains, users, data_dir, port and tls above are ignored.
  std::optional<sim::MailServerConfig> config;
};

struct MessageSpec {
  std::optional<std::string> mail_from;  // "a@b"; "" is the null sender <>; none: sender<n>@clients.test
  std::vector<std::string> recipients;   // "local@domain"
  std::string content;                   // headers + body; LF or CRLF line ends
};

struct SessionSpec {
  std::string client;
  std::string server;
  bool pipelining = true;
  bool chunking = false;
  Duration start_delay{0};
  std::optional<std::uint64_t> hang_up_after_bytes;
  Duration connect_timeout = 30s;
  std::vector<MessageSpec> messages;
};

// A scripted IMAP (simulator/imap_script.h) or POP3 (simulator/pop3_script.h) session from a
// client to a server's imaps / pop3s port; `end` is LOGOUT (RFC 9051 §6.1.3) or QUIT (RFC 1939 §6).
template <class Command>
struct ScriptSessionSpec {
  std::string client;
  std::string server;
  std::string user, password;
  bool login = true, end = true;
  Duration start_delay{0};
  Duration command_timeout = 2min;
  std::vector<Command> commands;
};

template <class Command, class ScriptState>
struct ScriptSessionState {
  std::uint32_t index = 0;
  std::string client, server, user;
  std::vector<Command> commands;
  ScriptState state;
};

using ImapSessionSpec = ScriptSessionSpec<sim::ImapScriptCommand>;
using ImapSessionState = ScriptSessionState<sim::ImapScriptCommand, sim::ImapScriptState>;
using Pop3SessionSpec = ScriptSessionSpec<sim::Pop3ScriptCommand>;
using Pop3SessionState = ScriptSessionState<sim::Pop3ScriptCommand, sim::Pop3ScriptState>;

struct SessionState {
  std::uint32_t index = 0;
  std::string client, server;
  std::vector<std::uint64_t> messages;  // ledger ids
  sim::SessionStats stats;              // this session only
  bool done() const noexcept { return stats.finished > 0; }
};

struct StoredMessage {
  std::string user;
  std::string folder;  // "new" or "cur"
  std::string name;    // Maildir file name
  std::string data;    // as stored (Return-Path:, Received: first)
};

// One callback-worthy moment of a run, delivered at the point of the run where it happens.
struct SimEvent {
  std::string kind;        // "accepted" | "delivered" | "trace"
  std::int64_t at_us = 0;  // virtual time
  std::string host;
  std::string trace_kind;  // the trace record's kind ("log.info", "net.partition", ...)
  std::string detail;      // the trace record's text
  std::uint64_t message_id = 0;  // accepted: the ledger id
  std::string queue_id;          // delivered: the server's queue id
};

// Which trace records become SimEvents.
struct EventFilter {
  bool accepted = false;
  bool delivered = false;
  std::vector<std::string> trace_prefixes;  // "" matches every record
  bool any() const noexcept { return accepted || delivered || !trace_prefixes.empty(); }
};

// Turns a trace record into an event when the filter wants it (pure).
std::optional<SimEvent> classify(const sim::World& world, sim::HostId host, std::string_view kind,
                                 std::string_view detail, const EventFilter& filter);

// The messages in every user's Maildir of a server, as the disk is now or as a power loss
// now would leave it.
std::vector<StoredMessage> stored_messages(const sim::DiskState& disk, const sim::MailServerConfig& config);

// Makes `content` CRLF-terminated and inserts "X-Sim-Id: <id>" at the end of its header
// (the checkers identify messages by it). Throws ConfigError on NUL bytes.
std::string prepare_content(std::string_view content, std::uint64_t id);

class SimWorld {
 public:
  SimWorld(std::uint64_t seed, sim::WorldConfig config);
  ~SimWorld();
  SimWorld(const SimWorld&) = delete;
  SimWorld& operator=(const SimWorld&) = delete;

  sim::World& world() noexcept { return *world_; }
  const sim::Ledger& ledger() const noexcept { return ledger_; }

  // ---------------------------------------------------------------- building
  std::string add_server(ServerSpec spec);
  std::string add_client(std::string name, std::string address);
  std::vector<std::string> host_names() const;
  bool is_server(const std::string& name) const;
  const sim::MailServerConfig& server_config(const std::string& name) const;
  std::string address_of(const std::string& name) const;

  // ---------------------------------------------------------------- clients
  // Starts a client session (after spec.start_delay); returns its index.
  std::uint32_t open_session(const SessionSpec& spec);
  const SessionState& session(std::uint32_t index) const;
  // Draws `config.sessions` sessions as the scenarios do (simulator/workload.h) between the
  // given clients and servers (default: all), to start over config.session_start from now;
  // recipients are the first server's users and domains. starttls_ppm > 0 needs servers
  // with TLS. Returns their indexes.
  std::vector<std::uint32_t> add_workload(const sim::WorkloadConfig& config, std::vector<std::string> clients,
                                          std::vector<std::string> servers);
  // The relay scenarios' workload (simulator/relay_workload.h) from every client to the
  // servers mx1..mxN, server i being the MTA of relay.hosts[i].domain.
  std::vector<std::uint32_t> add_relay_workload(const sim::WorkloadConfig& config, const sim::RelayScenario& relay);
  std::size_t session_count() const noexcept { return sessions_.size(); }
  // Starts a scripted IMAP session (after spec.start_delay); returns its index (IMAP
  // sessions are numbered apart from the SMTP ones).
  std::uint32_t open_imap_session(ImapSessionSpec spec);
  const ImapSessionState& imap_session(std::uint32_t index) const;
  std::size_t imap_session_count() const noexcept { return imap_sessions_.size(); }
  // The same for a scripted POP3 session (numbered apart from the SMTP and IMAP ones).
  std::uint32_t open_pop3_session(Pop3SessionSpec spec);
  const Pop3SessionState& pop3_session(std::uint32_t index) const;
  std::size_t pop3_session_count() const noexcept { return pop3_sessions_.size(); }

  // ---------------------------------------------------------------- TLS
  // The simulator's certificate and client context (sim::shared_sim_tls: one per process,
  // from a fixed seed, as the scenario runner uses): servers given `tls().server` offer STARTTLS, workloads
  // with starttls_ppm use `tls().client`. OpenSSL's randomness comes from the seed
  // during every run, so TLS worlds stay reproducible.
  const sim::SimTls& tls();
  bool has_tls() const noexcept { return tls_.server != nullptr; }

  // ---------------------------------------------------------------- faults
  void partition(const std::string& a, const std::string& b, bool one_way);
  void isolate(const std::string& host);
  void heal(const std::string& a, const std::string& b);
  void heal_all();
  // Per-link latency (over the world-wide one) and loss, both directions (sim::LinkConfig).
  void set_link(const std::string& a, const std::string& b, const sim::LinkConfig& link);
  void clear_link(const std::string& a, const std::string& b);
  void crash(const std::string& host);
  void restart(const std::string& host);
  void boot(const std::string& host);
  bool host_up(const std::string& host) const;
  void set_disk(const std::string& host, const sim::DiskConfig& disk);
  sim::DiskConfig disk(const std::string& host) const;
  sim::NetConfig& net();
  // Remote-MX personalities (simulator/personality.h) of a server host; `toml` holds the
  // keys of a [hosts.NAME.personality] table (sim.py turns the Python dict into it).
  void set_personality(const std::string& server, const std::string& toml);
  void clear_personality(const std::string& server);
  // The host's counters (replies, greylisted, ...), or nothing without a personality.
  std::optional<sim::PersonalityCounters> personality_counters(const std::string& server) const;

  // ---------------------------------------------------------------- running
  // All run with the step budget `max_steps`; budget_exhausted throws SimulationError.
  sim::RunStatus run_for(Duration d, std::uint64_t max_steps);
  sim::RunStatus run_until_idle(std::uint64_t max_steps);
  sim::RunStatus run_until(const std::function<bool()>& done, Duration max, std::uint64_t max_steps);
  sim::RunStatus run_until_sessions_done(const std::vector<std::uint32_t>& sessions, Duration max,
                                         std::uint64_t max_steps);
  sim::RunStatus run_until_imap_sessions_done(const std::vector<std::uint32_t>& sessions, Duration max,
                                              std::uint64_t max_steps);
  sim::RunStatus run_until_pop3_sessions_done(const std::vector<std::uint32_t>& sessions, Duration max,
                                              std::uint64_t max_steps);
  // Schedules fn at now + delay on the world (the way callbacks change the world).
  void after(Duration delay, std::function<void()> fn);

  // ---------------------------------------------------------------- inspection
  std::vector<StoredMessage> mailbox(const std::string& server, bool durable) const;
  std::vector<sim::Violation> check() const;
  // A user's folders (or one) as the server's indexed store sees them (store_view.h): the
  // calls run as a task on the server host, in virtual time, so they are part of the run
  // (and of its trace). Errors: not a server, down or not ready, unknown user or folder.
  std::vector<StoreFolderView> store_folders(const std::string& server, const std::string& user,
                                             std::optional<std::string> folder, bool bodies);
  // The outbound queue of a relaying server, as `cloudsdial queue list --json` and
  // `queue show --json` give it: queue_list_json() of the running queue, then one
  // queue_show_json() per message (node/queue_report.h). Errors: not a server, down, or no
  // outbound queue.
  std::pair<std::string, std::vector<std::string>> queue_json(const std::string& server);
  std::vector<std::pair<std::string, std::int64_t>> stats() const;

  // ---------------------------------------------------------------- events
  using EventFn = std::function<void(const SimEvent&)>;
  void set_events(EventFilter filter, EventFn fn);
  bool in_callback() const noexcept { return in_callback_; }
  // A callback failed: the run stops at the next step and rethrows `error`.
  void fail(std::exception_ptr error);

 private:
  sim::HostId id_of(const std::string& name) const;
  std::vector<std::uint32_t> launch(std::vector<sim::SessionPlan> plans, const sim::WorkloadConfig& wc);
  void require_mutable(const char* what) const;
  void begin_run();
  sim::RunStatus finish_run(sim::RunStatus status);
  void on_record(sim::HostId host, std::string_view kind, std::string_view detail);

  struct Server {
    sim::HostId id;
    sim::MailServerConfig config;
  };
  // The ledger and the sessions outlive the World: its destructor destroys client tasks.
  sim::Ledger ledger_;
  std::deque<SessionState> sessions_;
  std::deque<ImapSessionState> imap_sessions_;
  std::deque<Pop3SessionState> pop3_sessions_;
  std::unique_ptr<sim::World> world_;
  std::map<std::string, Server> servers_;
  std::map<std::string, sim::HostId> hosts_;
  std::uint32_t next_server_ = 1, next_client_ = 1, workloads_ = 0;
  Prng openssl_rng_;  // OpenSSL's randomness while this World runs
  sim::SimTls tls_;
  EventFilter filter_;
  EventFn on_event_;
  bool in_callback_ = false;
  bool running_ = false;
  std::exception_ptr failed_;
};

}  // namespace mail::py
