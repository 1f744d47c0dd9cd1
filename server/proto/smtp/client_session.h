// smtp::ClientSession — the sans-IO RFC 5321 client: replies in, commands and events out.
// It never touches a socket, clock, file or RNG; time arrives as `now` arguments. It never
// sends a bare CR or LF, nor content that could end DATA early (SMTP smuggling, outbound).
// Implements RFC 5321 (§3.1-3.3 sessions and transactions, §4.1.4 EHLO->HELO fallback,
// §4.2 replies, §4.5.2 transparency, §4.5.3.2 client timeouts), RFC 1870 SIZE, 2034/3463
// enhanced codes, 2920 PIPELINING, 3030 CHUNKING/BINARYMIME, 3207 STARTTLS, 3461 DSN,
// 6152 8BITMIME, 6531 SMTPUTF8, 4954 AUTH (client: SCRAM-SHA-256, RFC 5802/7677, with the
// caller's Crypto; PLAIN with an initial response, RFC 4616; LOGIN; never a password in
// cleartext without TLS unless ClientAuth::plaintext_without_tls).
//
// Driving contract (the same shape as ServerSession):
//   1. construct (waits for the server's 220; nothing to send yet);
//   2. drain poll_output() and poll_event() after *every* call to submit(), quit(),
//      cancel(), feed(), feed_eof(), handle_timeout() and tls_established();
//   3. feed() always takes every byte offered (bytes after a STARTTLS 220, and bytes fed
//      during the TLS handshake or after close, are discarded: response injection);
//   4. arm a timer for poll_timeout(); when it passes call handle_timeout(now);
//   5. on out::StartTls run the TLS handshake over the connection, then call
//      tls_established(now) (or feed_eof(now) if it failed); on out::Close close it.
// Every submitted transaction produces exactly one ev::TransactionResult, whatever happens.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/crypto.h"
#include "core/time.h"
#include "proto/sasl/server.h"  // sasl::Mechanism
#include "proto/smtp/address.h"
#include "proto/smtp/envelope.h"
#include "proto/smtp/params.h"
#include "proto/smtp/reply.h"
#include "proto/smtp/reply_parser.h"
#include "proto/smtp/server_session.h"  // out::Send / out::StartTls / out::Close, ev::Closed

namespace mail::smtp {

// RFC 5321 §4.5.3.2 client timeouts. EHLO/HELO/STARTTLS/RSET/QUIT have no RFC value:
// they use `command` (the MAIL value).
struct ClientTimeouts {
  Duration initial = 5min;            // §4.5.3.2.1 initial 220 message
  Duration mail = 5min;               // §4.5.3.2.2 MAIL command
  Duration rcpt = 5min;               // §4.5.3.2.3 RCPT command
  Duration data_init = 2min;          // §4.5.3.2.4 DATA initiation (354)
  // §4.5.3.2.5 data block: per write, so the driver enforces it on its writes; the session
  // uses it for the reply to each non-LAST BDAT chunk.
  Duration data_block = 3min;
  Duration data_termination = 10min;  // §4.5.3.2.6 reply to "." and to BDAT LAST
  Duration command = 5min;            // EHLO, HELO, STARTTLS, RSET, QUIT
  Duration tls_handshake = 2min;      // out::StartTls until tls_established()
};

// Credentials for AUTH (RFC 4954). With them the session authenticates after EHLO (after
// STARTTLS when TLS is used) and runs no transaction unless the server answers 235.
struct ClientAuth {
  std::string user;      // authentication identity: 1..255 octets, no NUL (asserted)
  std::string password;  // no NUL (asserted: PLAIN separates its fields with NUL, RFC 4616 §2)
  // Tried in this order among those the server offers (the first one usable now wins).
  std::vector<sasl::Mechanism> mechanisms{sasl::Mechanism::scram_sha_256, sasl::Mechanism::plain,
                                          sasl::Mechanism::login};
  // PLAIN and LOGIN carry the password in the clear: without TLS they are refused locally
  // (538 5.7.11) unless this is set, e.g. for a server on loopback. SCRAM never sends it.
  bool plaintext_without_tls = false;
  // SCRAM-SHA-256 (RFC 5802, 7677) needs hashes and randomness for its nonce: the caller's
  // (it must outlive the session). Null: SCRAM is skipped even when listed.
  Crypto* crypto = nullptr;
};

// True when `a` can be sent: the identity rules of ClientAuth (bindings check this first).
bool is_valid_client_auth(const ClientAuth& a) noexcept;

struct ClientConfig {
  // EHLO/HELO argument. Must pass is_valid_domain(_, false) or is_valid_address_literal
  // (address.h): asserted, so bindings validate it before constructing a session.
  std::string helo_name = "localhost";
  bool use_pipelining = true;           // RFC 2920, when the server offers it
  bool use_chunking = false;            // RFC 3030 BDAT instead of DATA, when offered
  std::uint32_t chunk_bytes = 64 * 1024;  // BDAT chunk size
  bool use_starttls = false;            // RFC 3207, when offered (needs a TLS-capable driver)
  bool require_tls = false;             // no transaction without TLS (fail 454 4.7.0)
  bool tls_active = false;              // implicit TLS (RFC 8314): never STARTTLS
  std::optional<ClientAuth> auth;       // RFC 4954: authenticate before any transaction
  ClientTimeouts timeouts;
  ReplyLimits reply_limits;
  SmtpLimits limits;                    // path/command-line limits our commands must respect
};

using TxId = std::uint64_t;

// One mail transaction: envelope and content. `content` is the message as CRLF lines,
// unstuffed; a missing final CRLF is added. Content with a bare CR or LF is refused
// (locally, 554 5.6.0) unless mail_params.body is BINARYMIME, which goes by BDAT.
struct MailTransaction {
  Path mail_from;
  MailParams mail_params;  // SIZE is computed; BODY/SMTPUTF8/RET/ENVID/AUTH sent when offered
  std::vector<Recipient> recipients;
  std::string content;
};

struct RecipientResult {
  Path path;
  bool accepted = false;  // the server accepted the RCPT
  Reply reply;            // its RCPT reply, or the reply that prevented asking (MAIL, 421...)
};

namespace ev {
// After EHLO/HELO (again after STARTTLS; after AUTH's 235 when ClientConfig::auth is set):
// the session can run transactions.
struct SessionReady {
  Capabilities capabilities;  // empty after HELO
  bool extended = false;      // EHLO (true) or HELO fallback
  bool tls = false;
};
// The server accepted our AUTH (235, RFC 4954 §4); with SCRAM it also proved it knows our
// credentials (RFC 5802 §5: ServerSignature). SessionReady follows.
struct Authenticated {
  sasl::Mechanism mechanism = sasl::Mechanism::plain;
  std::string user;
};
// Exactly one per submitted transaction.
struct TransactionResult {
  TxId id = 0;
  std::vector<RecipientResult> recipients;  // in submission order
  // The reply that decided the transaction: the reply to "." / BDAT LAST when the content
  // was sent, else the failing MAIL / last RCPT / DATA / BDAT reply, a 421, or a local one.
  Reply reply;
  bool accepted = false;  // content accepted for the accepted recipients
  bool local = false;     // `reply` was made up here (timeout, EOF, bad content, ...)

