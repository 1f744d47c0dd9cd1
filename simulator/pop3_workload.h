// The POP3 workload (pop3-basic, issue 15): scripted POP3 clients (pop3_client.h) over
// SimNet and implicit TLS (RFC 8314, port 995, as the IMAP workload), on one user's
// maildrop while the SMTP workload delivers into it. A session logs in (USER/PASS, or AUTH
// PLAIN with an initial response, RFC 5034), asks STAT, UIDL and LIST (its snapshot), RETRs
// some messages, DELEs some (each one RETRed first, so the ledger knows its X-Sim-Id),
// sometimes RSETs, then QUITs — or hangs up without QUIT. Around QUIT the scenario may crash
// the server (Pop3WorkloadConfig::on_quit): a crash during UPDATE. The Pop3Ledger records
// every session: its snapshot (UIDL, LIST size), every RETR (UIDL, X-Sim-Id, octets), the
// messages still marked when QUIT went out, and how the session ended (QUIT +OK, QUIT with
// no answer, no QUIT at all, IN-USE), each stamped with a logical clock (sent / received)
// as the IMAP ledger does. pop3_checker.h holds the oracles.
// Plans (counts, choices, hang-ups) are drawn up front from the caller's stream; which
// message numbers a session picks is drawn at run time from its own stream.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/prng.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "workload.h"
#include "world.h"

namespace mail::sim {

struct Pop3WorkloadConfig {
  std::uint16_t port = 995;  // implicit TLS (the servers' pop3s listener)
  std::string user;          // the login all sessions share (one maildrop)
  std::string password;
  std::uint32_t sessions = 16;
  DurationRange session_start{0s, 5min};
  Range retrs_per_session{0, 4};    // RETR of messages drawn from the snapshot
  Range deletes_per_session{0, 4};  // DELE (after a RETR of the same message)
  std::uint32_t rset_ppm = 100'000;        // RSET after the DELEs (nothing marked any more)
  std::uint32_t auth_plain_ppm = 300'000;  // AUTH PLAIN instead of USER/PASS
  std::uint32_t abrupt_disconnect_ppm = 150'000;  // hang up (no QUIT) before the QUIT
  // A pause after the snapshot, holding the maildrop lock: overlapping sessions race for it
  // (the loser gets -ERR [IN-USE], RFC 2449 §8.1.1).
  DurationRange think{0s, 0s};
  std::uint32_t liveness_sessions = 1;     // per server, after healing: must log in, read all, QUIT +OK
  Duration command_timeout = 2min;
  std::shared_ptr<tls::TlsContext> tls_client;
  // Called when a session sends QUIT with messages marked (server address): the scenario's
  // chance to crash the server during UPDATE.
  std::function<void(const std::string& server)> on_quit;
};

struct Pop3SessionPlan {
  std::uint32_t index = 0;  // shares the numbering of the SMTP sessions
  HostId client = 0;
  rt::Endpoint server;
  Duration start{0};
  bool liveness = false;
  bool auth_plain = false;
  std::uint32_t retrs = 0, deletes = 0;
  bool rset = false;
  bool abrupt = false;  // no QUIT: the connection is closed instead
  Duration think{0};    // pause after the snapshot (lock held)
  std::uint64_t rng_seed = 0;
};

// One RETR: what the session was told and what came.
struct Pop3Retr {
  std::string server;
  std::uint32_t session = 0;
  std::string uidl;
  std::string sim_id;          // X-Sim-Id of the message ("" when none)
  std::string content;         // as retrieved, unstuffed
  std::uint64_t listed = 0;    // LIST size of the message in the session's snapshot
  std::uint64_t sent = 0, received = 0;
};

struct Pop3SessionRecord {
  enum class End : std::uint8_t {
    not_started,     // no connection, or it broke before login
    login_failed,    // PASS / AUTH answered -ERR (not IN-USE)
    in_use,          // -ERR [IN-USE] (RFC 2449 §8.1.1: the maildrop is locked)
    aborted,         // logged in, never sent QUIT (hang-up, broken connection, timeout)
    update_unknown,  // QUIT sent, no answer (the server may or may not have run UPDATE)
    update_failed,   // QUIT answered -ERR (RFC 1939 §6: some messages may not be removed)
    committed,       // QUIT answered +OK: every marked message removed
  };
  std::uint32_t index = 0;
  std::string server;
  bool liveness = false;
  End end = End::not_started;
  std::uint64_t login_sent = 0, login_received = 0;  // logical clock
  std::uint64_t quit_sent = 0, ended = 0;
  std::vector<std::pair<std::string, std::uint64_t>> snapshot;  // UIDL order: (UIDL, LIST size)
  std::map<std::string, std::string> marked;  // UIDL -> X-Sim-Id, marked when QUIT went out (or the session ended)
  std::string reply;  // the last status line of interest (login refusal, QUIT answer)
};
std::string_view to_string(Pop3SessionRecord::End) noexcept;

class Pop3Ledger {
 public:
  std::uint64_t tick() { return ++clock_; }
  std::uint64_t now() const noexcept { return clock_; }
  std::vector<Pop3SessionRecord> sessions;  // by plan order
  std::vector<Pop3Retr> retrs;
  std::vector<std::string> problems;  // protocol oddities (a violation)
  std::uint64_t in_use = 0;           // -ERR [IN-USE] answers
  std::uint64_t deles_acked = 0;

 private:
  std::uint64_t clock_ = 0;
};

// `count` sessions on `servers` (their POP3 port is config.port); liveness sessions go to
// the servers in turn. Adds a record per plan to `ledger`.
std::vector<Pop3SessionPlan> plan_pop3_sessions(Prng& rng, const Pop3WorkloadConfig& config, std::uint32_t count,
                                                std::uint32_t first_index, const std::vector<HostId>& clients,
                                                const std::vector<rt::Endpoint>& servers, bool liveness);

rt::Task<void> run_pop3_session(rt::Env& env, Pop3SessionPlan plan, Pop3WorkloadConfig config, Pop3Ledger& ledger,
                                SessionStats& stats);

void launch_pop3_sessions(World& world, Instant phase_start, std::vector<Pop3SessionPlan> plans,
                          const Pop3WorkloadConfig& config, Pop3Ledger& ledger, SessionStats& stats);

}  // namespace mail::sim
