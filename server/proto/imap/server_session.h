// imap::ServerSession — the sans-IO IMAP4rev2/IMAP4rev1 server side of one connection:
// bytes in, responses and events out. It owns the framing (CommandReader: literals,
// limits), parsing, the connection states of RFC 9051 §3 and the commands that need no
// mailbox: CAPABILITY, NOOP before login, LOGOUT, STARTTLS (RFC 9051 §6.2.1, pipelined
// plaintext discarded), COMPRESS DEFLATE (RFC 4978: the layer itself is the driver's), AUTHENTICATE with SASL-IR (RFC 4959) and LOGIN through proto/sasl,
// ENABLE (RFC 5161), ID (RFC 2971), and IDLE framing (RFC 2177). Every mailbox command is
// handed to the application as ev::Command and answered with complete(). Never touches a
// socket, clock, file or RNG (randomness only through the SASL Crypto).
//
// Driving contract (as smtp::ServerSession): construct (queues the greeting); after every
// call drain poll_output() and poll_event(); feed() takes fewer bytes than offered while a
// command is being answered (one command at a time, in order — RFC 9051 §5.5 allows it);
// arm poll_timeout(); answer ev::Command/ev::Idle/ev::IdleDone with complete() and ev::Auth
// with complete_auth(), exactly once each.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/time.h"
#include "proto/imap/command.h"
#include "proto/imap/command_reader.h"
#include "proto/sasl/server.h"
#include "proto/session_output.h"

namespace mail::imap {

enum class State : std::uint8_t { not_authenticated, authenticated, selected, logout };
std::string_view to_string(State s) noexcept;

struct SessionConfig {
  std::string greeting = "Cloudsdial IMAP ready";
  ReaderLimits reader;
  // Capabilities of the authenticated state beyond the base set (IMAP4rev1 IMAP4rev2
  // LITERAL+ SASL-IR ID ENABLE IDLE): what the application implements ("UIDPLUS", "MOVE",
  // "APPENDLIMIT=67108864" ...). Only advertise what works.
  std::vector<std::string> capabilities;
  bool starttls_available = false;  // TLS configured and not active yet
  bool tls_active = false;          // implicit TLS (RFC 8314)
  // COMPRESS=DEFLATE (RFC 4978): advertised after login; the driver layers the deflate
  // stream on out::StartCompress.
  bool compress_available = false;
  // AUTH: null crypto or credentials = nobody can log in (LOGINDISABLED, no AUTH=).
  sasl::Crypto* crypto = nullptr;
  const sasl::CredentialStore* credentials = nullptr;
  // LOGIN and AUTHENTICATE PLAIN without TLS (loopback by configuration). Otherwise they
  // wait for TLS: LOGINDISABLED is advertised (RFC 9051 §6.2.3, §11.1).
  bool plaintext_without_tls = false;
  sasl::SaslLimits sasl;
  std::uint32_t bad_commands_max = 20;  // BAD answers before "* BYE" (error budget)
  // Before login the budget is small (Dovecot: the 3rd invalid command disconnects;
  // SECURITY.md §6 test 7): nobody who can log in needs to probe.
  std::uint32_t bad_commands_max_pre_auth = 3;
  Duration login_timeout = 60s;         // not authenticated, from the greeting (not reset by input)
  Duration autologout = 30min;          // RFC 9051 §5.4: at least 30 minutes
  Duration idle_timeout = 30min;        // one IDLE (RFC 2177 §3: clients re-issue every 29 min)
};

// Extensions the client turned on (RFC 5161 ENABLE, or implicitly: RFC 7162 §3.1).
struct Enabled {
  bool imap4rev2 = false;
  bool condstore = false;
  bool qresync = false;
  bool utf8_accept = false;
};

namespace ev {
// A command for the application (authenticated or selected state; APPEND's literal read).
struct Command {
  std::uint64_t id = 0;
  imap::Command command;
};
// A SASL exchange (AUTHENTICATE, or LOGIN as PLAIN) ended: the application applies its
// lockouts and delays and answers complete_auth(). authcid: the identity used.
struct Auth {
  std::uint64_t id = 0;
  bool success = false;
  std::string authcid;
  std::string mechanism;
};
// IDLE started ("+ idling" is queued): the application may send_untagged() until ...
struct Idle {
  std::uint64_t id = 0;
};
// ... the client ended it: done = "DONE" (else a malformed line: the answer is BAD).
struct IdleDone {
  std::uint64_t id = 0;
  bool done = true;
};
}  // namespace ev
using Event = std::variant<ev::Command, ev::Auth, ev::Idle, ev::IdleDone>;

// The application's answer to an ev::Command (or ev::IdleDone): untagged responses, then
// the tagged status line.
struct Response {
  enum class Status : std::uint8_t { ok, no, bad };
  std::string untagged;  // complete lines ("* 3 EXISTS\r\n"...), possibly empty
  Status status = Status::ok;
  std::string text;      // after the status: "[READ-WRITE] SELECT completed"
  std::optional<State> next_state;  // SELECT/EXAMINE -> selected, CLOSE/UNSELECT -> authenticated
  bool close = false;    // fatal: send "* BYE" text and close after this
};

class ServerSession {
 public:
  ServerSession(SessionConfig config, Instant now);
  ~ServerSession();
  ServerSession(const ServerSession&) = delete;
  ServerSession& operator=(const ServerSession&) = delete;