  bool delivered(std::size_t i) const noexcept { return accepted && recipients.at(i).accepted; }
  // What decided recipient i's fate: its RCPT reply when refused, else the final reply.
  const Reply& outcome(std::size_t i) const noexcept {
    return recipients.at(i).accepted ? reply : recipients.at(i).reply;
  }
};
}  // namespace ev

using ClientEvent = std::variant<ev::SessionReady, ev::TransactionResult, ev::Closed, ev::Authenticated>;
using ClientOutput = std::variant<out::Send, out::StartTls, out::Close>;

enum class ClientState : std::uint8_t {
  greeting,       // waiting for the 220
  ehlo,           // EHLO sent
  helo,           // HELO sent (EHLO refused with 5xx)
  starttls,       // STARTTLS sent, waiting for 220
  tls_handshake,  // out::StartTls given, waiting for tls_established()
  auth,           // AUTH sent, 334 continuations or the final 235 / 4xx / 5xx awaited
  ready,          // no command outstanding; starts the next queued transaction
  mail,           // MAIL sent, its reply awaited
  rcpt,           // RCPT replies awaited
  data,           // DATA sent, 354 awaited
  data_end,       // content and "." sent, final reply awaited
  bdat,           // BDAT chunk replies awaited
  rset,           // RSET sent after a failed transaction
  quit,           // QUIT sent, 221 awaited
  closed,
};
std::string_view to_string(ClientState) noexcept;

class ClientSession {
 public:
  ClientSession(ClientConfig config, Instant now);
  ~ClientSession();
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;
  ClientSession(ClientSession&&) noexcept;
  ClientSession& operator=(ClientSession&&) noexcept;

  // Queues a transaction; it starts once the session is ready and earlier ones are done.
  TxId submit(MailTransaction tx, Instant now);
  // QUIT once every queued transaction is finished; then out::Close after the 221.
  void quit(Instant now);
  // Gives up at once: pending transactions fail (451 4.4.0 local), out::Close.
  void cancel(Instant now, std::string_view why);

  [[nodiscard]] std::size_t feed(std::string_view in, Instant now);
  void feed_eof(Instant now);
  [[nodiscard]] std::optional<ClientOutput> poll_output();
  [[nodiscard]] std::optional<ClientEvent> poll_event();
  [[nodiscard]] std::optional<Instant> poll_timeout() const;
  void handle_timeout(Instant now);
  // After out::StartTls: the handshake succeeded. Capabilities are forgotten and EHLO is
  // sent again (RFC 3207 §4.2).
  void tls_established(Instant now);

  ClientState state() const noexcept;
  bool closed() const noexcept { return state() == ClientState::closed; }
  bool tls() const noexcept;
  bool authenticated() const noexcept;  // the server answered 235 to our AUTH
  const Capabilities& capabilities() const noexcept;  // of the last EHLO (empty after HELO)
  std::size_t pending_transactions() const noexcept;  // queued + in progress
  std::size_t discarded_bytes() const noexcept;       // thrown away (STARTTLS injection, after close)
  std::size_t buffered_bytes() const noexcept;        // partial reply held by the parser
  // The last transitions, "ehlo -> ready", for readable failure reports.
  const std::deque<std::string>& history() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Wire helpers, exposed for tests and for the conformance runner.
// "MAIL FROM:<a@b> SIZE=10 BODY=8BITMIME" (no CRLF); parameters only for offered extensions.
std::string format_mail_from(const Path& from, const MailParams& params, std::uint64_t size,
                             const Capabilities& caps, bool smtputf8);
std::string format_rcpt_to(const Recipient& rcpt, const Capabilities& caps);
// True when `content` has a CR not followed by LF or an LF not preceded by CR.
bool has_bare_cr_or_lf(std::string_view content) noexcept;

}  // namespace mail::smtp
