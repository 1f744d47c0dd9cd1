// Private: the state of one smtp::ServerSession, shared by server_session.cpp (input loop,
// transitions, output) and commands/*.cpp (one file per command group, each a pure check_*
// and a mutating proceed_*, STYLE.md habit 7). Not part of the public API; no I/O, no
// clock, no RNG, no exceptions. RFC 5321 §3.3 transaction, §4.1.4 command order.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "proto/smtp/command.h"
#include "proto/smtp/content_scanner.h"
#include "proto/smtp/data_reader.h"
#include "proto/smtp/line_reader.h"
#include "proto/smtp/server_session.h"

namespace mail::smtp {

// A check either refuses with a reply or yields what proceed_* needs.
template <class T>
using Checked = std::variant<Reply, T>;

// The mail transaction (RFC 5321 §3.3): kept apart from the session, as OpenSMTPD's smtp_tx.
struct ServerTransaction {
  Envelope envelope;
  bool used_bdat = false;                // RFC 3030 §2: no DATA after BDAT in one transaction
  std::optional<ContentScanner> content; // from DATA / first BDAT until the end of the message
  DataReader data_reader;
  std::uint32_t rcpt_overshoot = 0;      // 452s past recipients_max (Postfix smtpd_recipient_overshoot_limit)
};

struct MailCommand {
  Path path;
  MailParams params;
};
struct RcptCommand {
  Path path;
  RcptParams params;
};

// A verdict the application owes us; while one is pending no further input is processed.
struct PendingVerdict {
  EventId id = 0;
  Verb kind = Verb::mail;  // mail, rcpt, auth, or data/bdat for the end-of-message verdict
  Path path;
  MailParams mail_params;
  RcptParams rcpt_params;
  std::string authcid;  // auth: the identity that succeeded (when the verdict is 2xx)
};

// An AUTH exchange in progress (RFC 4954 §4): client lines are SASL responses, not commands.
struct AuthExchange {
  std::unique_ptr<sasl::SaslServer> sasl;
  std::string mechanism;  // canonical name, for the event and the log
};

struct ServerSession::Impl {
  Impl(ServerConfig config, SessionInfo info, Instant now);

  // --- server_session.cpp: transitions, output, input loop -------------------------------
  using Handler = void (Impl::*)(const Command&);
  static Handler handler_for(Verb verb) noexcept;
  void enter(State next);
  static bool legal_edge(State from, State to) noexcept;
  void send(const Reply& r);
  void send_error(const Reply& r);               // counts toward the error budget (Postfix hard_error_limit)
  void send_fatal(const Reply& r, std::string reason);  // error reply, then close
  void send_refusal(const Reply& verdict);       // the application's 4xx/5xx to MAIL/RCPT
  void close(std::string reason);
  void emit(Event e) { events_.push_back(std::move(e)); }
  EventId next_id() noexcept { return ++last_id_; }
  void reset_transaction(bool notify);           // drop tx; back to ready when in one
  void process();
  bool process_content();                        // DATA / BDAT bytes; false when more input is needed
  void process_line(std::string_view line);
  void dispatch_line(std::string_view line);     // process_line's body, between its bookkeeping
  void maybe_finish_shutdown();
  std::string_view unread() const noexcept { return std::string_view(inbuf_).substr(inpos_); }
  // Input received after the line just read: in the buffer, or not yet moved into it.
  bool input_follows() const noexcept { return inpos_ < inbuf_.size() || input_held_; }
  void advance(std::size_t n) noexcept;
  void compact();
  Extensions extensions() const noexcept;
  bool chunking_offered() const noexcept { return extended_ && config_.chunking; }
  Reply sequence_error(Verb verb) const;

  // --- commands/hello.cpp: EHLO, HELO (RFC 5321 §4.1.1.1, §4.1.4) ------------------------
  std::optional<Reply> check_hello(std::string_view arg, bool extended) const;
  void proceed_hello(std::string_view arg, bool extended);
  Reply ehlo_reply() const;
  void on_ehlo(const Command& c);
  void on_helo(const Command& c);

  // --- commands/mail.cpp: MAIL (§4.1.1.2, RFC 1870, 6152, 6531, 3461) --------------------
  Checked<MailCommand> check_mail(std::string_view arg) const;
  void proceed_mail(MailCommand cmd);
  void verdict_mail(PendingVerdict p, Reply verdict);
  void on_mail(const Command& c);

  // --- commands/rcpt.cpp: RCPT (§4.1.1.3, §4.5.3.1.8, §4.5.3.1.10) -----------------------
  Checked<RcptCommand> check_rcpt(std::string_view arg) const;
  void proceed_rcpt(RcptCommand cmd);
  void verdict_rcpt(PendingVerdict p, Reply verdict);
  void on_rcpt(const Command& c);

