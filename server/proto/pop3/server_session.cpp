// pop3::ServerSession (see header): framing, the three states of RFC 1939 and every
// command that needs no message bytes. Must not: touch sockets, clocks, files or
// randomness (SASL's Crypto aside), or delete anything outside QUIT in TRANSACTION.
#include "proto/pop3/server_session.h"

#include "core/assert.h"
#include "proto/sasl/base64.h"

namespace mail::pop3 {

std::string_view to_string(State s) noexcept {
  switch (s) {
    case State::authorization: return "authorization";
    case State::transaction: return "transaction";
    case State::update: return "update";
  }
  return "invalid";
}

ServerSession::ServerSession(SessionConfig config, Instant now)
    : config_(std::move(config)), last_activity_(now), connected_at_(now) {
  ok(config_.greeting);  // RFC 1939 §4: the greeting is a positive response
}

ServerSession::~ServerSession() = default;

std::string ServerSession::capabilities() const {
  // RFC 2449 §6; USER only where it may be used (RFC 2595 §4 end). What AUTHORIZATION
  // announces is announced in TRANSACTION too (RFC 2449 §5 "MUST be announced in both
  // states", RFC 5034 §3 for SASL), except STLS (RFC 2595 §4: AUTHORIZATION only).
  std::string c = "TOP\r\n";
  if (plaintext_ok() && auth_possible()) c += "USER\r\n";
  c += "UIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nEXPIRE NEVER\r\nLOGIN-DELAY 0\r\n";
  if (auth_possible()) {
    c += "SASL SCRAM-SHA-256";
    if (plaintext_ok()) c += " PLAIN LOGIN";
    c += "\r\n";
  }
  if (state_ == State::authorization && config_.starttls_available && !config_.tls_active) c += "STLS\r\n";
  c += "UTF8\r\nIMPLEMENTATION " + config_.implementation + "\r\n";
  return c;
}

void ServerSession::send(std::string bytes) {
  if (bytes.empty()) return;
  if (!outputs_.empty()) {
    if (auto* s = std::get_if<proto::out::Send>(&outputs_.back())) {
      s->bytes += bytes;
      return;
    }
  }
  outputs_.push_back(proto::out::Send{std::move(bytes)});
}

void ServerSession::ok(std::string_view text) {
  std::string line = "+OK";
  if (!text.empty()) {
    line += ' ';
    line += text;
  }
  line += "\r\n";
  send(std::move(line));
}

void ServerSession::err(std::string_view text) {
  std::string line = "-ERR ";
  line += text;
  line += "\r\n";
  send(std::move(line));
}

void ServerSession::error(std::string_view text) {
  err(text);
  ++error_count_;
  const std::uint32_t budget =
      state_ == State::authorization ? config_.limits.errors_max_pre_auth : config_.limits.errors_max;
  if (error_count_ >= budget) close_with("-ERR Too many invalid commands\r\n");
}

void ServerSession::close_with(std::string_view line) {
  if (closed_) return;
  send(std::string(line));
  outputs_.push_back(proto::out::Close{});
  closed_ = true;
}

std::optional<proto::Output> ServerSession::poll_output() {
  if (outputs_.empty()) return std::nullopt;
  auto o = std::move(outputs_.front());
  outputs_.pop_front();
  return o;
}

std::optional<Event> ServerSession::poll_event() {
  if (events_.empty()) return std::nullopt;
  auto e = std::move(events_.front());
  events_.pop_front();
  return e;
}

std::size_t ServerSession::line_limit() const noexcept {
  // A SASL response line may be longer than a command (RFC 5034 §4: the 255-octet limit is
  // for the AUTH command line only); ours is SaslLimits' plus CRLF.
  if (wait_ == Wait::sasl_line) return config_.sasl.response_b64_bytes_max + 2;
  return config_.limits.command_line_bytes_max;
}

std::size_t ServerSession::feed(std::string_view in, Instant now) {
  // RFC 2595 §4 (CVE-2011-0411): nothing sent in plaintext after STLS becomes a command.
  if (tls_pending_ || closed_) return in.size();
  if (!in.empty()) last_activity_ = now;
  std::size_t pos = 0;
  while (!closed_ && pos < in.size()) {
    if (wait_ != Wait::none && wait_ != Wait::sasl_line) break;  // one command at a time
    const std::size_t lf = in.find('\n', pos);
    const std::size_t end = lf == std::string_view::npos ? in.size() : lf;
    if (skipping_) {
      pos = end == in.size() ? end : end + 1;
      if (lf != std::string_view::npos) skipping_ = false;
      continue;
    }
    const std::size_t limit = line_limit();
    if (line_.size() + (end - pos) + (lf == std::string_view::npos ? 0 : 1) > limit) {
      // Too long (RFC 2449 §4): answer once, drop the rest of the line.
      line_.clear();
      skipping_ = lf == std::string_view::npos;
      pos = lf == std::string_view::npos ? in.size() : lf + 1;
      if (wait_ == Wait::sasl_line) {
        sasl_.reset();
        wait_ = Wait::none;
        error("SASL response too long");
      } else {
        error("Line too long");
      }
      continue;
    }
    if (lf == std::string_view::npos) {
      line_.append(in.substr(pos));
      return in.size();
    }
    std::string line = std::move(line_);
    line_.clear();
    line.append(in.substr(pos, lf - pos));
    pos = lf + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    on_line(line, now);
    if (discard_input_) {
      discard_input_ = false;
      return in.size();
    }
  }
  return closed_ ? in.size() : pos;
}

void ServerSession::feed_eof(Instant /*now*/) {
  // RFC 1939 §6: without QUIT there is no UPDATE: nothing is deleted.
  if (closed_) return;
  closed_ = true;
  outputs_.push_back(proto::out::Close{});
}

void ServerSession::on_line(std::string_view line, Instant now) {
  if (wait_ == Wait::sasl_line) {
    MAIL_ASSERT(sasl_ != nullptr);
    sasl_step(sasl_->step(line));
    return;
  }
  ParseResult parsed = parse_command(line);
  if (!parsed.command) return error(parsed.error);
  on_command(std::move(*parsed.command), now);
}

void ServerSession::on_command(Command command, Instant /*now*/) {
  if (std::holds_alternative<cmd::Capa>(command)) {
    send("+OK Capability list follows\r\n" + capabilities() + ".\r\n");
    return;
  }
  if (std::holds_alternative<cmd::Noop>(command)) {
    if (state_ != State::transaction) return error("NOOP is only valid after login");
    return ok({});
  }
  if (std::holds_alternative<cmd::Quit>(command)) {
    if (state_ == State::authorization) return close_with("+OK Logging out\r\n");  // RFC 1939 §5
    // RFC 1939 §6: UPDATE — the marked messages go, durably, before +OK.
    state_ = State::update;
    std::vector<std::uint32_t> uids;
    for (std::size_t i = 0; i < maildrop_.size(); ++i)
      if (deleted_[i]) uids.push_back(maildrop_[i].uid);
    pending_id_ = next_id_++;
    wait_ = Wait::update;
    events_.push_back(ev::Update{pending_id_, std::move(uids)});
    return;
  }
  if (state_ == State::transaction) return transaction_command(command);

  // AUTHORIZATION (RFC 1939 §4, §7).
  if (std::holds_alternative<cmd::Stls>(command)) {
    if (!config_.starttls_available || config_.tls_active) return error("STLS not available");
    ok("Begin TLS negotiation");
    outputs_.push_back(proto::out::StartTls{});
    discard_input_ = true;
    tls_pending_ = true;
    user_arg_.clear();
    return;
  }
  if (std::holds_alternative<cmd::Utf8>(command)) return ok("UTF8 enabled");  // RFC 6856 §2
  if (std::holds_alternative<cmd::Apop>(command)) {
    // Not offered (no APOP timestamp in the greeting): it needs the plaintext password.
    return error("APOP is not supported (use USER/PASS or AUTH)");
  }
  if (auto* u = std::get_if<cmd::User>(&command)) {
    if (!plaintext_ok()) return err("[AUTH] Plaintext authentication disallowed without TLS (use STLS)");
    if (!auth_possible()) return err("[SYS/PERM] Authentication is not configured");
    user_arg_ = std::move(u->name);
    return ok("Send PASS");
  }
  if (auto* p = std::get_if<cmd::Pass>(&command)) {
    if (user_arg_.empty()) return error("USER first");
    std::string plain;
    plain.reserve(user_arg_.size() + p->password.size() + 2);
    plain += '\0';
    plain += user_arg_;
    plain += '\0';
    plain += p->password;
    user_arg_.clear();
    const std::string initial = sasl::base64_encode(plain);
    mechanism_name_ = "USER";
    start_sasl("PLAIN", std::string_view(initial));
    return;
  }
  if (auto* a = std::get_if<cmd::Auth>(&command)) {
    if (!auth_possible()) return err("[SYS/PERM] Authentication is not configured");
    if (a->mechanism.empty()) {
      // The pre-RFC 5034 listing some clients still probe with.
      std::string list = "+OK\r\nSCRAM-SHA-256\r\n";
      if (plaintext_ok()) list += "PLAIN\r\nLOGIN\r\n";
      send(list + ".\r\n");
      return;
    }
    std::optional<std::string_view> initial;
    if (a->initial) initial = *a->initial;
    mechanism_name_.clear();
    start_sasl(a->mechanism, initial);
    return;
  }
  error("Not valid before login");
}

const MaildropEntry* ServerSession::message(std::uint32_t msg) {
  if (msg == 0 || msg > maildrop_.size()) {
    err("No such message");
    return nullptr;
  }
  if (deleted_[msg - 1]) {
    err("Message " + std::to_string(msg) + " already deleted");
    return nullptr;
  }
  return &maildrop_[msg - 1];
}

void ServerSession::transaction_command(Command& command) {
  if (std::holds_alternative<cmd::Stat>(command)) {
    std::uint64_t count = 0, octets = 0;
    for (std::size_t i = 0; i < maildrop_.size(); ++i) {
      if (deleted_[i]) continue;
      ++count;
      octets += maildrop_[i].size;
    }
    return ok(std::to_string(count) + " " + std::to_string(octets));
  }
  if (auto* l = std::get_if<cmd::List>(&command)) {
    if (l->msg) {
      const MaildropEntry* m = message(*l->msg);
      if (m != nullptr) ok(std::to_string(*l->msg) + " " + std::to_string(m->size));
      return;
    }
    std::string out;
    std::uint64_t count = 0, octets = 0;
    for (std::size_t i = 0; i < maildrop_.size(); ++i) {
      if (deleted_[i]) continue;
      ++count;
      octets += maildrop_[i].size;
      out += std::to_string(i + 1) + " " + std::to_string(maildrop_[i].size) + "\r\n";
    }
    send("+OK " + std::to_string(count) + " messages (" + std::to_string(octets) + " octets)\r\n" + out + ".\r\n");
    return;
  }
  if (auto* u = std::get_if<cmd::Uidl>(&command)) {
    if (u->msg) {
      const MaildropEntry* m = message(*u->msg);
      if (m != nullptr) ok(std::to_string(*u->msg) + " " + m->uidl);
      return;
    }
    std::string out = "+OK\r\n";
    for (std::size_t i = 0; i < maildrop_.size(); ++i)
      if (!deleted_[i]) out += std::to_string(i + 1) + " " + maildrop_[i].uidl + "\r\n";
    send(out + ".\r\n");
    return;
  }
  if (auto* d = std::get_if<cmd::Dele>(&command)) {
    if (message(d->msg) == nullptr) return;
    deleted_[d->msg - 1] = true;
    return ok("Message " + std::to_string(d->msg) + " deleted");
  }
  if (std::holds_alternative<cmd::Rset>(command)) {
    std::fill(deleted_.begin(), deleted_.end(), false);
    std::uint64_t octets = 0;
    for (const auto& m : maildrop_) octets += m.size;
    return ok("Maildrop has " + std::to_string(maildrop_.size()) + " messages (" + std::to_string(octets) +
              " octets)");
  }
  std::optional<std::uint32_t> msg;
  std::optional<std::uint32_t> top;
  if (auto* r = std::get_if<cmd::Retr>(&command)) msg = r->msg;
  if (auto* t = std::get_if<cmd::Top>(&command)) {
    msg = t->msg;
    top = t->lines;
  }
  if (msg) {
    const MaildropEntry* m = message(*msg);
    if (m == nullptr) return;
    pending_id_ = next_id_++;
    wait_ = Wait::retrieve;
    writer_.emplace(top);
    retrieve_started_ = false;
    events_.push_back(ev::Retrieve{pending_id_, m->uid, top});
    return;
  }
  // USER, PASS, APOP, AUTH, STLS, UTF8 after login (RFC 2595 §4: STLS only in AUTHORIZATION).
  error("Not valid in the TRANSACTION state");
}

void ServerSession::start_sasl(std::string_view mechanism, std::optional<std::string_view> initial) {
  auto mech = sasl::parse_mechanism(mechanism);
  if (!mech) return error("Unsupported authentication mechanism");
  if (*mech != sasl::Mechanism::scram_sha_256 && !plaintext_ok()) {
    return err("[AUTH] Plaintext authentication disallowed without TLS (use STLS)");
  }
  if (mechanism_name_.empty()) mechanism_name_ = std::string(sasl::to_string(*mech));
  sasl_ = std::make_unique<sasl::SaslServer>(*config_.crypto, *config_.credentials, config_.sasl);
  sasl_step(sasl_->start(mechanism, initial));
}

void ServerSession::sasl_step(const sasl::Step& step) {
  if (step.kind == sasl::Step::Kind::challenge) {
    // RFC 5034 §4: "+ " and the base64 challenge ("+ " alone for an empty one).
    send("+ " + step.challenge_b64 + "\r\n");
    wait_ = Wait::sasl_line;
    return;
  }
  if (step.kind == sasl::Step::Kind::failure &&
      (step.failure == sasl::Failure::cancelled || step.failure == sasl::Failure::malformed ||
       step.failure == sasl::Failure::too_long || step.failure == sasl::Failure::unknown_mechanism)) {
    wait_ = Wait::none;
    sasl_.reset();
    if (step.failure == sasl::Failure::unknown_mechanism) return error("Unsupported authentication mechanism");
    if (step.failure == sasl::Failure::cancelled) return err("Authentication cancelled");  // RFC 5034 §4
    return error("Invalid SASL response");
  }
  pending_id_ = next_id_++;
  wait_ = Wait::auth;
  pending_user_ = step.authcid;
  pending_auth_ok_ = step.kind == sasl::Step::Kind::success;
  events_.push_back(ev::Auth{pending_id_, pending_auth_ok_, step.authcid, mechanism_name_});
  sasl_.reset();
}

void ServerSession::complete_auth(std::uint64_t id, bool accepted, std::vector<MaildropEntry> maildrop, Instant now,
                                  std::string_view refusal) {
  if (closed_) return;
  MAIL_ASSERT(id == pending_id_ && wait_ == Wait::auth);
  MAIL_ASSERT(!accepted || pending_auth_ok_);  // never admit a failed login
  last_activity_ = now;
  wait_ = Wait::none;
  pending_id_ = 0;
  if (accepted) {
    user_ = pending_user_;
    state_ = State::transaction;
    maildrop_ = std::move(maildrop);
    deleted_.assign(maildrop_.size(), false);
    std::uint64_t octets = 0;
    for (const auto& m : maildrop_) octets += m.size;
    ok("Logged in: " + std::to_string(maildrop_.size()) + " messages (" + std::to_string(octets) + " octets)");
  } else if (!refusal.empty() && pending_auth_ok_) {
    err(refusal);
  } else {
    err("[AUTH] Authentication failed");  // RFC 3206 §4
  }
  if (shutdown_requested_) close_with("-ERR [SYS/TEMP] Server shutting down\r\n");
}

bool ServerSession::send_message(std::uint64_t id, std::string_view bytes) {
  if (closed_) return false;
  MAIL_ASSERT(id == pending_id_ && wait_ == Wait::retrieve && writer_);
  if (!retrieve_started_) {
    retrieve_started_ = true;
    if (writer_->done()) return false;
    send(std::string("+OK Message follows\r\n"));
  }
  if (writer_->done()) return false;
  std::string out;
  writer_->write(bytes, out);
  send(std::move(out));
  return !writer_->done();
}

void ServerSession::complete_retrieve(std::uint64_t id, bool ok_, Instant now) {
  if (closed_) return;
  MAIL_ASSERT(id == pending_id_ && wait_ == Wait::retrieve && writer_);
  last_activity_ = now;
  wait_ = Wait::none;
  pending_id_ = 0;
  if (ok_) {
    if (!retrieve_started_) send(std::string("+OK Message follows\r\n"));
    std::string out;
    writer_->finish(out);
    send(std::move(out));
  } else if (!retrieve_started_) {
    err("[SYS/TEMP] Cannot read the message now");
  } else {
    // Part of the body went out: no terminator can make it right. Close (nothing deleted).
    outputs_.push_back(proto::out::Close{});
    closed_ = true;
  }
  writer_.reset();
  if (shutdown_requested_) close_with("-ERR [SYS/TEMP] Server shutting down\r\n");
}

void ServerSession::complete_update(std::uint64_t id, bool ok_, Instant now) {
  if (closed_) return;
  MAIL_ASSERT(id == pending_id_ && wait_ == Wait::update);
  last_activity_ = now;
  wait_ = Wait::none;
  pending_id_ = 0;
  // RFC 1939 §6: +OK when the removal worked, -ERR otherwise; the connection closes either way.
  if (ok_) close_with("+OK Logging out, messages deleted\r\n");
  else close_with("-ERR [SYS/TEMP] Some deleted messages not removed; nothing was deleted\r\n");
}

std::optional<Instant> ServerSession::poll_timeout() const {
  if (closed_) return std::nullopt;
  if (wait_ == Wait::auth || wait_ == Wait::retrieve || wait_ == Wait::update) return std::nullopt;
  if (state_ == State::authorization) return connected_at_ + config_.login_timeout;
  return last_activity_ + config_.idle_timeout;
}

void ServerSession::handle_timeout(Instant now) {
  auto deadline = poll_timeout();
  if (!deadline || now < *deadline) return;
  if (tls_pending_) {
    closed_ = true;
    outputs_.push_back(proto::out::Close{});
    return;
  }
  // RFC 1939 §3: the autologout closes without entering UPDATE.
  close_with("-ERR Autologout; idle for too long\r\n");
}

void ServerSession::tls_established(Instant now) {
  tls_pending_ = false;
  last_activity_ = now;
  config_.tls_active = true;
  config_.starttls_available = false;
}

void ServerSession::shutdown(Instant /*now*/, bool force) {
  if (closed_) return;
  if (force || wait_ == Wait::none || wait_ == Wait::sasl_line) {
    close_with("-ERR [SYS/TEMP] Server shutting down\r\n");
    return;
  }
  shutdown_requested_ = true;
}

}  // namespace mail::pop3
