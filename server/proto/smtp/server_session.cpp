// smtp::ServerSession core: the public API, the one transition function enter(), output
// and error budget, and the input loop that frames commands, DATA and BDAT content.
// Must not do I/O, read a clock, draw randomness or throw; memory is bounded by the
// limits whatever the input. RFC 5321 §4.1.4 (order), §4.5.3.2 (timeouts), RFC 2920 §3.2
// (replies in command order), RFC 3207 §4.2 + CVE-2011-0411 (discard input after STARTTLS).
#include "proto/smtp/server_session.h"

#include <algorithm>

#include "core/assert.h"
#include "proto/smtp/session_impl.h"

namespace mail::smtp {

namespace {
constexpr std::size_t kHistoryMax = 32;


Reply simple(std::uint16_t code, EnhancedCode enh, std::string text) { return Reply::make(code, enh, std::move(text)); }
}  // namespace

std::string_view to_string(State s) noexcept {
  switch (s) {
    case State::greeting: return "greeting";
    case State::ready: return "ready";
    case State::mail: return "mail";
    case State::rcpt: return "rcpt";
    case State::data: return "data";
    case State::bdat: return "bdat";
    case State::tls_handshake: return "tls_handshake";
    case State::closed: return "closed";
  }
  return "invalid";
}

std::string refuse_connection_bytes(std::string_view hostname, std::string_view why) {
  std::string text = std::string(hostname) + " Error: " + std::string(why);
  // The reason may come from a config or a peer address; it must not end the line early.
  std::replace(text.begin(), text.end(), '\r', ' ');
  std::replace(text.begin(), text.end(), '\n', ' ');
  return simple(421, {4, 7, 0}, std::move(text)).to_wire(true);
}

// ---------------------------------------------------------------------------------------
// Impl: construction, transitions, output.

ServerSession::Impl::Handler ServerSession::Impl::handler_for(Verb verb) noexcept {
  // The handler half of the command table (command.h), in Verb order.
  struct Dispatch {
    Verb verb;
    Handler handler;
  };
  static constexpr std::array<Dispatch, kVerbCount> kDispatch = {{
      {Verb::ehlo, &Impl::on_ehlo},
      {Verb::helo, &Impl::on_helo},
      {Verb::mail, &Impl::on_mail},
      {Verb::rcpt, &Impl::on_rcpt},
      {Verb::data, &Impl::on_data},
      {Verb::bdat, &Impl::on_bdat},
      {Verb::rset, &Impl::on_rset},
      {Verb::noop, &Impl::on_noop},
      {Verb::quit, &Impl::on_quit},
      {Verb::vrfy, &Impl::on_vrfy},
      {Verb::expn, &Impl::on_expn},
      {Verb::help, &Impl::on_help},
      {Verb::starttls, &Impl::on_starttls},
      {Verb::auth, &Impl::on_auth},
      {Verb::forbidden, &Impl::on_forbidden},
  }};
  static_assert([] {
    for (std::size_t i = 0; i < kDispatch.size(); ++i)
      if (static_cast<std::size_t>(kDispatch[i].verb) != i) return false;
    return true;
  }());
  const auto index = static_cast<std::size_t>(verb);
  MAIL_ASSERT(index < kDispatch.size());
  MAIL_ASSERT(kDispatch[index].handler != nullptr);
  return kDispatch[index].handler;
}

ServerSession::Impl::Impl(ServerConfig config, SessionInfo info, Instant now)
    : config_(std::move(config)),
      info_(std::move(info)),
      now_(now),
      activity_(now),
      line_reader_(config_.limits.command_line_bytes_max, config_.limits.command_line_bytes_tolerated) {
  MAIL_ASSERT(config_.limits.recipients_max >= 1);
  MAIL_ASSERT(config_.limits.errors_max >= 1);
  MAIL_ASSERT(config_.hostname.find_first_of("\r\n") == std::string::npos);
  tls_active_ = info_.tls;
  // RFC 5321 §4.2, §3.1: the greeting; RFC 2034 §3 (4): no enhanced code on it.
  send(simple(220, {}, config_.hostname + " " + config_.greeting_text));
}

bool ServerSession::Impl::legal_edge(State from, State to) noexcept {
  if (from == to) return false;  // enter() is only for changes
  if (to == State::closed) return from != State::closed;
  switch (from) {
    case State::greeting: return to == State::ready || to == State::tls_handshake;
    case State::ready: return to == State::mail || to == State::tls_handshake;
    case State::mail: return to == State::rcpt || to == State::ready;
    case State::rcpt: return to == State::data || to == State::bdat || to == State::ready;
    case State::data: return to == State::ready;
    case State::bdat: return to == State::ready;
    case State::tls_handshake: return to == State::greeting;
    case State::closed: return false;
  }
  return false;
}

void ServerSession::Impl::enter(State next) {
  MAIL_ASSERT(legal_edge(state_, next));
  std::string entry;
  entry.reserve(32);
  entry.append(to_string(state_)).append(" -> ").append(to_string(next));
  history_.push_back(std::move(entry));
  if (history_.size() > kHistoryMax) history_.pop_front();
  state_ = next;
  MAIL_ASSERT(history_.size() <= kHistoryMax);
}

void ServerSession::Impl::send(const Reply& r) {
  MAIL_ASSERT(state_ != State::closed);
  MAIL_ASSERT(!r.lines.empty());
  if (r.code >= 400 && r.code != 421 && !answering_.empty()) emit_rejected(r);
  outputs_.push_back(out::Send{r.to_wire(config_.enhanced_status_codes)});
}

namespace {
// At most this much of a refused command's argument goes into the event (and the log).
constexpr std::size_t kRejectedArgumentBytesMax = 200;

std::string printable(std::string_view s) {
  std::string out(s.substr(0, kRejectedArgumentBytesMax));
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  if (s.size() > kRejectedArgumentBytesMax) out += "...";
  return out;
}
}  // namespace

void ServerSession::Impl::emit_rejected(const Reply& r) {
  MAIL_ASSERT(r.code >= 400);
  MAIL_ASSERT(!answering_.empty());
  ev::Rejected e;
  e.stage = std::string(answering_);
  e.reply = r;
  e.argument = printable(!answering_arg_.empty() ? answering_arg_ : std::string_view(answering_path_));
  e.in_transaction = state_ == State::mail || state_ == State::rcpt || state_ == State::data || state_ == State::bdat;
  if (e.in_transaction && tx_.envelope.mail_from.mailbox) e.mail_from = tx_.envelope.mail_from.mailbox->to_string();
  e.helo = printable(helo_);
  emit(std::move(e));
}

void ServerSession::Impl::send_error(const Reply& r) {
  MAIL_ASSERT(r.code >= 400);
  MAIL_ASSERT(state_ != State::closed);
  ++errors_;
  // Postfix smtpd_soft_error_limit / smtpd_error_sleep_time: slow a misbehaving client.
  if (errors_ > config_.limits.errors_before_delay) outputs_.push_back(out::Pause{now_ + config_.limits.error_delay});
  send(r);
  if (errors_ >= config_.limits.errors_max) {
    send(simple(421, {4, 7, 0}, config_.hostname + " Error: too many errors"));
    close("too many errors");
  }
}

void ServerSession::Impl::send_fatal(const Reply& r, std::string reason) {
  MAIL_ASSERT(r.code >= 400);
  MAIL_ASSERT(state_ != State::closed);
  ++errors_;
  if (errors_ > config_.limits.errors_before_delay) outputs_.push_back(out::Pause{now_ + config_.limits.error_delay});
  send(r);
  close(std::move(reason));
}

void ServerSession::Impl::send_refusal(const Reply& verdict) {
  MAIL_ASSERT(!verdict.positive());
  MAIL_ASSERT(state_ != State::closed);
  if (verdict.code == 421) {
    // RFC 5321 §3.8: 421 means the server is closing the channel.
    send(verdict);
    close("421 from application");
    return;
  }
  // A permanent refusal is the client's doing (unknown user, bad sender) and counts, as in
  // Postfix; a temporary one is ours (greylisting, a lookup failure) and does not.
  if (verdict.permanent()) {
    send_error(verdict);
  } else {
    send(verdict);
  }
}

void ServerSession::Impl::close(std::string reason) {
  MAIL_ASSERT(state_ != State::closed);
  // A transaction still open is dropped: no Message event (an event already emitted stays
  // with the application; its complete() will be ignored).
  tx_ = ServerTransaction{};
  pending_.reset();
  auth_.reset();
  chunk_active_ = false;
  discard_remaining_ = 0;
  after_discard_.reset();
  std::string().swap(inbuf_);  // a closed session may linger in the driver: keep nothing
  inpos_ = 0;
  line_reader_.reset();
  enter(State::closed);
  outputs_.push_back(out::Close{});
  emit(ev::Closed{std::move(reason)});
  MAIL_ASSERT(inbuf_.empty());
}

void ServerSession::Impl::reset_transaction(bool notify) {
  const bool had = state_ == State::mail || state_ == State::rcpt || state_ == State::data || state_ == State::bdat;
  tx_ = ServerTransaction{};
  chunk_active_ = false;
  chunk_remaining_ = 0;
  if (had) {
    enter(State::ready);
    if (notify) emit(ev::TransactionReset{});
  }
  MAIL_ASSERT(!tx_.content.has_value());
}

Extensions ServerSession::Impl::extensions() const noexcept {
  Extensions e;
  e.message_bytes_max = config_.limits.message_bytes_max;
  // After HELO no service extension may be used (RFC 5321 §4.1.1.1, RFC 1869): every
  // parameter is then unrecognised (555).
  e.size = extended_;
  e.eight_bit_mime = extended_ && config_.eight_bit_mime;
  e.binary_mime = extended_ && config_.binary_mime && config_.chunking;  // RFC 3030 §3 (3)
  e.smtputf8 = extended_ && config_.smtputf8;
  e.dsn = extended_ && config_.dsn;
  e.auth = auth_offered();  // RFC 4954 §5: the AUTH parameter only where AUTH is offered
  return e;
}

Reply ServerSession::Impl::sequence_error(Verb verb) const {
  MAIL_ASSERT(state_ != State::closed);
  MAIL_ASSERT(state_ != State::data);
  // RFC 5321 §4.1.4: a mail transaction starts with EHLO; 503 for commands out of order.
  if (state_ == State::greeting) return simple(503, {5, 5, 1}, "Error: send HELO/EHLO first");
  switch (verb) {
    case Verb::mail:
      return simple(503, {5, 5, 1}, "Error: nested MAIL command");
    case Verb::rcpt:
      if (state_ == State::bdat) return simple(503, {5, 5, 1}, "Error: RCPT after BDAT (RFC 3030 section 2)");
      return simple(503, {5, 5, 1}, "Error: need MAIL command");
    case Verb::data:
    case Verb::bdat:
      if (state_ == State::bdat) return simple(503, {5, 5, 1}, "Error: DATA after BDAT (RFC 3030 section 2)");
      // RFC 5321 §3.3: MAIL was accepted but no RCPT was: "no valid recipients" (554).
      if (state_ == State::mail) return simple(554, {5, 5, 1}, "Error: no valid recipients");
      return simple(503, {5, 5, 1}, "Error: need RCPT command");
    case Verb::starttls:
      return simple(503, {5, 5, 1}, "Error: MAIL transaction in progress");
    default:
      return simple(503, {5, 5, 1}, "Error: bad sequence of commands");
  }
}

void ServerSession::Impl::maybe_finish_shutdown() {
  if (!shutdown_requested_ || state_ == State::closed || pending_) return;
  if (state_ == State::greeting || state_ == State::ready) {
    send(simple(421, {4, 3, 2}, config_.hostname + " Service shutting down"));
    close("shutdown");
  }
}

// ---------------------------------------------------------------------------------------
// Input.

void ServerSession::Impl::advance(std::size_t n) noexcept {
  MAIL_ASSERT(inpos_ + n <= inbuf_.size());
  inpos_ += n;
}

void ServerSession::Impl::compact() {
  MAIL_ASSERT(inpos_ <= inbuf_.size());
  if (inpos_ == 0) return;
  inbuf_.erase(0, inpos_);
  inpos_ = 0;
  // A large block that was consumed should not pin its capacity for the whole session.
  if (inbuf_.capacity() > 2 * static_cast<std::size_t>(config_.limits.pipelined_input_bytes_max) + 4096 &&
      inbuf_.size() < inbuf_.capacity() / 4) {
    inbuf_.shrink_to_fit();
  }
}

bool ServerSession::Impl::process_content() {
  // A refused BDAT's chunk: read and drop exactly its size, then the deferred reply.
  if (discard_remaining_ > 0 || after_discard_) {
    const std::uint64_t take = std::min<std::uint64_t>(discard_remaining_, unread().size());
    advance(static_cast<std::size_t>(take));
    discard_remaining_ -= take;
    if (take > 0) activity_ = now_;
    if (discard_remaining_ > 0) return false;
    MAIL_ASSERT(after_discard_.has_value());
    Reply r = std::move(*after_discard_);
    after_discard_.reset();
    send_error(r);
    return true;
  }
  if (state_ == State::data) {
    MAIL_ASSERT(tx_.content.has_value());
    const DataReadResult r = tx_.data_reader.read(unread(), *tx_.content);
    advance(r.consumed);
    if (r.consumed > 0) activity_ = now_;  // §4.5.3.2.5: a timer per data block
    if (!r.done) return false;
    finish_message();
    return true;
  }
  MAIL_ASSERT(state_ == State::bdat);
  MAIL_ASSERT(chunk_active_);
  const std::uint64_t take = std::min<std::uint64_t>(chunk_remaining_, unread().size());
  tx_.content->append(unread().substr(0, static_cast<std::size_t>(take)));
  advance(static_cast<std::size_t>(take));
  chunk_remaining_ -= take;
  if (take > 0) activity_ = now_;
  if (chunk_remaining_ > 0) return false;
  finish_chunk();
  return true;
}

void ServerSession::Impl::process() {
  MAIL_ASSERT(inpos_ <= inbuf_.size());
  while (state_ != State::closed && state_ != State::tls_handshake && !pending_) {
    const bool in_content = discard_remaining_ > 0 || after_discard_.has_value() || state_ == State::data ||
                            (state_ == State::bdat && chunk_active_);
    if (in_content) {
      if (!process_content()) break;
      continue;
    }
    // Between commands: a graceful shutdown takes effect here (not inside a transaction).
    maybe_finish_shutdown();
    if (state_ == State::closed) break;
    if (auth_) {
      if (!process_auth_line()) break;
      continue;
    }
    const LineResult lr = line_reader_.next(unread());
    // Copy the line: handlers may clear the input buffer (STARTTLS, close).
    const std::string line(lr.line);
    advance(lr.consumed);
    switch (lr.status) {
      case LineStatus::need_more:
        return;
      case LineStatus::line:
        process_line(line);
        activity_ = now_;  // the next wait starts now (a partial line does not restart it)
        break;
      case LineStatus::too_long:
        // RFC 5321 §4.5.3.1.4 / §4.5.3.1.10 "500 Line too long".
        send_error(simple(500, {5, 5, 2}, "Error: line too long"));
        activity_ = now_;
        break;
      case LineStatus::too_long_fatal:
        send_fatal(simple(500, {5, 5, 2}, "Error: line too long"), "command line too long");
        break;
      case LineStatus::bare_lf:
        // RFC 5321 §2.3.8; Postfix smtpd_forbid_bare_newline: never guess where a line ends.
        send_fatal(simple(500, {5, 5, 2}, "Error: bare <LF> received"), "bare LF in command");
        break;
      case LineStatus::bare_cr:
        send_fatal(simple(500, {5, 5, 2}, "Error: bare <CR> received"), "bare CR in command");
        break;
    }
  }
}

void ServerSession::Impl::process_line(std::string_view line) {
  MAIL_ASSERT(state_ != State::closed);
  MAIL_ASSERT((kCommandStates & state_bit(state_)) != 0);
  answering_ = "UNKNOWN";
  answering_arg_ = {};
  answering_path_.clear();
  dispatch_line(line);
  answering_arg_ = {};  // it views inbuf_, which moves on
}

void ServerSession::Impl::dispatch_line(std::string_view line) {
  switch (line_defect(line)) {
    case LineDefect::nul:
      send_error(simple(500, {5, 5, 2}, "Error: NUL character in command"));
      return;
    case LineDefect::empty:
      send_error(simple(500, {5, 5, 2}, "Error: bad syntax"));
      return;
    case LineDefect::none:
      break;
  }
  const Command cmd = parse_command(line);
  if (cmd.spec == nullptr) {
    send_error(simple(500, {5, 5, 2}, "Error: command not recognized"));
    return;
  }
  // AUTH failures are logged with the AUTH verdict (ev::Auth), not twice.
  answering_ = cmd.spec->id == Verb::auth ? std::string_view() : cmd.spec->verb;
  answering_arg_ = cmd.arg;
  if (cmd.spec->id == Verb::forbidden) {
    on_forbidden(cmd);
    return;
  }
  if (cmd.spec->id == Verb::data) {
    // Whatever DATA's fate, bytes the client sent with it are content it did not wait to
    // send; after a refused DATA they would run as commands. Checked in every state.
    if (auto err = check_data_sync()) {
      send_fatal(*err, "improper command pipelining after DATA");
      return;
    }
  }
  if (cmd.spec->junk) {
    // Postfix smtpd_junk_command_limit: a client that only chatters is cut off.
    if (junk_ >= config_.limits.junk_commands_max) {
      send(simple(421, {4, 7, 0}, config_.hostname + " Error: too many junk commands"));
      close("too many junk commands");
      return;
    }
    ++junk_;
  }
  if ((cmd.spec->allowed & state_bit(state_)) == 0) {
    send_error(sequence_error(cmd.spec->id));
    return;
  }
  (this->*handler_for(cmd.spec->id))(cmd);
}

// ---------------------------------------------------------------------------------------
// Public API.

ServerSession::ServerSession(ServerConfig config, SessionInfo info, Instant now)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(info), now)) {}

