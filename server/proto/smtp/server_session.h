// smtp::ServerSession — the sans-IO RFC 5321 server: bytes in, replies/events out.
// It never touches a socket, clock, file or RNG; time arrives as `now` arguments.
// Implements RFC 5321 (commands, sequencing, §4.5.2 transparency, §4.5.3 limits and
// timeouts), RFC 1870 SIZE, 2034/3463 enhanced codes, 2920 PIPELINING, 3030 CHUNKING
// and BINARYMIME, 3461 DSN parameters, 6152 8BITMIME, 6531 SMTPUTF8, 3207 STARTTLS rules, 4954 AUTH.
//
// Driving contract (the same for the Asio driver, the simulator and fuzzers):
//   1. construct (queues the 220 greeting);
//   2. loop: drain poll_output() and poll_event() after *every* call to the constructor,
//      feed(), feed_eof(), complete(), handle_timeout(), tls_established(), shutdown();
//   3. feed() returns how many bytes it took; it takes fewer than offered only while a
//      verdict is pending and its bounded input buffer is full — keep the rest, feed it
//      again after the next complete();
//   4. arm a timer for poll_timeout(); when it passes call handle_timeout(now);
//   5. answer each event carrying an id (MailFrom, RcptTo, Message, Auth) with complete(id, reply)
//      exactly once, possibly much later; replies are always sent in command order.
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
#include "proto/sasl/server.h"
#include "proto/session_output.h"
#include "proto/smtp/envelope.h"
#include "proto/smtp/limits.h"
#include "proto/smtp/reply.h"

namespace mail::smtp {

// SMTP AUTH (RFC 4954). Offered only when `crypto` and `credentials` are set; both must
// outlive the session. The session runs the SASL exchange itself (proto/sasl) and asks the
// application for the final verdict (ev::Auth), which applies lockouts and failure delays.
struct AuthConfig {
  sasl::Crypto* crypto = nullptr;
  const sasl::CredentialStore* credentials = nullptr;
  // Mechanisms offered, in EHLO order. A known mechanism left out is refused with 534
  // (too weak for our policy); an unknown one with 504.
  std::vector<sasl::Mechanism> mechanisms = {sasl::Mechanism::scram_sha_256, sasl::Mechanism::plain,
                                             sasl::Mechanism::login};
  // PLAIN and LOGIN send the password itself: without TLS they are neither offered nor
  // accepted (538 5.7.11, RFC 4954 §4, §6) unless this is set (loopback, by configuration).
  bool plaintext_without_tls = false;
  bool required = false;  // submission (RFC 6409 §4.3): MAIL before AUTH gets 530 5.7.0
  sasl::SaslLimits sasl;
  bool enabled() const noexcept { return crypto != nullptr && credentials != nullptr && !mechanisms.empty(); }
};

struct ServerConfig {
  std::string hostname = "localhost";  // greeting, 250 EHLO line, error texts
  std::string greeting_text = "ESMTP Cloudsdial";
  SmtpLimits limits;
  // Extensions advertised in EHLO (all on by default; STARTTLS/AUTH when configured).
  bool pipelining = true;
  bool eight_bit_mime = true;
  bool smtputf8 = true;
  bool chunking = true;
  bool binary_mime = true;
  bool dsn = true;
  bool enhanced_status_codes = true;
  bool starttls_available = false;  // TLS configured (issue: TLS) — the seam is the StartTls output
  bool vrfy_enabled = true;         // VRFY answers 252 (RFC 5321 §3.5.3), never confirms users
  // RFC 2920 §3.1: DATA ends a group and the client waits for 354 before sending content.
  // Bytes received after a DATA line before its reply went out (fed with it or earlier, or
  // held back by feed()) are improper pipelining, a mark of spamware and of smuggling
  // attempts: DATA then gets "554 5.5.0 Error: SMTP protocol synchronization" and the
  // session closes, reason "improper command pipelining after DATA" (Postfix
  // smtpd_forbid_unauth_pipelining). false: those bytes are read as usual. BDAT is framed
  // by its size and is not affected.
  bool reject_pipelined_data = true;
  AuthConfig auth;
};

struct SessionInfo {
  std::string remote_address;  // client IP text, for Received: and the envelope
  std::uint16_t remote_port = 0;
  std::string local_address;
  bool tls = false;  // implicit TLS (RFC 8314) already active
};

using EventId = std::uint64_t;

namespace ev {
struct Helo {  // informational
  std::string name;
  bool extended = false;
};
struct MailFrom {  // needs complete(id, reply): 250 accept, 4xx/5xx refuse
  EventId id = 0;
  Path path;
  MailParams params;
};
struct RcptTo {  // needs complete(id, reply): 250/251 accept, 550 5.1.1 unknown, ...
  EventId id = 0;
  Path path;
  RcptParams params;
};
struct Message {  // needs complete(id, reply): 250 only once stored durably
  EventId id = 0;
  Envelope envelope;
  std::string content;  // as received: CRLF lines, dot-unstuffed, no trace header added
};
// The SASL exchange of an AUTH command ended (RFC 4954 §4). Needs complete(id, reply):
// 235 2.7.0 to accept (only when `success`), 535 5.7.8 to refuse, 454 4.7.0 for a
// temporary failure, 421 to close. The application applies lockouts and failure delays.
struct Auth {
  EventId id = 0;
  std::string mechanism;  // "PLAIN"
  std::string authcid;    // as the client sent it (may be empty or invalid on failure)
  bool success = false;   // the credentials matched
  sasl::Failure failure = sasl::Failure::none;
};
struct TransactionReset {};  // informational: RSET / EHLO / abort dropped the transaction
// Informational: the session refused something (a 4xx/5xx reply other than 421), for the
// one log line per rejection operators expect (Postfix "NOQUEUE: reject: RCPT from ...").
// Not emitted for AUTH failures (ev::Auth) nor for the application's own verdict on a whole
// message (the application logs those with the transaction).
struct Rejected {
  std::string stage;      // the command refused: "MAIL", "RCPT", "DATA", "BDAT", "EHLO", ...;
                          // "END-OF-MESSAGE" for the content; "UNKNOWN" for a bad command line
  Reply reply;
  std::string argument;   // the command's argument (or the refused path), bounded, printable
  std::string mail_from;  // the transaction's sender once MAIL was accepted, else empty
  bool in_transaction = false;
  std::string helo;
};
struct Closed {              // informational: the session is over
  std::string reason;
};
}  // namespace ev

using Event = std::variant<ev::Helo, ev::MailFrom, ev::RcptTo, ev::Message, ev::Auth, ev::TransactionReset,
                           ev::Rejected, ev::Closed>;

// Output items are protocol-neutral (proto/session_output.h): the one driver in
// node/connection.h runs this session and, later, IMAP and POP3 sessions alike.
namespace out = proto::out;
using Output = proto::Output;

enum class State : std::uint8_t {
  greeting,        // before EHLO/HELO
  ready,           // after EHLO/HELO, no transaction
  mail,            // MAIL accepted, no RCPT yet
  rcpt,            // at least one RCPT accepted
  data,            // reading DATA content
  bdat,            // reading a BDAT chunk (or between chunks)
  tls_handshake,   // STARTTLS accepted, waiting for tls_established()
  closed,
};
std::string_view to_string(State) noexcept;

class ServerSession {
 public:
  ServerSession(ServerConfig config, SessionInfo info, Instant now);
  ~ServerSession();
  ServerSession(const ServerSession&) = delete;
  ServerSession& operator=(const ServerSession&) = delete;

