// imap::ServerSession (see header): framing, states and the mailbox-free commands of
// RFC 9051. Must not: touch sockets, clocks, files or randomness (SASL's Crypto aside).
#include "proto/imap/server_session.h"

#include <algorithm>

#include "core/ascii.h"
#include "core/assert.h"
#include "proto/imap/parser.h"
#include "proto/sasl/base64.h"

namespace mail::imap {

std::string_view to_string(State s) noexcept {
  switch (s) {
    case State::not_authenticated: return "not-authenticated";
    case State::authenticated: return "authenticated";
    case State::selected: return "selected";
    case State::logout: return "logout";
  }
  return "invalid";
}

namespace {

// Pre-authentication literals stay small: nothing before login needs more (a password);
// 4096 is LITERAL-'s bound (RFC 7888 §4, SECURITY.md §5 case 1).
constexpr std::uint64_t kPreAuthLiteralBytesMax = 4096;

// The command name of a partial command text ("A1 APPEND box {5}" -> "APPEND").
std::string_view verb_of(std::string_view text) {
  auto sp = text.find(' ');
  if (sp == std::string_view::npos) return {};
  text.remove_prefix(sp + 1);
  if (iequals(text.substr(0, 4), "UID ")) text.remove_prefix(4);
  return text.substr(0, text.find(' '));
}

// Which state a mailbox command needs (RFC 9051 §6.3, §6.4).
bool needs_selected(const CommandBody& body) {
  return std::holds_alternative<Check>(body) || std::holds_alternative<Close>(body) ||
         std::holds_alternative<Unselect>(body) || std::holds_alternative<Expunge>(body) ||
         std::holds_alternative<Search>(body) || std::holds_alternative<Fetch>(body) ||
         std::holds_alternative<Store>(body) || std::holds_alternative<Copy>(body) ||
         std::holds_alternative<Move>(body) || std::holds_alternative<Sort>(body) ||
         std::holds_alternative<Thread>(body);
}

}  // namespace

// Before login nothing needs a big literal (a password): the reader refuses more than
// kPreAuthLiteralBytesMax per literal even when it is non-synchronising (LITERAL+ lets the
// client send it unasked, so the sync-literal check in on_literal_pending() cannot see it);
// a refused one is read and thrown away, never buffered. complete_auth() lifts the bound.
ReaderLimits ServerSession::pre_auth_limits(const ReaderLimits& l) {
  ReaderLimits pre = l;
  pre.literal_bytes_max = std::min(l.literal_bytes_max, kPreAuthLiteralBytesMax);
  pre.command_bytes_max = std::min<std::uint64_t>(l.command_bytes_max, l.line_bytes_max + 2 * kPreAuthLiteralBytesMax);
  MAIL_ASSERT(pre.literal_bytes_max <= pre.command_bytes_max);
  return pre;
}

ServerSession::ServerSession(SessionConfig config, Instant now)
    : config_(std::move(config)),
      reader_(pre_auth_limits(config_.reader)),
      last_activity_(now),
      connected_at_(now) {
  send("* OK [CAPABILITY " + capabilities() + "] " + config_.greeting + "\r\n");
}

ServerSession::~ServerSession() = default;

std::string ServerSession::capabilities() const {
  std::string caps = "IMAP4rev1 IMAP4rev2 ";
  caps += config_.reader.literal_minus ? "LITERAL-" : "LITERAL+";
  caps += " SASL-IR ID ENABLE IDLE";
  if (state_ == State::not_authenticated) {
    if (config_.starttls_available && !config_.tls_active) caps += " STARTTLS";
    if (!plaintext_ok()) caps += " LOGINDISABLED";
    if (auth_possible()) {
      caps += " AUTH=SCRAM-SHA-256";
      if (plaintext_ok()) caps += " AUTH=PLAIN";
    }
    return caps;
  }
  for (const auto& c : config_.capabilities) {
    caps += ' ';
    caps += c;
  }
  if (config_.compress_available) caps += " COMPRESS=DEFLATE";  // RFC 4978 §5
  return caps;
}

std::size_t ServerSession::buffered_bytes() const noexcept { return reader_.pending_text().size(); }

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

void ServerSession::tagged(std::string_view tag, std::string_view status, std::string_view text) {
  std::string line;
  line.reserve(tag.size() + status.size() + text.size() + 4);
  line += tag.empty() ? std::string_view("*") : tag;
  line += ' ';
  line += status;
  line += ' ';
  line += text;
  line += "\r\n";
  send(std::move(line));
}

void ServerSession::bad(std::string_view tag, std::string_view text) {
  tagged(tag, "BAD", text);
  ++bad_count_;
  if (over_error_budget()) bye("Too many invalid commands");
}

bool ServerSession::over_error_budget() const noexcept {
  const std::uint32_t budget =
      state_ == State::not_authenticated ? config_.bad_commands_max_pre_auth : config_.bad_commands_max;
  return bad_count_ >= budget;
}

void ServerSession::bye(std::string_view text) {
  if (closed_) return;
  std::string line = "* BYE ";
  line += text;
  line += "\r\n";
  send(std::move(line));
  outputs_.push_back(proto::out::Close{});
  closed_ = true;
  state_ = State::logout;
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

std::size_t ServerSession::feed(std::string_view in, Instant now) {
  // Between STARTTLS and the handshake nothing the client sends in plaintext may become a
  // command (CVE-2011-0411), whichever feed() it arrives in.
  if (tls_pending_) return in.size();
  // RFC 4978 §3: after COMPRESS's OK the client's next octet is compressed: the driver
  // inflates what is left once the layer is in place (compress_established()).
  if (compress_pending_) return 0;
  std::size_t pos = 0;
  if (!in.empty()) touch(now);
  while (!closed_) {
    if (wait_ == Wait::command || wait_ == Wait::auth || wait_ == Wait::idle_done) break;
    auto r = reader_.next(in.substr(pos));
    pos += r.consumed;
    switch (r.event) {
      case ReadEvent::need_more: return in.size();
      case ReadEvent::command: on_command(reader_.take_command(), now); break;
      case ReadEvent::raw_line: on_raw_line(reader_.take_raw_line(), now); break;
      case ReadEvent::literal_pending: on_literal_pending(); break;
      case ReadEvent::error: on_read_error(now); break;
    }
    if (discard_input_) {
      // STARTTLS accepted: whatever followed it in the clear is dropped (RFC 9051 §6.2.1,
      // CVE-2011-0411 class); the stream restarts after the handshake.
      discard_input_ = false;
      return in.size();
    }
    if (compress_pending_) return pos;
  }
  return closed_ ? in.size() : pos;
}

void ServerSession::feed_eof(Instant /*now*/) {
  eof_ = true;
  if (closed_) return;
  closed_ = true;
  state_ = State::logout;
  outputs_.push_back(proto::out::Close{});
}

void ServerSession::on_literal_pending() {
  const auto size = reader_.pending_literal_bytes();
  const std::string tag(reader_.pending_tag());
  const auto verb = verb_of(reader_.pending_text());
  if (state_ == State::not_authenticated && size > kPreAuthLiteralBytesMax) {
    reader_.reject_literal();
    bad(tag, "Literal too big before authentication");
    return;
  }
  if (iequals(verb, "APPEND") && state_ == State::not_authenticated) {
    reader_.reject_literal();
    bad(tag, "APPEND needs authentication first");
    return;
  }
  // A command that is wrong before its literal gets BAD now, not after the client sent
  // the octets (RFC 9051 §4.3, §6.3.12: a failed APPEND appends nothing).
  if (auto error = check_command_prefix(reader_.pending_command())) {
    reader_.reject_literal();
    bad(tag, *error);
    return;
  }
  reader_.accept_literal();
  send("+ Ready for literal data\r\n");
}

// A raw line (SASL response, IDLE's DONE) was over line_bytes_max: the reader skipped it
// and reads commands again, so the exchange that waited for the line must end here too.
void ServerSession::on_raw_line_error() {
  MAIL_ASSERT(wait_ == Wait::sasl_line || wait_ == Wait::idle);
  if (wait_ == Wait::sasl_line) {
    // RFC 9051 §6.2.2: an invalid client response rejects AUTHENTICATE with BAD.
    sasl_.reset();
    wait_ = Wait::none;
    bad(pending_tag_, "SASL response too long");
    return;
  }
  // RFC 2177 §3: anything but DONE ends IDLE; the application answers (BAD, which counts
  // against the error budget) as for any other line.
  wait_ = Wait::idle_done;
  events_.push_back(ev::IdleDone{idle_id_, false});
  pending_id_ = idle_id_;
  idle_id_ = 0;
}

void ServerSession::on_read_error(Instant /*now*/) {
  const ReadError& e = reader_.error();
  if (wait_ == Wait::sasl_line || wait_ == Wait::idle) {
    MAIL_ASSERT(e.kind == ReadErrorKind::line_too_long);
    on_raw_line_error();
    if (!closed_ && over_error_budget()) bye("Too many invalid commands");
    return;
  }
  switch (e.kind) {
    case ReadErrorKind::literal_too_big:
    case ReadErrorKind::command_too_big:
      // RFC 7889 §4 / RFC 9051 §7.1: the literal is refused, nothing is stored. Before
      // login it is an invalid command (nothing there takes more than a password).
      tagged(e.tag, state_ == State::not_authenticated ? "BAD" : "NO", "[TOOBIG] Literal too big");
      ++bad_count_;
      break;
    case ReadErrorKind::non_sync_too_big:
      tagged(e.tag, "BAD", "[TOOBIG] Non-synchronizing literal too big (LITERAL-)");
      ++bad_count_;
      break;
    case ReadErrorKind::line_too_long: bad(e.tag, "Command line too long"); break;
    case ReadErrorKind::too_many_literals: bad(e.tag, "Too many literals"); break;
    case ReadErrorKind::bad_literal: bad(e.tag, "Invalid literal"); break;
    case ReadErrorKind::none: MAIL_ASSERT(false && "error without a kind"); break;
  }
  if (e.fatal) bye("Cannot recover from the previous error");
  else if (over_error_budget()) bye("Too many invalid commands");
}

void ServerSession::on_command(RawCommand raw, Instant now) {
  ParseResult parsed = parse_command(raw);
  if (!parsed.command) {
    bad(parsed.tag, parsed.error.empty() ? std::string_view("Invalid command") : std::string_view(parsed.error));
    return;
  }
  dispatch(std::move(*parsed.command), now);
}

void ServerSession::dispatch(Command command, Instant /*now*/) {
  const std::string& tag = command.tag;
  auto& body = command.body;
  if (std::holds_alternative<Capability>(body)) {
    send("* CAPABILITY " + capabilities() + "\r\n");
    tagged(tag, "OK", "CAPABILITY completed");
    return;
  }
  if (std::holds_alternative<Logout>(body)) {
    send("* BYE Logging out\r\n");
    tagged(tag, "OK", "LOGOUT completed");
    outputs_.push_back(proto::out::Close{});
    closed_ = true;
    state_ = State::logout;
    return;
  }
  if (auto* id = std::get_if<Id>(&body)) {
    (void)id;  // RFC 2971 §3.1: the client's fields are for logs only; we keep none.
    send("* ID (\"name\" \"Cloudsdial Mail\" \"vendor\" \"Cloudsdial\")\r\n");
    tagged(tag, "OK", "ID completed");
    return;
  }
  if (std::holds_alternative<Noop>(body) && state_ == State::not_authenticated) {
    tagged(tag, "OK", "NOOP completed");
    return;
  }
  if (std::holds_alternative<StartTls>(body)) {
    if (state_ != State::not_authenticated || !config_.starttls_available || config_.tls_active) {
      bad(tag, "STARTTLS not available now");
      return;
    }
    tagged(tag, "OK", "Begin TLS negotiation now");
    outputs_.push_back(proto::out::StartTls{});
    reader_.reset();
    discard_input_ = true;
    tls_pending_ = true;
    return;
  }
  if (auto* compress = std::get_if<Compress>(&body)) {
    // RFC 4978 §5: command-auth, and DEFLATE is the only mechanism (the parser upper-cased it).
    if (!config_.compress_available || state_ == State::not_authenticated) {
      return bad(tag, "COMPRESS is not available now");
    }
    if (compress->mechanism != "DEFLATE") return bad(tag, "Unknown compression mechanism");
    // RFC 4978 §3: the mechanism is already active (here: by an earlier COMPRESS; our TLS
    // never compresses). Dovecot answers the same way.
    if (compress_active_) return tagged(tag, "NO", "[COMPRESSIONACTIVE] DEFLATE active via COMPRESS");
    tagged(tag, "OK", "DEFLATE active");
    outputs_.push_back(proto::out::StartCompress{});
    compress_active_ = true;
    compress_pending_ = true;
    return;
  }
  if (auto* auth = std::get_if<Authenticate>(&body)) {
    if (state_ != State::not_authenticated) return bad(tag, "Already authenticated");
    if (!auth_possible()) return tagged(tag, "NO", "[UNAVAILABLE] Authentication is not configured");
    std::optional<std::string_view> initial;
    if (auth->initial_response) initial = *auth->initial_response;
    start_sasl(tag, auth->mechanism, initial);
    return;
  }
  if (auto* login = std::get_if<Login>(&body)) {
    if (state_ != State::not_authenticated) return bad(tag, "Already authenticated");
    if (!plaintext_ok()) return tagged(tag, "NO", "[PRIVACYREQUIRED] LOGIN is disabled before STARTTLS");
    if (!auth_possible()) return tagged(tag, "NO", "[UNAVAILABLE] Authentication is not configured");
    std::string plain;
    plain.reserve(login->user.size() + login->password.size() + 2);
    plain += '\0';
    plain += login->user;
    plain += '\0';
    plain += login->password;
    const std::string initial = sasl::base64_encode(plain);
    start_sasl(tag, "PLAIN", std::string_view(initial));
    return;
  }
  if (state_ == State::not_authenticated) return bad(tag, "Log in first");
  if (auto* enable = std::get_if<Enable>(&body)) {
    if (state_ != State::authenticated) return bad(tag, "ENABLE is only valid before SELECT (RFC 5161 3.1)");
    auto advertised = [&](std::string_view cap) {
      return std::any_of(config_.capabilities.begin(), config_.capabilities.end(),
                         [&](const std::string& c) { return iequals(c, cap); });
    };
    std::string newly;
    auto turn_on = [&](bool& flag, std::string_view name) {
      if (!flag) {
        flag = true;
        newly += ' ';
        newly += name;
      }
    };
    for (const auto& cap : enable->capabilities) {
      if (iequals(cap, "IMAP4rev2")) turn_on(enabled_.imap4rev2, "IMAP4rev2");
      else if (iequals(cap, "CONDSTORE") && advertised("CONDSTORE")) turn_on(enabled_.condstore, "CONDSTORE");
      else if (iequals(cap, "QRESYNC") && advertised("QRESYNC")) {
        turn_on(enabled_.qresync, "QRESYNC");
        enabled_.condstore = true;  // RFC 7162 §3.2.3: QRESYNC implies CONDSTORE
      } else if (iequals(cap, "UTF8=ACCEPT") && advertised("UTF8=ACCEPT")) {
        turn_on(enabled_.utf8_accept, "UTF8=ACCEPT");
      }
    }
    send("* ENABLED" + newly + "\r\n");
    tagged(tag, "OK", "ENABLE completed");
    return;
  }
  if (std::holds_alternative<Idle>(body)) {
    pending_tag_ = tag;
    idle_id_ = next_id_++;
    events_.push_back(ev::Idle{idle_id_});
    send("+ idling\r\n");
    reader_.expect_raw_line();
    wait_ = Wait::idle;
    return;
  }
  if (needs_selected(body) && state_ != State::selected) return bad(tag, "No mailbox selected");
  pending_tag_ = tag;
  pending_id_ = next_id_++;
  wait_ = Wait::command;
  events_.push_back(ev::Command{pending_id_, std::move(command)});
}

void ServerSession::start_sasl(const std::string& tag, std::string_view mechanism,
                               std::optional<std::string_view> initial) {
  auto mech = sasl::parse_mechanism(mechanism);
  if (!mech) return tagged(tag, "NO", "Unsupported authentication mechanism");
  if (*mech != sasl::Mechanism::scram_sha_256 && !plaintext_ok()) {
    return tagged(tag, "NO", "[PRIVACYREQUIRED] Plaintext authentication is disabled before STARTTLS");
  }
  pending_tag_ = tag;
  mechanism_name_ = std::string(sasl::to_string(*mech));
  sasl_ = std::make_unique<sasl::SaslServer>(*config_.crypto, *config_.credentials, config_.sasl);
  sasl_step(sasl_->start(mechanism, initial));
}

void ServerSession::sasl_step(const sasl::Step& step) {
  switch (step.kind) {
    case sasl::Step::Kind::challenge:
      send("+ " + step.challenge_b64 + "\r\n");
      reader_.expect_raw_line();
      wait_ = Wait::sasl_line;
      return;
    case sasl::Step::Kind::success:
    case sasl::Step::Kind::failure: break;
  }
  if (step.kind == sasl::Step::Kind::failure &&
      (step.failure == sasl::Failure::cancelled || step.failure == sasl::Failure::malformed ||
       step.failure == sasl::Failure::too_long || step.failure == sasl::Failure::unknown_mechanism)) {
    wait_ = Wait::none;
    sasl_.reset();
    // RFC 9051 §6.2.2: a cancelled exchange is rejected with BAD.
    if (step.failure == sasl::Failure::unknown_mechanism) return tagged(pending_tag_, "NO", "Unsupported authentication mechanism");
    return bad(pending_tag_, step.failure == sasl::Failure::cancelled ? "Authentication cancelled"
                                                                      : "Invalid SASL response");
  }
  pending_id_ = next_id_++;
  wait_ = Wait::auth;
  pending_user_ = step.authcid;
  pending_auth_ok_ = step.kind == sasl::Step::Kind::success;
  events_.push_back(ev::Auth{pending_id_, step.kind == sasl::Step::Kind::success, step.authcid, mechanism_name_});
  sasl_.reset();
}

void ServerSession::on_raw_line(std::string line, Instant now) {
  if (wait_ == Wait::sasl_line) {
    MAIL_ASSERT(sasl_ != nullptr);
    sasl_step(sasl_->step(line));
    return;
  }
  if (wait_ == Wait::idle) {
    // RFC 2177 §3: "DONE" ends IDLE; anything else is a protocol error.
    wait_ = Wait::idle_done;
    events_.push_back(ev::IdleDone{idle_id_, iequals(line, "DONE")});
    pending_id_ = idle_id_;
    idle_id_ = 0;
    return;
  }
  (void)now;
  MAIL_ASSERT(false && "raw line outside SASL and IDLE");
}

void ServerSession::complete(std::uint64_t id, Response response, Instant now) {
  if (closed_) return;  // the client is gone or was told BYE: nothing more to say
  MAIL_ASSERT(id == pending_id_ && (wait_ == Wait::command || wait_ == Wait::idle_done));
  touch(now);
  wait_ = Wait::none;
  pending_id_ = 0;
  send(std::move(response.untagged));
  std::string_view status = response.status == Response::Status::ok   ? "OK"
                            : response.status == Response::Status::no ? "NO"
                                                                      : "BAD";
  if (response.status == Response::Status::bad) bad(pending_tag_, response.text);
  else tagged(pending_tag_, status, response.text);
  if (response.next_state && !closed_) state_ = *response.next_state;
  if (response.close) bye("Closing the connection");
  else if (shutdown_requested_) bye("Server shutting down");
}

void ServerSession::complete_auth(std::uint64_t id, bool accepted, Instant now, std::string_view refusal) {
  if (closed_) return;
  MAIL_ASSERT(id == pending_id_ && wait_ == Wait::auth);
  // The application may refuse a good login (lockout) but never admit a failed one.
  MAIL_ASSERT(!accepted || pending_auth_ok_);
  touch(now);
  wait_ = Wait::none;
  pending_id_ = 0;
  if (accepted) {
    user_ = pending_user_;
    state_ = State::authenticated;
    // The reader is between commands (feed() stopped after the login): now the configured
    // literal limits apply (APPEND).
    MAIL_ASSERT(reader_.idle());
    reader_ = CommandReader(config_.reader);
    tagged(pending_tag_, "OK", "[CAPABILITY " + capabilities() + "] Logged in");
  } else if (!refusal.empty() && pending_auth_ok_) {
    tagged(pending_tag_, "NO", refusal);
  } else {
    tagged(pending_tag_, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
  }
  if (shutdown_requested_) bye("Server shutting down");
}

void ServerSession::send_untagged(std::string lines) {
  if (closed_ || lines.empty()) return;
  // While IDLE runs, or after DONE before its tagged answer (still before the OK).
  MAIL_ASSERT(wait_ == Wait::idle || wait_ == Wait::idle_done);
  send(std::move(lines));
}

void ServerSession::send_progress(std::uint64_t id, std::string lines) {
  if (closed_ || lines.empty()) return;
  MAIL_ASSERT(id == pending_id_ && wait_ == Wait::command);
  send(std::move(lines));
}

std::optional<Instant> ServerSession::poll_timeout() const {
  if (closed_) return std::nullopt;
  switch (wait_) {
    case Wait::command:
    case Wait::auth:
    case Wait::idle_done: return std::nullopt;  // the application is answering
    case Wait::idle: return last_activity_ + config_.idle_timeout;
    case Wait::none:
    case Wait::sasl_line: break;
  }
  // Before login the deadline is absolute: a client trickling bytes must not hold a
  // connection open without ever logging in (Dovecot's login timeout is not reset either).
  if (state_ == State::not_authenticated) return connected_at_ + config_.login_timeout;
  return last_activity_ + config_.autologout;
}

void ServerSession::handle_timeout(Instant now) {
  auto deadline = poll_timeout();
  if (!deadline || now < *deadline) return;
  if (tls_pending_) {
    // Mid-handshake nothing can be said in plaintext: just close.
    closed_ = true;
    state_ = State::logout;
    outputs_.push_back(proto::out::Close{});
    return;
  }
  bye("Autologout; idle for too long");
}

void ServerSession::tls_established(Instant now) {
  tls_pending_ = false;
  touch(now);
  config_.tls_active = true;
  config_.starttls_available = false;
}

void ServerSession::compress_established(Instant now) {
  MAIL_ASSERT(compress_pending_);
  compress_pending_ = false;
  touch(now);
}

void ServerSession::shutdown(Instant /*now*/, bool force) {
  if (closed_) return;
  if (force || wait_ == Wait::none || wait_ == Wait::idle || wait_ == Wait::sasl_line) {
    bye("Server shutting down");
    return;
  }
  shutdown_requested_ = true;
}

}  // namespace mail::imap