  [[nodiscard]] std::size_t feed(std::string_view in, Instant now);
  void feed_eof(Instant now);
  [[nodiscard]] std::optional<proto::Output> poll_output();
  [[nodiscard]] std::optional<Event> poll_event();
  [[nodiscard]] std::optional<Instant> poll_timeout() const;
  void handle_timeout(Instant now);
  void tls_established(Instant now);
  // After out::StartCompress: the driver compresses from here on (the tagged OK went out
  // uncompressed). Until then feed() takes nothing: what follows COMPRESS is compressed.
  void compress_established(Instant now);
  void shutdown(Instant now, bool force);

  void complete(std::uint64_t id, Response response, Instant now);
  // accepted: "OK [CAPABILITY ...] Logged in" and the authenticated state; else
  // "NO [AUTHENTICATIONFAILED]" (the application delays it first).
  // `refusal`: the NO text for a good login the application refuses ("[LIMIT] ...");
  // empty = the generic [AUTHENTICATIONFAILED] (which a failed login always gets).
  void complete_auth(std::uint64_t id, bool accepted, Instant now, std::string_view refusal = {});
  // Untagged data outside a command's answer: only while IDLE runs (RFC 2177 §3).
  void send_untagged(std::string lines);
  // Part of the untagged answer of command `id`, still running, sent ahead of complete()
  // (a FETCH of many bodies streams them rather than holding them whole).
  void send_progress(std::uint64_t id, std::string lines);

  [[nodiscard]] State state() const noexcept { return state_; }
  [[nodiscard]] bool closed() const noexcept { return closed_; }
  [[nodiscard]] bool idling() const noexcept { return idle_id_ != 0; }
  [[nodiscard]] const Enabled& enabled() const noexcept { return enabled_; }
  // The application turns CONDSTORE on when SELECT (CONDSTORE) or FETCH MODSEQ asks for
  // it (RFC 7162 §3.1: "CONDSTORE enabling command").
  void enable_condstore() noexcept { enabled_.condstore = true; }
  [[nodiscard]] const std::string& user() const noexcept { return user_; }
  [[nodiscard]] bool tls_active() const noexcept { return config_.tls_active; }
  [[nodiscard]] bool compress_active() const noexcept { return compress_active_; }
  [[nodiscard]] std::size_t buffered_bytes() const noexcept;
  // The capability list for the current state ("IMAP4rev1 IMAP4rev2 ...").
  [[nodiscard]] std::string capabilities() const;

 private:
  enum class Wait : std::uint8_t { none, command, auth, sasl_line, idle, idle_done };
  void on_command(RawCommand raw, Instant now);
  void on_read_error(Instant now);
  void on_raw_line_error();
  static ReaderLimits pre_auth_limits(const ReaderLimits& l);
  void on_raw_line(std::string line, Instant now);
  void on_literal_pending();
  void dispatch(Command command, Instant now);
  void start_sasl(const std::string& tag, std::string_view mechanism, std::optional<std::string_view> initial);
  void sasl_step(const sasl::Step& step);
  void bad(std::string_view tag, std::string_view text);
  void tagged(std::string_view tag, std::string_view status, std::string_view text);
  void send(std::string bytes);
  void bye(std::string_view text);
  bool plaintext_ok() const noexcept { return config_.tls_active || config_.plaintext_without_tls; }
  bool auth_possible() const noexcept { return config_.crypto != nullptr && config_.credentials != nullptr; }
  void touch(Instant now) noexcept { last_activity_ = now; }

  SessionConfig config_;
  CommandReader reader_;
  State state_ = State::not_authenticated;
  Enabled enabled_;
  std::deque<proto::Output> outputs_;
  std::deque<Event> events_;
  Wait wait_ = Wait::none;
  std::uint64_t next_id_ = 1;
  std::uint64_t pending_id_ = 0;  // the command being answered
  std::string pending_tag_;
  std::uint64_t idle_id_ = 0;
  std::unique_ptr<sasl::SaslServer> sasl_;
  std::string user_;
  std::string pending_user_;    // the identity of the SASL exchange being judged
  bool pending_auth_ok_ = false;  // its credentials matched: only then may it be accepted
  std::string mechanism_name_;  // of the SASL exchange running
  bool discard_input_ = false;  // STARTTLS accepted: drop the rest of this feed()
  bool tls_pending_ = false;    // STARTTLS accepted, tls_established() not yet: input is dropped
  bool compress_pending_ = false;  // COMPRESS accepted, compress_established() not yet: no input
  bool compress_active_ = false;   // COMPRESS accepted (RFC 4978 §3: once per connection)
  std::uint32_t bad_count_ = 0;
  bool over_error_budget() const noexcept;
  Instant last_activity_{};
  Instant connected_at_{};  // the greeting: login_timeout counts from here
  bool closed_ = false;
  bool shutdown_requested_ = false;
  bool eof_ = false;
};

}  // namespace mail::imap