ServerSession::~ServerSession() = default;

std::size_t ServerSession::feed(std::string_view in, Instant now) {
  Impl& s = *impl_;
  s.now_ = now;
  // Closed, or between STARTTLS and the handshake: everything is dropped (CVE-2011-0411:
  // plaintext sent after STARTTLS must never be read as commands under TLS).
  if (s.state_ == State::closed || s.state_ == State::tls_handshake) {
    s.input_held_ = false;
    return in.size();
  }
  const std::size_t cap = s.config_.limits.pipelined_input_bytes_max;
  std::size_t taken = 0;
  while (taken < in.size()) {
    if (s.state_ == State::closed || s.state_ == State::tls_handshake) {
      taken = in.size();
      break;
    }
    const std::size_t rest = in.size() - taken;
    if (s.pending_) {
      // RFC 2920: later commands wait for the verdict; keep at most `cap` bytes of them.
      const std::size_t held = s.unread().size();
      const std::size_t take = held >= cap ? 0 : std::min(rest, cap - held);
      s.compact();
      s.inbuf_.append(in.substr(taken, take));
      taken += take;
      break;
    }
    // Move a bounded block in and process it; what stays is at most a partial command line.
    const std::size_t take = std::min(rest, std::max<std::size_t>(cap, 1));
    s.compact();
    s.inbuf_.append(in.substr(taken, take));
    taken += take;
    // The rest of `in` was received with this block: a DATA line at the block's end is
    // still followed by input (RFC 2920 §3.1, check_data_sync).
    s.input_held_ = taken < in.size();
    s.process();
  }
  // What is not taken stays with the driver, to be fed after complete(): it follows
  // whatever the buffered commands are, and was sent before any reply to them.
  s.input_held_ = taken < in.size();
  s.compact();
  MAIL_ASSERT(taken <= in.size());
  MAIL_ASSERT(taken > 0 || in.empty() || s.pending_);
  return taken;
}

