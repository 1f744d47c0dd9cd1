// Workloads: simulated SMTP clients. Each session drives the real sans-IO
// smtp::ClientSession over SimNet (connect, EHLO, pipelined or lock-step transactions,
// DATA or BDAT, QUIT), optionally hanging up abruptly after a random number of bytes.
// Every message carries "X-Sim-Id: <n>" and is recorded in the Ledger with what the
// server answered, which is what the checkers compare the mailboxes against.
// Plans are drawn up front from the world seed's "workload" fork, so faults never change
// what is sent, only what happens to it. Submission sessions (port 587: STARTTLS, then AUTH
// PLAIN or SCRAM-SHA-256 with a good or a wrong password, or no AUTH) are drawn only when submission_ppm > 0,
// so scenarios without them draw exactly what they drew before.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/prng.h"
#include "core/time.h"
#include "proto/smtp/client_session.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "tls/context.h"
#include "world.h"

namespace mail::sim {

struct Range {
  std::uint64_t min = 0;
  std::uint64_t max = 0;
  std::uint64_t draw(Prng& rng) const { return min >= max ? min : rng.between(min, max); }
};

struct DurationRange {
  Duration min{0};
  Duration max{0};
  Duration draw(Prng& rng) const {
    if (min >= max) return min;
    return Duration(static_cast<std::int64_t>(
        rng.between(static_cast<std::uint64_t>(min.count()), static_cast<std::uint64_t>(max.count()))));
  }
};

// A user's login for submission sessions (the scenario writes the users file from these).
struct SubmissionUser {
  std::string name;
  std::string password;
};

// How a submission session authenticates; `none` is an MX session on the SMTP port.
enum class SubmitAuth : std::uint8_t {
  none,          // port 25, no AUTH (the MX workload)
  good,          // port 587, STARTTLS, AUTH (PLAIN or SCRAM) with the right password: may be acked
  bad_password,  // port 587, STARTTLS, AUTH with a wrong password: 535, nothing acked
  no_auth,       // port 587, STARTTLS, no AUTH: 530 at MAIL, nothing acked
};
std::string_view to_string(SubmitAuth) noexcept;

struct WorkloadConfig {
  std::uint32_t sessions = 20;               // during the fault phase
  DurationRange session_start{0s, 5min};     // when each session starts, from phase start
  Range transactions_per_session{1, 3};
  Range recipients{1, 3};
  Range message_bytes{200, 6000};            // body size
  std::uint32_t pipelining_ppm = 500'000;    // session uses PIPELINING when offered
  std::uint32_t chunking_ppm = 200'000;      // session uses BDAT when offered
  std::uint32_t abrupt_disconnect_ppm = 50'000;  // session hangs up after a random byte count
  std::uint32_t unknown_recipient_ppm = 50'000;  // a recipient is not a local user
  std::uint32_t dot_line_ppm = 100'000;      // a body line starts with '.' (transparency)
  // A message's body holds UTF-8 text (8-bit octets) and goes out with BODY=8BITMIME
  // (RFC 6152); of those, smtputf8_ppm also get a raw UTF-8 header (Comments:) and SMTPUTF8 (RFC 6531).
  // Drawn only when > 0, so scenarios without them draw exactly what they drew before.
  std::uint32_t eight_bit_ppm = 0;
  std::uint32_t smtputf8_ppm = 0;
  std::uint32_t liveness_sessions = 3;       // after healing: must all succeed
  Duration connect_timeout = 30s;
  std::uint32_t starttls_ppm = 0;            // session upgrades with STARTTLS (TLS scenarios)
  std::shared_ptr<tls::TlsContext> tls_client;  // set by the scenario when its servers offer TLS
  // Submission (RFC 6409 + RFC 4954). Drawn only when submission_ppm > 0. Liveness sessions
  // that go to submission always use a good password.
  std::uint32_t submission_ppm = 0;     // session goes to submission_port (STARTTLS + AUTH)
  std::uint32_t bad_password_ppm = 0;   // of those: a wrong password
  std::uint32_t no_auth_ppm = 0;        // of the others: no AUTH at all
  std::uint32_t scram_ppm = 0;          // of those that log in: SCRAM-SHA-256 instead of PLAIN
  std::uint16_t submission_port = 0;    // set by the scenario from its server config
  std::vector<SubmissionUser> submission_users;  // set by the scenario (the users file)
};

struct LedgerEntry {
  enum class Outcome : std::uint8_t {
    not_sent,  // the session never got to send it (connect failed, hung up before)
    pending,   // submitted, no result yet
    acked,     // 250 to the end of data: MUST be in every accepted recipient's mailbox
    refused,   // the server refused the transaction (4xx/5xx from the server)
    unknown,   // a local failure (timeout, EOF, reset) after the content may have gone out
  };
  std::uint64_t id = 0;        // X-Sim-Id
  std::uint32_t session = 0;
  std::string server;          // address of the server the session talked to
  std::string mail_from;       // "local@domain" or "" for <>; unset: sender<session>@clients.test
  bool mail_from_set = false;  // the bindings' scripted sessions choose their sender
  bool liveness = false;
  SubmitAuth submit = SubmitAuth::none;  // the session's plan
  bool authenticated = false;            // the session's AUTH got 235
  std::string content;         // as submitted (CRLF lines, unstuffed)
  std::vector<std::string> recipients;  // "local@domain" as submitted
  std::vector<bool> rcpt_accepted;
  // Relay scenarios: recipient i is sent with NOTIFY=SUCCESS,FAILURE (RFC 3461 §4.1) when
  // set; empty: no NOTIFY parameter at all (every other scenario).
  std::vector<bool> notify_success;
  bool eight_bit = false;  // sent with BODY=8BITMIME (content holds 8-bit octets)
  bool smtputf8 = false;   // sent with SMTPUTF8 (a UTF-8 header)
  Outcome outcome = Outcome::not_sent;
  std::string reply;           // final reply, one line
  Instant decided_at{};
};
std::string_view to_string(LedgerEntry::Outcome) noexcept;

class Ledger {
 public:
  LedgerEntry& add();
  LedgerEntry& at(std::uint64_t id) { return entries_.at(id - 1); }
  const LedgerEntry* find(std::uint64_t id) const {
    return id >= 1 && id <= entries_.size() ? &entries_[id - 1] : nullptr;
  }
  const std::vector<LedgerEntry>& entries() const noexcept { return entries_; }

