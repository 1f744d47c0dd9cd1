// smtp::ClientSession implementation: greeting -> EHLO (HELO fallback) -> [STARTTLS ->
// EHLO] -> [AUTH] -> per transaction MAIL / RCPT... / DATA or BDAT -> QUIT (RFC 5321 §3, §4.1, §4.2,
// §4.5.3.2; RFC 2920, 3030, 3207, 4954). This file: the transition function, output, results, the
// reply dispatch and the public API; each stage is in client/*.cpp. It must not do I/O,
// read a clock, throw, send a bare CR or LF, or let the server's bytes grow its memory past
// the reply parser's limits.
#include "proto/smtp/client_session.h"

#include <algorithm>
#include <utility>

#include "core/assert.h"
#include "proto/smtp/client_session_impl.h"

namespace mail::smtp {

std::string_view to_string(ClientState s) noexcept {
  switch (s) {
    case ClientState::greeting: return "greeting";
    case ClientState::ehlo: return "ehlo";
    case ClientState::helo: return "helo";
    case ClientState::starttls: return "starttls";
    case ClientState::tls_handshake: return "tls_handshake";
    case ClientState::auth: return "auth";
    case ClientState::ready: return "ready";
    case ClientState::mail: return "mail";
    case ClientState::rcpt: return "rcpt";
    case ClientState::data: return "data";
    case ClientState::data_end: return "data_end";
    case ClientState::bdat: return "bdat";
    case ClientState::rset: return "rset";
    case ClientState::quit: return "quit";
    case ClientState::closed: return "closed";
  }
  return "unknown";
}

namespace {

constexpr std::size_t kHistoryMax = 64;

// Legal transitions, one bit per target state (STYLE habit 5).
constexpr std::uint32_t bit(ClientState s) noexcept { return 1u << static_cast<unsigned>(s); }
constexpr std::uint32_t kClosed = bit(ClientState::closed);

constexpr std::uint32_t legal_targets(ClientState from) noexcept {
  using S = ClientState;
  switch (from) {
    case S::greeting: return bit(S::ehlo) | bit(S::quit) | kClosed;
    case S::ehlo: return bit(S::helo) | bit(S::starttls) | bit(S::auth) | bit(S::ready) | bit(S::quit) | kClosed;
    case S::helo: return bit(S::ready) | bit(S::quit) | kClosed;
    case S::starttls: return bit(S::tls_handshake) | bit(S::auth) | bit(S::ready) | bit(S::quit) | kClosed;
    case S::tls_handshake: return bit(S::ehlo) | kClosed;
    case S::auth: return bit(S::ready) | bit(S::quit) | kClosed;
    case S::ready: return bit(S::mail) | bit(S::quit) | kClosed;
    case S::mail: return bit(S::rcpt) | bit(S::ready) | kClosed;
    case S::rcpt: return bit(S::data) | bit(S::bdat) | bit(S::rset) | bit(S::ready) | kClosed;
    case S::data: return bit(S::data_end) | bit(S::rset) | bit(S::ready) | kClosed;
    case S::data_end: return bit(S::ready) | kClosed;
    case S::bdat: return bit(S::rset) | bit(S::ready) | kClosed;
    case S::rset: return bit(S::ready) | bit(S::quit) | kClosed;
    case S::quit: return kClosed;
    case S::closed: return 0;
  }
  return 0;
}
static_assert((legal_targets(ClientState::closed) & kClosed) == 0, "closed is final");
static_assert(static_cast<unsigned>(ClientState::closed) < 32);

}  // namespace

std::string_view to_string(Cmd c) noexcept {
  switch (c) {
    case Cmd::greeting: return "greeting";
    case Cmd::ehlo: return "EHLO";
    case Cmd::helo: return "HELO";
    case Cmd::starttls: return "STARTTLS";
    case Cmd::auth: return "AUTH";
    case Cmd::mail: return "MAIL";
    case Cmd::rcpt: return "RCPT";
    case Cmd::data: return "DATA";
    case Cmd::dot: return "end of data";
    case Cmd::bdat: return "BDAT";
    case Cmd::bdat_last: return "BDAT LAST";
    case Cmd::rset: return "RSET";
    case Cmd::quit: return "QUIT";
  }
  return "?";
}

bool is_2xx(const Reply& r) noexcept { return r.code / 100 == 2; }

Reply local_reply(std::uint16_t code, std::uint8_t subject, std::uint16_t detail, std::string text) {
  MAIL_ASSERT(code >= 400);
  MAIL_ASSERT(code <= 599);
  // A local text becomes a Reply line: it must not carry line breaks (reply injection).
  std::replace(text.begin(), text.end(), '\r', ' ');
  std::replace(text.begin(), text.end(), '\n', ' ');
  return Reply::make(code, EnhancedCode{static_cast<std::uint8_t>(code / 100), subject, detail}, std::move(text));
}

std::string reply_summary(const Reply& r) {
  std::string s = std::to_string(r.code);
  if (!r.lines.empty() && !r.lines.front().empty()) {
    s.push_back(' ');
    s.append(r.lines.front(), 0, std::min<std::size_t>(r.lines.front().size(), 200));
  }
  return s;
}

ClientSession::Impl::Impl(ClientConfig c, Instant now) : cfg(std::move(c)), parser(cfg.reply_limits), tls(cfg.tls_active) {
  // The EHLO argument is configuration, not peer input: a bad one is a programmer error
  // (bindings validate with is_valid_domain / is_valid_address_literal first).
  MAIL_ASSERT(is_valid_domain(cfg.helo_name, false) || is_valid_address_literal(cfg.helo_name));
  MAIL_ASSERT(cfg.chunk_bytes > 0);
  MAIL_ASSERT(!cfg.auth || is_valid_client_auth(*cfg.auth));
  inflight.push_back({Cmd::greeting, 0});
  rearm(now);
}

void ClientSession::Impl::enter(ClientState next) {
  MAIL_ASSERT((legal_targets(st) & bit(next)) != 0);
  std::string line;
  line.append(to_string(st)).append(" -> ").append(to_string(next));
  if (hist.size() == kHistoryMax) hist.pop_front();
  hist.push_back(std::move(line));
  st = next;
  MAIL_ASSERT(hist.size() <= kHistoryMax);
}

void ClientSession::Impl::send_bytes(std::string_view bytes) {
  if (bytes.empty()) return;
  if (!out.empty()) {
    if (auto* s = std::get_if<out::Send>(&out.back())) {
      s->bytes.append(bytes);
      return;
    }
  }
  out.emplace_back(out::Send{std::string(bytes)});
}

void ClientSession::Impl::expect(Cmd cmd, std::uint32_t index, Instant now) {
  const bool was_empty = inflight.empty();
  inflight.push_back({cmd, index});
  if (was_empty) rearm(now);
}

void ClientSession::Impl::send_cmd(std::string line, Cmd cmd, std::uint32_t index, Instant now) {
  // Our command lines never hold a CR or LF: everything in them was validated or encoded.
  MAIL_ASSERT(line.find('\r') == std::string::npos);
  MAIL_ASSERT(line.find('\n') == std::string::npos);
  line.append("\r\n");
  send_bytes(line);
  expect(cmd, index, now);
}

Duration ClientSession::Impl::timeout_for(Cmd c) const noexcept {
  const ClientTimeouts& t = cfg.timeouts;
  switch (c) {
    case Cmd::greeting: return t.initial;
    case Cmd::mail: return t.mail;
    case Cmd::rcpt: return t.rcpt;
    case Cmd::data: return t.data_init;
    case Cmd::bdat: return t.data_block;
    case Cmd::dot:
    case Cmd::bdat_last: return t.data_termination;
    case Cmd::ehlo:
    case Cmd::helo:
    case Cmd::starttls:
    case Cmd::auth:
    case Cmd::rset:
    case Cmd::quit: return t.command;
  }
  return t.command;
}

// The deadline runs from the last reply (or from sending into an idle pipeline) for the
// oldest outstanding command; partial lines never extend it (slow-drip servers).
void ClientSession::Impl::rearm(Instant now) {
  if (inflight.empty()) {
    deadline.reset();
    return;
  }
  deadline = now + timeout_for(inflight.front().cmd);
}

void ClientSession::Impl::emit_failure(TxId id, const MailTransaction& tx, const Reply& why, bool local) {
  ev::TransactionResult r;
  r.id = id;
  r.recipients.reserve(tx.recipients.size());
  for (const auto& rc : tx.recipients) r.recipients.push_back(RecipientResult{rc.path, false, why});
  r.reply = why;
  r.accepted = false;
  r.local = local;
  events.emplace_back(std::move(r));
}

void ClientSession::Impl::finish_active(const Reply& reply, bool accepted, bool local) {
  MAIL_ASSERT(active.has_value());
  Active& a = *active;
  MAIL_ASSERT(!accepted || a.accepted > 0);
  ev::TransactionResult r;
  r.id = a.id;
  r.recipients.reserve(a.tx.recipients.size());
  for (std::size_t i = 0; i < a.tx.recipients.size(); ++i) {
    RecipientResult rr{a.tx.recipients[i].path, false, reply};
    if (a.mail_ok && a.rcpt[i]) {
      rr.accepted = is_2xx(*a.rcpt[i]);
      rr.reply = *a.rcpt[i];
    } else if (a.mail_reply && !a.mail_ok) {
      rr.reply = *a.mail_reply;  // RCPT never meaningfully asked: MAIL was refused
    }
    r.recipients.push_back(std::move(rr));
  }
  r.reply = reply;
  r.accepted = accepted;
  r.local = local;
  events.emplace_back(std::move(r));
  active.reset();
}

void ClientSession::Impl::on_reply(Reply r, Instant now) {
  MAIL_ASSERT(st != ClientState::closed);
  MAIL_ASSERT(st != ClientState::tls_handshake);
  if (inflight.empty()) {
    // RFC 5321 §3.8: a server may send 421 unprompted before closing. Anything else
    // unprompted means we no longer agree on which reply answers which command.
    if (r.code == 421) return abort(r, false, "server closing: " + reply_summary(r));
    return protocol_error("unsolicited reply " + reply_summary(r));
  }
  const Inflight f = inflight.front();
  inflight.pop_front();
  rearm(now);
  if (r.code == 421 && f.cmd != Cmd::quit) return abort(r, false, "server closing: " + reply_summary(r));

  switch (f.cmd) {
    case Cmd::greeting: return on_greeting(r, now);
    case Cmd::ehlo: return on_ehlo(std::move(r), now);
    case Cmd::helo: return on_helo(r, now);
    case Cmd::starttls: return on_starttls(r, now);
    case Cmd::auth: return on_auth(r, now);
    case Cmd::mail: return on_mail(std::move(r), now);
    case Cmd::rcpt: return on_rcpt(std::move(r), f.index, now);
    case Cmd::data: return on_data(r, now);
    case Cmd::dot: return on_final(r, now);
    case Cmd::bdat: return on_bdat(r, now);
    case Cmd::bdat_last: return on_bdat_last(r, now);
    case Cmd::rset: return on_rset(r, now);
    case Cmd::quit: return on_quit();
  }
}

ClientSession::ClientSession(ClientConfig config, Instant now) : impl_(std::make_unique<Impl>(std::move(config), now)) {}
ClientSession::~ClientSession() = default;
ClientSession::ClientSession(ClientSession&&) noexcept = default;
ClientSession& ClientSession::operator=(ClientSession&&) noexcept = default;

TxId ClientSession::submit(MailTransaction tx, Instant now) {
  Impl& s = *impl_;
  const TxId id = s.next_id++;
  if (s.st == ClientState::closed || s.st == ClientState::quit || s.quit_requested) {
    s.emit_failure(id, tx, local_reply(451, 4, 0, "SMTP session is closing"), true);
    return id;
  }
  if (auto refusal = s.check_submit(tx)) {
    s.emit_failure(id, tx, *refusal, true);
    return id;
  }
  s.queue.push_back({id, std::move(tx)});
  if (s.st == ClientState::ready && !s.active) s.start_next(now);
  return id;
}

void ClientSession::quit(Instant now) {
  Impl& s = *impl_;
  if (s.st == ClientState::closed || s.quit_requested) return;
  s.quit_requested = true;
  if (s.st == ClientState::ready && !s.active) s.start_next(now);
}

void ClientSession::cancel(Instant /*now*/, std::string_view why) {
  Impl& s = *impl_;
  if (s.st == ClientState::closed) return;
  s.abort(local_reply(451, 4, 0, "canceled: " + std::string(why)), true, "canceled: " + std::string(why));
}

std::size_t ClientSession::feed(std::string_view in, Instant now) {
  Impl& s = *impl_;
  const std::size_t n = in.size();
  if (s.st == ClientState::closed || s.st == ClientState::tls_handshake) {
    // After close there is nobody to tell; during the handshake these are cleartext bytes
    // injected after the STARTTLS 220 (the driver feeds us only decrypted bytes after it).
    s.discarded += n;
    return n;
  }
  std::size_t pos = 0;
  while (pos < n) {
    const ReplyParser::Step step = s.parser.parse(in.substr(pos));
    pos += step.consumed;
    if (step.status == ReplyParser::Status::error) {
      s.protocol_error("malformed reply (" + std::string(to_string(s.parser.error())) + ")");
      break;
    }
    if (step.status == ReplyParser::Status::need_more) break;
    s.on_reply(s.parser.take(), now);
    if (s.st == ClientState::closed || s.st == ClientState::tls_handshake) break;
  }
  MAIL_ASSERT(pos <= n);
  s.discarded += n - pos;
  return n;
}

std::optional<ClientOutput> ClientSession::poll_output() {
  auto& q = impl_->out;
  if (q.empty()) return std::nullopt;
  ClientOutput o = std::move(q.front());
  q.pop_front();
  return o;
}

std::optional<ClientEvent> ClientSession::poll_event() {
  auto& q = impl_->events;
  if (q.empty()) return std::nullopt;
  ClientEvent e = std::move(q.front());
  q.pop_front();
  return e;
}

std::optional<Instant> ClientSession::poll_timeout() const {
  if (impl_->st == ClientState::closed) return std::nullopt;
  return impl_->deadline;
}

ClientState ClientSession::state() const noexcept { return impl_->st; }
bool ClientSession::tls() const noexcept { return impl_->tls; }
bool ClientSession::authenticated() const noexcept { return impl_->authenticated; }
const Capabilities& ClientSession::capabilities() const noexcept { return impl_->caps; }
std::size_t ClientSession::pending_transactions() const noexcept {
  return impl_->queue.size() + (impl_->active ? 1 : 0);
}
std::size_t ClientSession::discarded_bytes() const noexcept { return impl_->discarded; }
std::size_t ClientSession::buffered_bytes() const noexcept { return impl_->parser.buffered_bytes(); }
const std::deque<std::string>& ClientSession::history() const noexcept { return impl_->hist; }

}  // namespace mail::smtp