void ServerSession::feed_eof(Instant now) {
  Impl& s = *impl_;
  s.now_ = now;
  if (s.state_ == State::closed) return;
  s.close("client closed connection");
  MAIL_ASSERT(s.state_ == State::closed);
}

std::optional<Output> ServerSession::poll_output() {
  if (impl_->outputs_.empty()) return std::nullopt;
  Output o = std::move(impl_->outputs_.front());
  impl_->outputs_.pop_front();
  return o;
}

std::optional<Event> ServerSession::poll_event() {
  if (impl_->events_.empty()) return std::nullopt;
  Event e = std::move(impl_->events_.front());
  impl_->events_.pop_front();
  return e;
}

std::optional<Instant> ServerSession::poll_timeout() const {
  const Impl& s = *impl_;
  // While the application decides, the client is waiting on us: no client timeout.
  if (s.state_ == State::closed || s.pending_) return std::nullopt;
  const SmtpLimits& l = s.config_.limits;
  // RFC 5321 §4.5.3.2: per data block while content flows, else per command.
  const bool content = s.state_ == State::data || (s.state_ == State::bdat && s.chunk_active_) ||
                       s.discard_remaining_ > 0;
  if (content) return s.activity_ + l.data_block_timeout;
  if (s.state_ == State::greeting) return s.activity_ + l.initial_idle_timeout;
  return s.activity_ + l.command_timeout;
}