  [[nodiscard]] std::size_t feed(std::string_view in, Instant now);
  void feed_eof(Instant now);
  [[nodiscard]] std::optional<Output> poll_output();
  [[nodiscard]] std::optional<Event> poll_event();
  [[nodiscard]] std::optional<Instant> poll_timeout() const;
  void handle_timeout(Instant now);
  void complete(EventId id, Reply verdict, Instant now);

  // After out::StartTls: the handshake succeeded. Resets to `greeting` state (RFC 3207
  // §4.2: a new EHLO is required, all earlier state forgotten).
  void tls_established(Instant now);

  // Graceful shutdown: an idle session gets "421 4.3.2 <host> Service shutting down" now;
  // a session inside a transaction finishes it and gets the 421 before the next command.
  // With `force`, the 421 goes out at once whatever the state.
  void shutdown(Instant now, bool force);

  State state() const noexcept;
  bool closed() const noexcept { return state() == State::closed; }
  bool in_transaction() const noexcept;
  // The authenticated identity (RFC 4954), empty before a successful AUTH.
  const std::string& auth_identity() const noexcept;
  // Bytes currently buffered by the session (input + pending message); bounded by limits.
  std::size_t buffered_bytes() const noexcept;
  // The last transitions, "greeting -> ready", for readable failure reports.
  const std::deque<std::string>& history() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The reply a listener sends instead of a session when it refuses a connection
// (e.g. "421 4.7.0 <host> Error: too many connections from 1.2.3.4").
std::string refuse_connection_bytes(std::string_view hostname, std::string_view why);

}  // namespace mail::smtp