 private:
  std::vector<LedgerEntry> entries_;
};

// The 8BITMIME/SMTPUTF8 shape of a planned message (WorkloadConfig::eight_bit_ppm,
// smtputf8_ppm): draws nothing when both are 0. Call after e.content is set.
void shape_message(Prng& rng, const WorkloadConfig& config, LedgerEntry& e);

struct SessionPlan {
  std::uint32_t index = 0;
  HostId client = 0;
  rt::Endpoint server;
  Duration start{0};  // from the start of its phase
  bool pipelining = true;
  bool chunking = false;
  bool starttls = false;
  SubmitAuth submit = SubmitAuth::none;
  std::optional<smtp::ClientAuth> auth;  // credentials for good/bad_password (crypto set at run)
  std::optional<std::uint64_t> hang_up_after_bytes;  // abrupt disconnect
  std::vector<std::uint64_t> messages;                // ledger ids
  bool liveness = false;
};

struct SessionStats {
  std::uint32_t started = 0;
  std::uint32_t finished = 0;
  std::uint32_t connect_failures = 0;
  std::uint32_t hung_up = 0;
  std::uint32_t tls_sessions = 0;  // sessions that completed a STARTTLS handshake
  std::uint32_t submission_sessions = 0;     // sessions started towards the submission port
  std::uint32_t authenticated_sessions = 0;  // sessions whose AUTH got 235
  std::uint64_t client_buffered_max = 0;  // largest ClientSession::buffered_bytes() seen
  std::uint64_t server_buffered_max = 0;  // largest server connection input (SmtpServerCounters)
  std::vector<std::string> problems;      // protocol-level oddities worth a violation
};

// A random body of about `bytes` octets: CRLF lines, printable ASCII, some long lines,
// some starting with '.' (transparency), as every workload message has.
std::string sim_message_body(Prng& rng, std::uint64_t bytes, std::uint32_t dot_line_ppm);

// The header block every workload message starts with (From, To, Subject, Message-ID and
// X-Sim-Id carrying the ledger id, then the blank line).
std::string sim_message_headers(std::string_view from, const std::vector<std::string>& recipients, std::uint64_t id);

// Draws `count` session plans (and their messages, added to `ledger`).
std::vector<SessionPlan> plan_sessions(Prng& rng, const WorkloadConfig& config, std::uint32_t count,
                                       std::uint32_t first_index, const std::vector<HostId>& clients,
                                       const std::vector<rt::Endpoint>& servers, const std::vector<std::string>& domains,
                                       const std::vector<std::string>& users, bool liveness, Ledger& ledger);

// One client session, run as a root task on the client host's Env.
rt::Task<void> run_session(rt::Env& env, SessionPlan plan, WorkloadConfig config, Ledger& ledger, SessionStats& stats);

// Starts every plan at `phase_start + plan.start` on its client host.
void launch_sessions(World& world, Instant phase_start, std::vector<SessionPlan> plans, const WorkloadConfig& config,
                     Ledger& ledger, SessionStats& stats);

}  // namespace mail::sim