void ServerSession::handle_timeout(Instant now) {
  Impl& s = *impl_;
  const std::optional<Instant> deadline = poll_timeout();
  if (!deadline || now < *deadline) return;
  s.now_ = now;
  if (s.state_ == State::tls_handshake) {
    // Mid-handshake nothing plaintext can be said.
    s.close("timeout");
    return;
  }
  // Postfix: "421 4.4.2 <host> Error: timeout exceeded" (RFC 3463 4.4.2).
  s.send(simple(421, {4, 4, 2}, s.config_.hostname + " Error: timeout exceeded"));
  s.close("timeout");
  MAIL_ASSERT(s.state_ == State::closed);
}

void ServerSession::complete(EventId id, Reply verdict, Instant now) {
  Impl& s = *impl_;
  if (s.state_ == State::closed) return;  // the session ended while the application worked
  MAIL_ASSERT(s.pending_.has_value());
  MAIL_ASSERT(s.pending_->id == id);
  MAIL_ASSERT(verdict.code >= 200);
  MAIL_ASSERT(verdict.code < 600);
  MAIL_ASSERT(verdict.code / 100 != 3);  // no 354 from the application
  s.now_ = now;
  s.activity_ = now;
  PendingVerdict p = std::move(*s.pending_);
  s.pending_.reset();
  // A refusal of MAIL or RCPT is logged (ev::Rejected) with the path; AUTH's and the
  // whole message's verdicts are logged by the application.
  s.answering_ = p.kind == Verb::mail ? "MAIL" : p.kind == Verb::rcpt ? "RCPT" : "";
  if (!verdict.positive() && (p.kind == Verb::mail || p.kind == Verb::rcpt)) s.answering_path_ = p.path.to_string();
  switch (p.kind) {
    case Verb::mail: s.verdict_mail(std::move(p), std::move(verdict)); break;
    case Verb::rcpt: s.verdict_rcpt(std::move(p), std::move(verdict)); break;
    case Verb::auth: s.verdict_auth(std::move(p), std::move(verdict)); break;
    case Verb::data:
    case Verb::bdat: s.verdict_message(std::move(p), std::move(verdict)); break;
    default: MAIL_UNREACHABLE();
  }
  // Pipelined commands that waited for this verdict run now (RFC 2920 §3.2 (1): in order).
  s.process();
  s.maybe_finish_shutdown();
  s.compact();
}

