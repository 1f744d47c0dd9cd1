// pop3::ServerSession — the sans-IO POP3 server side of one connection (RFC 1939 with
// RFC 2449 CAPA and response codes, RFC 2595 STLS, RFC 5034 SASL AUTH, RFC 6856 UTF8):
// bytes in, responses and events out. States AUTHORIZATION / TRANSACTION / UPDATE exactly
// as RFC 1939 §3. The session owns the maildrop snapshot the application hands it at login
// (complete_auth), so STAT, LIST, UIDL, DELE, RSET and NOOP need no I/O; RETR / TOP ask the
// application for the bytes (ev::Retrieve) and QUIT in TRANSACTION asks it to delete the
// marked messages durably (ev::Update) before +OK. APOP is not offered: it needs a
// plaintext-equivalent secret and the users file keeps only salted SCRAM hashes. Never
// touches a socket, clock, file or RNG (randomness only through the SASL Crypto).
//
// Driving contract (as imap::ServerSession): construct (queues the greeting); after every
// call drain poll_output() and poll_event(); feed() takes fewer bytes than offered while
// an event is being answered (one command at a time, in order: RFC 2449 PIPELINING); arm
// poll_timeout(). Answer ev::Auth with complete_auth(), ev::Retrieve with any number of
// send_message() then complete_retrieve(), ev::Update with complete_update(), once each.
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
#include "proto/pop3/command.h"
#include "proto/pop3/limits.h"
#include "proto/pop3/message_writer.h"
#include "proto/sasl/server.h"
#include "proto/session_output.h"

namespace mail::pop3 {

enum class State : std::uint8_t { authorization, transaction, update };
std::string_view to_string(State s) noexcept;

struct SessionConfig {
  std::string greeting = "Cloudsdial POP3 ready";
  Limits limits;
  bool starttls_available = false;  // TLS configured and not active yet
  bool tls_active = false;          // implicit TLS (RFC 8314)
  // AUTH: null crypto or credentials = nobody can log in.
  sasl::Crypto* crypto = nullptr;
  const sasl::CredentialStore* credentials = nullptr;
  // USER/PASS and AUTH PLAIN/LOGIN without TLS (loopback by configuration). Otherwise they
  // wait for STLS, and CAPA leaves USER out (RFC 2595 §4, RFC 2449 §6.8).
  bool plaintext_without_tls = false;
  sasl::SaslLimits sasl;
  Duration login_timeout = 60s;   // AUTHORIZATION, from the greeting (not reset by input)
  // RFC 1939 §3: the inactivity autologout timer "MUST be of at least 10 minutes". The
  // configuration may set it lower (tests); the default honours the RFC.
  Duration idle_timeout = 10min;
  std::string implementation = "Cloudsdial";  // CAPA IMPLEMENTATION (RFC 2449 §6.9)
};

// One message of the maildrop snapshot: message number = index + 1.
struct MaildropEntry {
  std::uint32_t uid = 0;
  std::uint64_t size = 0;  // octets RETR sends before dot-stuffing (RFC 1939 §11 LIST)
  std::string uidl;        // RFC 1939 §7: 1-70 octets 0x21-0x7E, unique and stable
};

namespace ev {
// A SASL exchange (AUTH, or USER/PASS as PLAIN) ended: the application applies its
// lockouts and delays, on success locks and snapshots the maildrop, and answers
// complete_auth().
struct Auth {
  std::uint64_t id = 0;
  bool success = false;
  std::string authcid;
  std::string mechanism;
};
// RETR (top_lines empty) or TOP: send_message() the message's bytes, then complete_retrieve().
struct Retrieve {
  std::uint64_t id = 0;
  std::uint32_t uid = 0;
  std::optional<std::uint32_t> top_lines;
};
// QUIT in TRANSACTION (RFC 1939 §6, UPDATE state): remove these uids durably, then
// complete_update(). Empty when nothing was marked.
struct Update {
  std::uint64_t id = 0;
  std::vector<std::uint32_t> deleted_uids;
};
}  // namespace ev
using Event = std::variant<ev::Auth, ev::Retrieve, ev::Update>;

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
  void shutdown(Instant now, bool force);