  // --- commands/data.cpp: DATA, BDAT, end of message (§4.1.1.4, §4.5.2, RFC 3030) ------
  std::optional<Reply> check_data_sync() const;  // RFC 2920 §3.1, before the state check
  std::optional<Reply> check_data(std::string_view arg) const;
  void proceed_data();
  std::optional<Reply> check_bdat(const BdatArgs& args) const;
  void proceed_bdat(const BdatArgs& args);
  void finish_chunk();
  void finish_message();
  std::optional<Reply> content_error() const;
  void verdict_message(PendingVerdict p, Reply verdict);
  void on_data(const Command& c);
  void on_bdat(const Command& c);

  // --- commands/auth.cpp: AUTH (RFC 4954 §4, §6), the exchange and its verdict -----------
  bool auth_offered() const noexcept { return extended_ && config_.auth.enabled(); }
  bool mechanism_in_policy(sasl::Mechanism m) const noexcept;  // listed in AuthConfig::mechanisms
  bool mechanism_offered(sasl::Mechanism m) const noexcept;    // ...and usable on this connection now
  std::string auth_keyword_line() const;  // "AUTH SCRAM-SHA-256 PLAIN LOGIN", empty when none
  Checked<sasl::Mechanism> check_auth(std::string_view mechanism) const;
  void proceed_auth(sasl::Mechanism mechanism, std::optional<std::string_view> initial);
  void auth_step(const sasl::Step& step);   // a challenge goes out, an outcome asks the application
  bool process_auth_line();                 // one SASL response line; false when more input is needed
  void verdict_auth(PendingVerdict p, Reply verdict);
  void on_auth(const Command& c);

  // --- commands/misc.cpp: RSET NOOP QUIT VRFY EXPN HELP, refused verbs -------------------
  void on_rset(const Command& c);
  void on_noop(const Command& c);
  void on_quit(const Command& c);
  void on_vrfy(const Command& c);
  void on_expn(const Command& c);
  void on_help(const Command& c);
  void on_forbidden(const Command& c);

  // --- commands/starttls.cpp: STARTTLS (RFC 3207 §4, §4.2; CVE-2011-0411) --------------
  std::optional<Reply> check_starttls(std::string_view arg) const;
  void proceed_starttls();
  void on_starttls(const Command& c);

  // --- state ---------------------------------------------------------------------------
  ServerConfig config_;
  SessionInfo info_;
  State state_ = State::greeting;
  std::deque<std::string> history_;
  std::deque<Output> outputs_;
  std::deque<Event> events_;
  Instant now_;       // `now` of the call being handled
  Instant activity_;  // the current wait began here (timeouts, §4.5.3.2)

  // Input: unprocessed bytes are inbuf_[inpos_..]; bounded (see feed()).
  std::string inbuf_;
  std::size_t inpos_ = 0;
  // feed() has not moved all it was given into inbuf_ yet (it works in bounded blocks), or
  // left some to the driver while a verdict was pending: more input follows inbuf_.
  bool input_held_ = false;
  CommandLineReader line_reader_;

  // Session facts (RFC 5321 §4.1.1.1; RFC 3207 §4.2 forgets them after TLS).
  std::string helo_;
  // For ev::Rejected: the command whose reply is being composed (empty: refusals are logged
  // elsewhere), its argument while its line is being handled (a view into inbuf_, cleared
  // when the line is done), and the refused path when a verdict arrives later.
  std::string_view answering_ = "CONNECT";
  std::string_view answering_arg_;
  std::string answering_path_;
  void emit_rejected(const Reply& r);
  bool extended_ = false;
  bool tls_active_ = false;
  std::string auth_identity_;            // RFC 4954: set by a 235, forgotten at STARTTLS
  std::optional<AuthExchange> auth_;     // an AUTH exchange waiting for a client line

  ServerTransaction tx_;
  std::optional<PendingVerdict> pending_;
  EventId last_id_ = 0;

  // BDAT chunk in progress (RFC 3030 §2): bytes still to read into the message.
  bool chunk_active_ = false;
  std::uint64_t chunk_remaining_ = 0;
  std::uint64_t chunk_size_ = 0;
  bool chunk_last_ = false;
  // A refused BDAT: its chunk is read and dropped, then this reply goes out (RFC 3030 §2
  // "MUST accept and discard the associated message data before sending" the error).
  std::uint64_t discard_remaining_ = 0;
  std::optional<Reply> after_discard_;

  // Budgets (Postfix smtpd_hard_error_limit / smtpd_junk_command_limit).
  std::uint32_t errors_ = 0;
  std::uint32_t junk_ = 0;
  bool shutdown_requested_ = false;
};

}  // namespace mail::smtp