void ServerSession::tls_established(Instant now) {
  Impl& s = *impl_;
  if (s.state_ == State::closed) return;
  MAIL_ASSERT(s.state_ == State::tls_handshake);
  s.now_ = now;
  s.activity_ = now;
  // RFC 3207 §4.2: discard all knowledge obtained from the client before TLS; a new EHLO
  // is required. The input was already discarded at STARTTLS.
  s.tls_active_ = true;
  s.auth_identity_.clear();
  s.auth_.reset();
  s.helo_.clear();
  s.extended_ = false;
  s.tx_ = ServerTransaction{};
  s.inbuf_.clear();
  s.inpos_ = 0;
  s.line_reader_.reset();
  s.enter(State::greeting);
  s.maybe_finish_shutdown();
  MAIL_ASSERT(s.unread().empty());
}

void ServerSession::shutdown(Instant now, bool force) {
  Impl& s = *impl_;
  if (s.state_ == State::closed) return;
  s.now_ = now;
  if (s.state_ == State::tls_handshake) {
    s.close("shutdown");  // no plaintext reply can be sent mid-handshake
    return;
  }
  if (force) {
    s.send(simple(421, {4, 3, 2}, s.config_.hostname + " Service shutting down"));
    s.close("shutdown");
    return;
  }
  s.shutdown_requested_ = true;
  s.maybe_finish_shutdown();
}

State ServerSession::state() const noexcept { return impl_->state_; }

const std::string& ServerSession::auth_identity() const noexcept { return impl_->auth_identity_; }

bool ServerSession::in_transaction() const noexcept {
  const State st = impl_->state_;
  return st == State::mail || st == State::rcpt || st == State::data || st == State::bdat;
}

std::size_t ServerSession::buffered_bytes() const noexcept {
  const Impl& s = *impl_;
  const std::size_t content = s.tx_.content ? s.tx_.content->stored_bytes() : 0;
  return s.unread().size() + content;
}

const std::deque<std::string>& ServerSession::history() const noexcept { return impl_->history_; }

}  // namespace mail::smtp