  // accepted: "+OK" and TRANSACTION over `maildrop`. Else "-ERR [AUTH] ..." (the application
  // delays it first) or, for good credentials the application refuses, `refusal` as the
  // -ERR text ("[IN-USE] ...", "[SYS/TEMP] ...", "[LOGIN-DELAY] ...").
  void complete_auth(std::uint64_t id, bool accepted, std::vector<MaildropEntry> maildrop, Instant now,
                     std::string_view refusal = {});
  // The next bytes of the message of ev::Retrieve `id` (raw, CRLF, not stuffed). The first
  // call sends "+OK". Returns false when no more are wanted (TOP has its lines, or closed).
  bool send_message(std::uint64_t id, std::string_view bytes);
  // ok: ends the body (".\r\n"). Not ok before any byte: "-ERR [SYS/TEMP]"; after some:
  // the response cannot be repaired, the connection closes.
  void complete_retrieve(std::uint64_t id, bool ok, Instant now);
  // ok: "+OK" and close; else "-ERR [SYS/TEMP]" (nothing was deleted) and close.
  void complete_update(std::uint64_t id, bool ok, Instant now);

  [[nodiscard]] State state() const noexcept { return state_; }
  [[nodiscard]] bool closed() const noexcept { return closed_; }
  [[nodiscard]] const std::string& user() const noexcept { return user_; }
  [[nodiscard]] bool tls_active() const noexcept { return config_.tls_active; }
  [[nodiscard]] std::size_t buffered_bytes() const noexcept { return line_.size(); }
  // The CAPA response lines for the current state (without "+OK" and ".").
  [[nodiscard]] std::string capabilities() const;

 private:
  enum class Wait : std::uint8_t { none, auth, sasl_line, retrieve, update };
  void on_line(std::string_view line, Instant now);
  void on_command(Command command, Instant now);
  void transaction_command(Command& command);
  void start_sasl(std::string_view mechanism, std::optional<std::string_view> initial);
  void sasl_step(const sasl::Step& step);
  void ok(std::string_view text);
  void err(std::string_view text);     // -ERR, not counted
  void error(std::string_view text);   // -ERR for an invalid command: counts against the budget
  void send(std::string bytes);
  void close_with(std::string_view line);
  bool plaintext_ok() const noexcept { return config_.tls_active || config_.plaintext_without_tls; }
  bool auth_possible() const noexcept { return config_.crypto != nullptr && config_.credentials != nullptr; }
  std::size_t line_limit() const noexcept;
  // The live message of number `msg` or null (with -ERR sent).
  const MaildropEntry* message(std::uint32_t msg);

  SessionConfig config_;
  State state_ = State::authorization;
  std::deque<proto::Output> outputs_;
  std::deque<Event> events_;
  Wait wait_ = Wait::none;
  std::uint64_t next_id_ = 1;
  std::uint64_t pending_id_ = 0;
  std::string line_;            // a partial line across feed() calls
  bool skipping_ = false;       // the line is over the limit: drop up to its LF
  std::unique_ptr<sasl::SaslServer> sasl_;
  std::string mechanism_name_;
  std::string user_;            // after login
  std::string user_arg_;        // USER's argument, waiting for PASS
  std::string pending_user_;
  bool pending_auth_ok_ = false;
  std::vector<MaildropEntry> maildrop_;
  std::vector<bool> deleted_;
  std::optional<MessageWriter> writer_;  // the RETR/TOP being answered
  bool retrieve_started_ = false;
  bool discard_input_ = false;  // STLS accepted: drop the rest of this feed()
  bool tls_pending_ = false;    // STLS accepted, tls_established() not yet: input dropped
  std::uint32_t error_count_ = 0;
  Instant last_activity_{};
  Instant connected_at_{};
  bool closed_ = false;
  bool shutdown_requested_ = false;
};

}  // namespace mail::pop3
