// AUTH (RFC 4954 §4, §6): command checks, the SASL exchange over "334" continuation lines
// (proto/sasl does the mechanisms), and the application's verdict (lockouts and failure
// delays live there, not here). PLAIN and LOGIN are refused without TLS (538), a known
// mechanism outside the policy with 534, an unknown one with 504. No I/O, no clock.
#include "core/assert.h"
#include "proto/sasl/base64.h"
#include "proto/smtp/chars.h"
#include "proto/smtp/session_impl.h"

namespace mail::smtp {

namespace {
bool sends_password(sasl::Mechanism m) noexcept { return m == sasl::Mechanism::plain || m == sasl::Mechanism::login; }

// RFC 4954 §4 failure replies that the session gives itself (the credential verdict is the
// application's). nullopt: a credential failure, which goes to the application.
std::optional<Reply> exchange_error(sasl::Failure f) {
  switch (f) {
    case sasl::Failure::cancelled: return Reply::make(501, {5, 0, 0}, "Authentication aborted");
    case sasl::Failure::malformed: return Reply::make(501, {5, 5, 2}, "Error: invalid SASL response");
    case sasl::Failure::too_long: return Reply::make(500, {5, 5, 6}, "Authentication Exchange line is too long");
    case sasl::Failure::unknown_mechanism: return Reply::make(504, {5, 5, 4}, "Unrecognized authentication type");
    default: return std::nullopt;
  }
}
}  // namespace

bool ServerSession::Impl::mechanism_in_policy(sasl::Mechanism m) const noexcept {
  for (sasl::Mechanism allowed : config_.auth.mechanisms) {
    if (allowed == m) return true;
  }
  return false;
}

bool ServerSession::Impl::mechanism_offered(sasl::Mechanism m) const noexcept {
  if (!auth_offered()) return false;
  if (sends_password(m) && !tls_active_ && !config_.auth.plaintext_without_tls) return false;
  return mechanism_in_policy(m);
}

std::string ServerSession::Impl::auth_keyword_line() const {
  // RFC 4954 §3: "AUTH" SP mechanism *(SP mechanism). After a successful AUTH the keyword
  // stays (clients key off it) but a second AUTH gets 503.
  std::string line = "AUTH";
  for (sasl::Mechanism m : config_.auth.mechanisms) {
    if (mechanism_offered(m)) line.append(" ").append(sasl::to_string(m));
  }
  return line == "AUTH" ? std::string() : line;
}

Checked<sasl::Mechanism> ServerSession::Impl::check_auth(std::string_view mechanism) const {
  MAIL_ASSERT(!pending_);
  MAIL_ASSERT(!auth_);
  if (!config_.auth.enabled()) return Reply::make(502, {5, 5, 1}, "Error: authentication not enabled");
  if (state_ == State::greeting || !extended_) return Reply::make(503, {5, 5, 1}, "Error: send EHLO first");
  // §4: "The AUTH command is not permitted during a mail transaction" and a second AUTH
  // after a successful one "MUST" get 503.
  if (state_ != State::ready) return Reply::make(503, {5, 5, 1}, "Error: MAIL transaction in progress");
  if (!auth_identity_.empty()) return Reply::make(503, {5, 5, 1}, "Error: already authenticated");
  if (mechanism.empty()) return Reply::make(501, {5, 5, 4}, "Syntax: AUTH mechanism [initial-response]");
  const auto mech = sasl::parse_mechanism(mechanism);
  if (!mech) return Reply::make(504, {5, 5, 4}, "Unrecognized authentication type");
  if (!mechanism_in_policy(*mech)) return Reply::make(534, {5, 7, 9}, "Authentication mechanism is too weak");
  // §4, §6: a mechanism that needs an encryption layer first.
  if (!mechanism_offered(*mech)) {
    return Reply::make(538, {5, 7, 11}, "Encryption required for requested authentication mechanism");
  }
  return *mech;
}

void ServerSession::Impl::proceed_auth(sasl::Mechanism mechanism, std::optional<std::string_view> initial) {
  MAIL_ASSERT(state_ == State::ready);
  MAIL_ASSERT(mechanism_offered(mechanism));
  AuthExchange x;
  x.sasl = std::make_unique<sasl::SaslServer>(*config_.auth.crypto, *config_.auth.credentials, config_.auth.sasl);
  x.mechanism = std::string(sasl::to_string(mechanism));
  auth_ = std::move(x);
  const sasl::Step step = auth_->sasl->start(auth_->mechanism, initial);
  auth_step(step);
}

void ServerSession::Impl::auth_step(const sasl::Step& step) {
  MAIL_ASSERT(auth_.has_value());
  if (step.kind == sasl::Step::Kind::challenge) {
    // §4: continue-req = "334" SP [base64] CRLF — the SP even when the challenge is empty,
    // which Reply::to_wire would drop, so the line is written here.
    outputs_.push_back(out::Send{"334 " + step.challenge_b64 + "\r\n"});
    return;
  }
  AuthExchange x = std::move(*auth_);
  auth_.reset();
  if (step.kind == sasl::Step::Kind::failure) {
    if (auto err = exchange_error(step.failure)) {
      send_error(*err);
      return;
    }
  }
  // Success or a credential failure: the application decides (lockouts, delays, 235/535).
  const EventId id = next_id();
  ev::Auth e;
  e.id = id;
  e.mechanism = x.mechanism;
  e.authcid = step.authcid;
  e.success = step.kind == sasl::Step::Kind::success;
  e.failure = step.failure;
  emit(std::move(e));
  PendingVerdict p;
  p.id = id;
  p.kind = Verb::auth;
  if (step.kind == sasl::Step::Kind::success) p.authcid = step.authcid;
  pending_ = std::move(p);
}

bool ServerSession::Impl::process_auth_line() {
  MAIL_ASSERT(auth_.has_value());
  const LineResult lr = line_reader_.next(unread());
  const std::string line(lr.line);
  advance(lr.consumed);
  switch (lr.status) {
    case LineStatus::need_more:
      return false;
    case LineStatus::line:
      activity_ = now_;
      if (line.find('\0') != std::string::npos) {
        auth_.reset();
        send_error(Reply::make(501, {5, 5, 2}, "Error: invalid SASL response"));
        return true;
      }
      auth_step(auth_->sasl->step(line));
      return true;
    case LineStatus::too_long:
      // §4: "500 5.5.6 Authentication Exchange line is too long"; the exchange is over.
      auth_.reset();
      activity_ = now_;
      send_error(Reply::make(500, {5, 5, 6}, "Authentication Exchange line is too long"));
      return true;
    case LineStatus::too_long_fatal:
      auth_.reset();
      send_fatal(Reply::make(500, {5, 5, 6}, "Authentication Exchange line is too long"), "AUTH line too long");
      return true;
    case LineStatus::bare_lf:
    case LineStatus::bare_cr:
      auth_.reset();
      send_fatal(Reply::make(500, {5, 5, 2}, "Error: bare <CR> or <LF> received"), "bare CR/LF in AUTH");
      return true;
  }
  return true;
}

void ServerSession::Impl::verdict_auth(PendingVerdict p, Reply verdict) {
  MAIL_ASSERT(p.kind == Verb::auth);
  MAIL_ASSERT(state_ == State::ready);
  if (verdict.positive()) {
    // Only a successful exchange can be accepted: the application may refuse a good
    // password (lockout), never accept a bad one.
    MAIL_ASSERT(!p.authcid.empty());
    auth_identity_ = std::move(p.authcid);
    send(verdict);
    return;
  }
  send_refusal(verdict);
}

void ServerSession::Impl::on_auth(const Command& c) {
  MAIL_ASSERT(c.spec->id == Verb::auth);
  // AUTH SP mechanism [SP initial-response]
  std::string_view arg = c.arg;
  const std::size_t sp = arg.find(' ');
  const std::string_view mechanism = arg.substr(0, sp);
  std::optional<std::string_view> initial;
  if (sp != std::string_view::npos) {
    initial = arg.substr(sp + 1);
    if (initial->empty() || initial->find(' ') != std::string_view::npos) {
      send_error(Reply::make(501, {5, 5, 4}, "Syntax: AUTH mechanism [initial-response]"));
      return;
    }
  }
  Checked<sasl::Mechanism> checked = check_auth(mechanism);
  if (auto* err = std::get_if<Reply>(&checked)) {
    send_error(*err);
    return;
  }
  proceed_auth(std::get<sasl::Mechanism>(checked), initial);
}

}  // namespace mail::smtp
