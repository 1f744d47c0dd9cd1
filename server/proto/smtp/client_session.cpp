// smtp::ClientSession implementation: greeting -> EHLO (HELO fallback) -> [STARTTLS ->
// EHLO] -> per transaction MAIL / RCPT... / DATA or BDAT -> QUIT (RFC 5321 §3, §4.1, §4.2,
// §4.5.3.2; RFC 2920, 3030, 3207). It must not do I/O, read a clock, throw, send a bare
// CR or LF, or let the server's bytes grow its memory past the reply parser's limits.
#include "proto/smtp/client_session.h"

#include <algorithm>
#include <utility>

#include "core/assert.h"
#include "proto/message/dot_stuff.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mail::smtp {

std::string_view to_string(ClientState s) noexcept {
  switch (s) {
    case ClientState::greeting: return "greeting";
    case ClientState::ehlo: return "ehlo";
    case ClientState::helo: return "helo";
    case ClientState::starttls: return "starttls";
    case ClientState::tls_handshake: return "tls_handshake";
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
constexpr std::size_t kEnvidBytesMax = 100;  // RFC 3461 §4.4, the xtext as sent
constexpr std::size_t kOrcptBytesMax = 500;  // RFC 3461 §4.2, "type;xtext" as sent

// Legal transitions, one bit per target state (STYLE habit 5).
constexpr std::uint32_t bit(ClientState s) noexcept { return 1u << static_cast<unsigned>(s); }
constexpr std::uint32_t kClosed = bit(ClientState::closed);

constexpr std::uint32_t legal_targets(ClientState from) noexcept {
  using S = ClientState;
  switch (from) {
    case S::greeting: return bit(S::ehlo) | bit(S::quit) | kClosed;
    case S::ehlo: return bit(S::helo) | bit(S::starttls) | bit(S::ready) | bit(S::quit) | kClosed;
    case S::helo: return bit(S::ready) | bit(S::quit) | kClosed;
    case S::starttls: return bit(S::tls_handshake) | bit(S::ready) | bit(S::quit) | kClosed;
    case S::tls_handshake: return bit(S::ehlo) | kClosed;
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

// What a reply in the in-flight queue answers.
enum class Cmd : std::uint8_t { greeting, ehlo, helo, starttls, mail, rcpt, data, dot, bdat, bdat_last, rset, quit };

std::string_view to_string(Cmd c) noexcept {
  switch (c) {
    case Cmd::greeting: return "greeting";
    case Cmd::ehlo: return "EHLO";
    case Cmd::helo: return "HELO";
    case Cmd::starttls: return "STARTTLS";
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

struct Inflight {
  Cmd cmd = Cmd::greeting;
  std::uint32_t index = 0;  // RCPT index or BDAT chunk number
};

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

bool is_atom(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

// RFC 3461 §4.4: ENVID is printable US-ASCII. ORCPT and AUTH= values: no controls.
bool printable_ascii(std::string_view v) noexcept {
  for (char c : v)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) return false;
  return true;
}
bool no_controls(std::string_view v) noexcept {
  for (char c : v)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) == 0x7F) return false;
  return true;
}

bool valid_path(const Path& p, const SmtpLimits& limits, bool reverse) {
  if (!reverse && p.is_null()) return false;
  // Re-parse what we would send: a Path built by hand (e.g. from Python) must not smuggle
  // CRLF, spaces or anything else the grammar forbids into our command line.
  const std::string wire = p.to_string();
  const PathParse parsed = parse_path(wire, limits, /*allow_utf8=*/true, /*allow_null=*/reverse);
  return parsed.path.has_value() && parsed.consumed == wire.size();
}

bool needs_smtputf8(const MailTransaction& tx) noexcept {
  if (tx.mail_params.smtputf8) return true;
  if (tx.mail_from.mailbox && tx.mail_from.mailbox->needs_smtputf8()) return true;
  for (const auto& r : tx.recipients)
    if (r.path.mailbox && r.path.mailbox->needs_smtputf8()) return true;
  return false;
}

std::string normalized_content(const MailTransaction& tx) {
  std::string c = tx.content;
  // RFC 5321 §4.1.1.4: the content ends with CRLF before the terminator. BINARYMIME content
  // is opaque octets framed by length; it is sent as given.
  if (tx.mail_params.body != BodyType::binary_mime && !c.empty() &&
      (c.size() < 2 || c[c.size() - 2] != '\r' || c.back() != '\n'))
    c.append("\r\n");
  return c;
}

// Length of the BDAT chunk starting at `from`: at most `chunk_bytes`, ending after the
// last LF in that window when there is one, and never between a CR and its LF. Receivers
// that check each chunk for bare CR/LF (Postfix smtpd_forbid_bare_newline = reject) then
// never see half a line ending.
std::size_t chunk_length(std::string_view wire, std::size_t from, std::size_t chunk_bytes) {
  MAIL_ASSERT(from <= wire.size());
  MAIL_ASSERT(chunk_bytes > 0);
  const std::size_t left = wire.size() - from;
  if (left <= chunk_bytes) return left;
  const std::string_view window = wire.substr(from, chunk_bytes);
  const std::size_t lf = window.rfind('\n');
  if (lf != std::string_view::npos) return lf + 1;
  if (window.back() == '\r' && wire[from + chunk_bytes] == '\n') return chunk_bytes + 1;
  return chunk_bytes;
}

}  // namespace

bool has_bare_cr_or_lf(std::string_view content) noexcept {
  // CRLF-only means: every LF right after a CR, and every CR right before an LF.
  const std::size_t n = content.size();
  std::size_t i = 0;
  bool prev_cr = false;  // content[i - 1] == '\r'
#if defined(__SSE2__)
  // 16 octets per step: the LF mask must be exactly the CR mask shifted by one octet.
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(content.data() + i));
    const auto crs = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, cr)));
    const auto lfs = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf)));
    if (lfs != (((crs << 1) | (prev_cr ? 1u : 0u)) & 0xffffu)) return true;
    prev_cr = (crs >> 15) != 0;
  }
#endif
  for (; i < n; ++i) {
    const char c = content[i];
    if (prev_cr != (c == '\n')) return true;  // a CR without its LF, or an LF without its CR
    prev_cr = c == '\r';
  }
  return prev_cr;  // a CR at the very end
}

std::string format_mail_from(const Path& from, const MailParams& params, std::uint64_t size,
                             const Capabilities& caps, bool smtputf8) {
  std::string line = "MAIL FROM:" + from.to_string();
  // Parameters only for extensions the server advertised (RFC 5321 §4.1.1.11: a server
  // must reject unknown ones with 555).
  if (caps.size) line += " SIZE=" + std::to_string(size);  // RFC 1870 §6
  if (params.body == BodyType::eight_bit_mime && caps.eight_bit_mime) line += " BODY=8BITMIME";
  if (params.body == BodyType::binary_mime && caps.binary_mime) line += " BODY=BINARYMIME";
  if (smtputf8 && caps.smtputf8) line += " SMTPUTF8";  // RFC 6531 §3.4
  if (caps.dsn) {  // RFC 3461 §4.3 / §4.4
    if (params.ret == DsnRet::full) line += " RET=FULL";
    if (params.ret == DsnRet::headers) line += " RET=HDRS";
    if (params.envid) line += " ENVID=" + xtext_encode(*params.envid);
  }
  if (params.auth && caps.has("AUTH")) line += " AUTH=" + xtext_encode(*params.auth);  // RFC 4954 §5
  return line;
}

std::string format_rcpt_to(const Recipient& rcpt, const Capabilities& caps) {
  std::string line = "RCPT TO:" + rcpt.path.to_string();
  if (caps.dsn) {  // RFC 3461 §4.1 / §4.2
    const DsnNotify& n = rcpt.params.notify;
    if (n.never) {
      line += " NOTIFY=NEVER";
    } else if (n.any()) {
      std::string v;
      if (n.success) v += "SUCCESS,";
      if (n.failure) v += "FAILURE,";
      if (n.delay) v += "DELAY,";
      v.pop_back();
      line += " NOTIFY=" + v;
    }
    if (rcpt.params.orcpt)
      line += " ORCPT=" + rcpt.params.orcpt_type.value_or("rfc822") + ";" + xtext_encode(*rcpt.params.orcpt);
  }
  return line;
}

struct ClientSession::Impl {
  struct Queued {
    TxId id = 0;
    MailTransaction tx;
  };
  // The transaction in progress (OpenSMTPD keeps smtp_tx apart from the session too).
  struct Active {
    TxId id = 0;
    MailTransaction tx;
    bool pipelined = false;
    bool bdat = false;
    std::string wire;             // DATA: stuffed content + terminator; BDAT: the octets
    std::size_t wire_sent = 0;    // BDAT: octets handed out so far
    std::uint32_t chunks = 0;     // BDAT: chunks sent
    std::optional<Reply> mail_reply;
    bool mail_ok = false;
    std::vector<std::optional<Reply>> rcpt;
    std::size_t accepted = 0;
    std::optional<Reply> failure;  // decided failure, waiting for the pipeline to drain
  };

  ClientConfig cfg;
  ClientState st = ClientState::greeting;
  ReplyParser parser;
  std::deque<ClientOutput> out;
  std::deque<ClientEvent> events;
  std::deque<std::string> hist;
  std::deque<Inflight> inflight;
  std::optional<Instant> deadline;
  Capabilities caps;
  bool extended = false;
  bool tls = false;
  bool quit_requested = false;
  TxId next_id = 1;
  std::size_t discarded = 0;
  std::deque<Queued> queue;
  std::optional<Active> active;

  Impl(ClientConfig c, Instant now) : cfg(std::move(c)), parser(cfg.reply_limits), tls(cfg.tls_active) {
    // The EHLO argument is configuration, not peer input: a bad one is a programmer error
    // (bindings validate with is_valid_domain / is_valid_address_literal first).
    MAIL_ASSERT(is_valid_domain(cfg.helo_name, false) || is_valid_address_literal(cfg.helo_name));
    MAIL_ASSERT(cfg.chunk_bytes > 0);
    inflight.push_back({Cmd::greeting, 0});
    rearm(now);
  }

  // ---- the one transition function -------------------------------------------------
  void enter(ClientState next) {
    MAIL_ASSERT((legal_targets(st) & bit(next)) != 0);
    std::string line;
    line.append(to_string(st)).append(" -> ").append(to_string(next));
    if (hist.size() == kHistoryMax) hist.pop_front();
    hist.push_back(std::move(line));
    st = next;
    MAIL_ASSERT(hist.size() <= kHistoryMax);
  }

  // ---- output helpers ------------------------------------------------------------------
  void send_bytes(std::string_view bytes) {
    if (bytes.empty()) return;
    if (!out.empty()) {
      if (auto* s = std::get_if<out::Send>(&out.back())) {
        s->bytes.append(bytes);
        return;
      }
    }
    out.emplace_back(out::Send{std::string(bytes)});
  }

  void expect(Cmd cmd, std::uint32_t index, Instant now) {
    const bool was_empty = inflight.empty();
    inflight.push_back({cmd, index});
    if (was_empty) rearm(now);
  }

  void send_cmd(std::string line, Cmd cmd, std::uint32_t index, Instant now) {
    // Our command lines never hold a CR or LF: everything in them was validated or encoded.
    MAIL_ASSERT(line.find('\r') == std::string::npos);
    MAIL_ASSERT(line.find('\n') == std::string::npos);
    line.append("\r\n");
    send_bytes(line);
    expect(cmd, index, now);
  }

  Duration timeout_for(Cmd c) const noexcept {
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
      case Cmd::rset:
      case Cmd::quit: return t.command;
    }
    return t.command;
  }

  // The deadline runs from the last reply (or from sending into an idle pipeline) for the
  // oldest outstanding command; partial lines never extend it (slow-drip servers).
  void rearm(Instant now) {
    if (inflight.empty()) {
      deadline.reset();
      return;
    }
    deadline = now + timeout_for(inflight.front().cmd);
  }

  // ---- results ------------------------------------------------------------------------
  void emit_failure(TxId id, const MailTransaction& tx, const Reply& why, bool local) {
    ev::TransactionResult r;
    r.id = id;
    r.recipients.reserve(tx.recipients.size());
    for (const auto& rc : tx.recipients) r.recipients.push_back(RecipientResult{rc.path, false, why});
    r.reply = why;
    r.accepted = false;
    r.local = local;
    events.emplace_back(std::move(r));
  }

  void finish_active(const Reply& reply, bool accepted, bool local) {
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

  void fail_all(const Reply& why, bool local) {
    if (active) finish_active(why, false, local);
    while (!queue.empty()) {
      emit_failure(queue.front().id, queue.front().tx, why, local);
      queue.pop_front();
    }
    MAIL_ASSERT(!active);
  }

  // Fatal: every pending transaction fails with `why`, the connection closes now.
  void abort(const Reply& why, bool local, std::string reason) {
    MAIL_ASSERT(st != ClientState::closed);
    fail_all(why, local);
    inflight.clear();
    deadline.reset();
    parser.reset();
    out.emplace_back(out::Close{});
    events.emplace_back(ev::Closed{std::move(reason)});
    enter(ClientState::closed);
  }

  void protocol_error(std::string_view what) {
    abort(local_reply(451, 5, 0, "protocol error from server: " + std::string(what)), true,
          "protocol error: " + std::string(what));
  }

  // Orderly give-up: pending transactions fail with `why`, then QUIT / 221 / close.
  void quit_after_failure(const Reply& why, bool local, Instant now) {
    fail_all(why, local);
    inflight.clear();
    send_cmd("QUIT", Cmd::quit, 0, now);
    enter(ClientState::quit);
  }

  // ---- validation ---------------------------------------------------------------------
  std::optional<Reply> check_submit(const MailTransaction& tx) const {
    if (tx.recipients.empty()) return local_reply(554, 5, 1, "transaction has no recipients");
    if (!valid_path(tx.mail_from, cfg.limits, true)) return local_reply(553, 1, 7, "invalid sender address");
    for (const auto& r : tx.recipients) {
      if (!valid_path(r.path, cfg.limits, false)) return local_reply(553, 1, 3, "invalid recipient address");
      if (r.params.orcpt_type && !is_atom(*r.params.orcpt_type)) return local_reply(554, 5, 4, "invalid ORCPT type");
      if (r.params.orcpt) {
        // RFC 3461 §4.2: the value as sent, addr-type ";" xtext, is at most 500 characters.
        const std::size_t sent = r.params.orcpt_type.value_or("rfc822").size() + 1 + xtext_encode(*r.params.orcpt).size();
        if (r.params.orcpt->empty() || !no_controls(*r.params.orcpt)) return local_reply(554, 5, 4, "invalid ORCPT");
        if (sent > kOrcptBytesMax) return local_reply(554, 5, 4, "ORCPT too long (RFC 3461 section 4.2)");
      }
    }
    if (const auto& envid = tx.mail_params.envid) {
      // RFC 3461 §4.4: at most 100 characters as sent (xtext), printable US-ASCII.
      if (!printable_ascii(*envid)) return local_reply(554, 5, 4, "invalid ENVID");
      if (xtext_encode(*envid).size() > kEnvidBytesMax) return local_reply(554, 5, 4, "ENVID too long (RFC 3461 section 4.4)");
    }
    if (const auto& auth = tx.mail_params.auth) {
      if (auth->empty() || !no_controls(*auth)) return local_reply(554, 5, 4, "invalid AUTH= value");
      if (xtext_encode(*auth).size() > kOrcptBytesMax) return local_reply(554, 5, 4, "AUTH= value too long");
    }
    // SMTP smuggling, outbound side (SECURITY.md §1, Dovecot CVE-2026-33604): content with
    // a bare CR or LF is refused, never "fixed" and never sent. BINARYMIME goes by BDAT,
    // framed by length, where bare octets cannot end anything.
    if (tx.mail_params.body != BodyType::binary_mime && has_bare_cr_or_lf(tx.content))
      return local_reply(554, 6, 0, "message content has a bare CR or LF; refusing to send it");
    return std::nullopt;
  }

  // Checks that depend on what the server advertised (pure: returns the refusal).
  std::optional<Reply> check_against_server(const MailTransaction& tx, std::uint64_t size) const {
    if (needs_smtputf8(tx) && !caps.smtputf8)
      return local_reply(553, 6, 7, "server does not support SMTPUTF8 (RFC 6531)");
    if (tx.mail_params.body == BodyType::eight_bit_mime && !caps.eight_bit_mime)
      return local_reply(554, 6, 3, "server does not support 8BITMIME (RFC 6152)");
    if (tx.mail_params.body == BodyType::binary_mime && !(caps.binary_mime && caps.chunking))
      return local_reply(554, 6, 3, "server does not support BINARYMIME with CHUNKING (RFC 3030)");
    if (caps.size && caps.size_max > 0 && size > caps.size_max)
      return local_reply(552, 3, 4, "message size exceeds the server's fixed maximum (RFC 1870)");
    return std::nullopt;
  }

  // ---- transactions -------------------------------------------------------------------
  void start_next(Instant now) {
    MAIL_ASSERT(st == ClientState::ready);
    MAIL_ASSERT(inflight.empty());
    MAIL_ASSERT(!active);
    // A loop, not recursion: a long queue of refused transactions must not deepen the stack.
    while (!queue.empty()) {
      Queued q = std::move(queue.front());
      queue.pop_front();
      std::string content = normalized_content(q.tx);
      const bool utf8 = needs_smtputf8(q.tx);
      std::string mail = format_mail_from(q.tx.mail_from, q.tx.mail_params, content.size(), caps, utf8);
      std::optional<Reply> refusal = check_against_server(q.tx, content.size());
      if (!refusal && mail.size() + 2 > cfg.limits.command_line_bytes_tolerated)
        refusal = local_reply(554, 5, 4, "MAIL command line too long (RFC 5321 section 4.5.3.1.4)");
      for (std::size_t i = 0; !refusal && i < q.tx.recipients.size(); ++i)
        if (format_rcpt_to(q.tx.recipients[i], caps).size() + 2 > cfg.limits.command_line_bytes_tolerated)
          refusal = local_reply(554, 5, 4, "RCPT command line too long (RFC 5321 section 4.5.3.1.4)");
      if (refusal) {
        emit_failure(q.id, q.tx, *refusal, true);
        continue;
      }
      return begin(std::move(q), std::move(content), std::move(mail), now);
    }
    if (quit_requested) {
      send_cmd("QUIT", Cmd::quit, 0, now);
      enter(ClientState::quit);
    }
  }

  void begin(Queued q, std::string content, std::string mail, Instant now) {
    MAIL_ASSERT(!active);
    MAIL_ASSERT(!q.tx.recipients.empty());
    Active a;
    a.id = q.id;
    a.pipelined = cfg.use_pipelining && caps.pipelining;
    a.bdat = q.tx.mail_params.body == BodyType::binary_mime || (cfg.use_chunking && caps.chunking);
    a.wire = a.bdat ? std::move(content) : message::dot_stuff(content);
    a.rcpt.assign(q.tx.recipients.size(), std::nullopt);
    a.tx = std::move(q.tx);
    std::string().swap(a.tx.content);  // only the wire form is needed from here on
    active = std::move(a);
    send_cmd(std::move(mail), Cmd::mail, 0, now);
    if (active->pipelined) {
      // RFC 2920 §3.1: MAIL, RCPT and DATA go in one group; DATA is last in it.
      for (std::size_t i = 0; i < active->tx.recipients.size(); ++i) send_rcpt(i, now);
      if (!active->bdat) send_cmd("DATA", Cmd::data, 0, now);
    }
    enter(ClientState::mail);
  }

  void send_rcpt(std::size_t i, Instant now) {
    MAIL_ASSERT(active.has_value());
    MAIL_ASSERT(i < active->tx.recipients.size());
    send_cmd(format_rcpt_to(active->tx.recipients[i], caps), Cmd::rcpt, static_cast<std::uint32_t>(i), now);
  }

  // BDAT chunks (RFC 3030 §2): "BDAT <n>[ LAST]" CRLF then exactly n octets. Pipelined:
  // every chunk at once; otherwise one, and the next after its 250.
  void send_chunks(Instant now) {
    MAIL_ASSERT(active.has_value());
    Active& a = *active;
    do {
      const std::size_t left = a.wire.size() - a.wire_sent;
      const std::size_t n = chunk_length(a.wire, a.wire_sent, cfg.chunk_bytes);
      MAIL_ASSERT(n <= left);
      const bool last = n == left;
      std::string cmd = "BDAT " + std::to_string(n) + (last ? " LAST" : "");
      send_cmd(std::move(cmd), last ? Cmd::bdat_last : Cmd::bdat, a.chunks, now);
      send_bytes(std::string_view(a.wire).substr(a.wire_sent, n));
      a.wire_sent += n;
      ++a.chunks;
      if (last) break;
    } while (a.pipelined);
    MAIL_ASSERT(a.wire_sent <= a.wire.size());
  }

  // The reply that explains why no recipient could take the message.
  const Reply& no_recipient_reply() const {
    MAIL_ASSERT(active.has_value());
    const Active& a = *active;
    MAIL_ASSERT(a.mail_reply.has_value());
    if (!a.mail_ok) return *a.mail_reply;
    for (std::size_t i = a.rcpt.size(); i-- > 0;)
      if (a.rcpt[i]) return *a.rcpt[i];
    return *a.mail_reply;
  }

  // After a failed transaction: RSET if the server still holds a MAIL (RFC 5321 §4.1.1.5).
  void after_failure(bool mail_ok, Instant now) {
    if (mail_ok) {
      send_cmd("RSET", Cmd::rset, 0, now);
      enter(ClientState::rset);
    } else {
      enter(ClientState::ready);
      start_next(now);
    }
  }

  void after_rcpts(Instant now) {
    Active& a = *active;
    if (a.mail_ok && a.accepted > 0) {
      if (a.bdat) {
        send_chunks(now);
        enter(ClientState::bdat);
      } else {
        send_cmd("DATA", Cmd::data, 0, now);
        enter(ClientState::data);
      }
      return;
    }
    const bool mail_ok = a.mail_ok;
    finish_active(no_recipient_reply(), false, false);
    after_failure(mail_ok, now);
  }

  // ---- replies ------------------------------------------------------------------------
  void on_reply(Reply r, Instant now) {
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

  void on_greeting(const Reply& r, Instant now) {
    MAIL_ASSERT(st == ClientState::greeting);
    if (r.code == 220) {
      if (quit_requested && queue.empty()) {
        send_cmd("QUIT", Cmd::quit, 0, now);
        return enter(ClientState::quit);
      }
      send_cmd("EHLO " + cfg.helo_name, Cmd::ehlo, 0, now);
      return enter(ClientState::ehlo);
    }
    // RFC 5321 §3.1: a 554 greeting refuses service; the client should QUIT. A transient
    // refusal is handled the same way (the transactions are retried elsewhere).
    if (r.code >= 400) return quit_after_failure(r, false, now);
    protocol_error("greeting " + reply_summary(r));
  }

  void on_ehlo(Reply r, Instant now) {
    MAIL_ASSERT(st == ClientState::ehlo);
    if (is_2xx(r)) {
      caps = parse_capabilities(r);
      extended = true;
      return after_hello(now);
    }
    // RFC 5321 §3.2 / §4.1.4: a server that does not know EHLO answers 5xx; retry with HELO.
    if (r.code >= 500) {
      send_cmd("HELO " + cfg.helo_name, Cmd::helo, 0, now);
      return enter(ClientState::helo);
    }
    if (r.code >= 400) return quit_after_failure(r, false, now);
    protocol_error("EHLO reply " + reply_summary(r));
  }

  void on_helo(const Reply& r, Instant now) {
    MAIL_ASSERT(st == ClientState::helo);
    if (is_2xx(r)) {
      caps = Capabilities{};
      extended = false;
      return after_hello(now);
    }
    if (r.code >= 400) return quit_after_failure(r, false, now);
    protocol_error("HELO reply " + reply_summary(r));
  }

  void after_hello(Instant now) {
    if (!tls && cfg.use_starttls && caps.starttls) {
      send_cmd("STARTTLS", Cmd::starttls, 0, now);
      return enter(ClientState::starttls);
    }
    if (cfg.require_tls && !tls)
      return quit_after_failure(local_reply(454, 7, 0, "TLS required but the server does not offer STARTTLS"), true, now);
    become_ready(now);
  }

  void become_ready(Instant now) {
    events.emplace_back(ev::SessionReady{caps, extended, tls});
    enter(ClientState::ready);
    start_next(now);
  }

  void on_starttls(const Reply& r, Instant now) {
    MAIL_ASSERT(st == ClientState::starttls);
    if (r.code == 220) {
      // RFC 3207 §4.2 / CVE-2011-0411 (client side: Exim CVE-2021-38371): nothing the server
      // sent in cleartext after this 220 may be read as a reply. feed() drops the rest of
      // its input once it sees this state, and drops anything fed until tls_established().
      MAIL_ASSERT(inflight.empty());
      parser.reset();
      out.emplace_back(out::StartTls{});
      enter(ClientState::tls_handshake);
      deadline = now + cfg.timeouts.tls_handshake;
      return;
    }
    if (r.code < 400) return protocol_error("STARTTLS reply " + reply_summary(r));
    if (cfg.require_tls)
      return quit_after_failure(local_reply(454, 7, 0, "TLS required but STARTTLS was refused: " + reply_summary(r)), true, now);
    become_ready(now);  // opportunistic TLS: carry on in cleartext
  }

  void on_mail(Reply r, Instant now) {
    MAIL_ASSERT(st == ClientState::mail);
    MAIL_ASSERT(active.has_value());
    Active& a = *active;
    a.mail_ok = is_2xx(r);
    a.mail_reply = std::move(r);
    if (a.mail_ok) {
      if (!a.pipelined) send_rcpt(0, now);
      return enter(ClientState::rcpt);
    }
    if (a.pipelined) return enter(ClientState::rcpt);  // the RCPT (and DATA) replies still come
    finish_active(*a.mail_reply, false, false);
    enter(ClientState::ready);
    start_next(now);
  }

  void on_rcpt(Reply r, std::uint32_t index, Instant now) {
    MAIL_ASSERT(st == ClientState::rcpt);
    MAIL_ASSERT(active.has_value());
    Active& a = *active;
    MAIL_ASSERT(index < a.rcpt.size());
    if (a.mail_ok) {
      if (is_2xx(r)) ++a.accepted;
      a.rcpt[index] = std::move(r);
    }
    const bool last = index + 1 == a.rcpt.size();
    if (!a.pipelined) {
      if (!last) return send_rcpt(index + 1, now);
      return after_rcpts(now);
    }
    if (!last) return;
    if (!a.bdat) return enter(ClientState::data);  // the DATA reply is next in the pipeline
    after_rcpts(now);
  }

  void on_data(const Reply& r, Instant now) {
    MAIL_ASSERT(st == ClientState::data);
    MAIL_ASSERT(active.has_value());
    Active& a = *active;
    if (r.code == 354) {
      if (a.mail_ok && a.accepted > 0) {
        send_bytes(a.wire);
        std::string().swap(a.wire);  // the output queue holds the only copy now
      } else {
        // RFC 2920 §3.1: DATA accepted although no recipient was: end it with a lone ".".
        a.failure = no_recipient_reply();
        send_bytes(".\r\n");
      }
      expect(Cmd::dot, 0, now);
      return enter(ClientState::data_end);
    }
    const bool mail_ok = a.mail_ok;
    const Reply why = (a.mail_ok && a.accepted > 0) ? r : no_recipient_reply();
    finish_active(why, false, false);
    after_failure(mail_ok, now);
  }

  void on_final(const Reply& r, Instant now) {
    MAIL_ASSERT(st == ClientState::data_end);
    MAIL_ASSERT(active.has_value());
    // RFC 5321 §4.1.1.4: after the reply to "." the server holds no transaction, so no RSET.
    if (active->failure) {
      const Reply why = *active->failure;
      finish_active(why, false, false);
    } else {
      finish_active(r, is_2xx(r), false);
    }
    enter(ClientState::ready);
    start_next(now);
  }

  void on_bdat(const Reply& r, Instant now) {
    MAIL_ASSERT(st == ClientState::bdat);
    MAIL_ASSERT(active.has_value());
    Active& a = *active;
    if (!is_2xx(r) && !a.failure) a.failure = r;
    if (a.pipelined) return;  // later chunk replies are already on their way
    if (a.failure) {
      // RFC 3030 §4.2: after a failed chunk send no more; RSET.
      const Reply why = *a.failure;
      finish_active(why, false, false);
      return after_failure(true, now);
    }
    send_chunks(now);
  }

  void on_bdat_last(const Reply& r, Instant now) {
    MAIL_ASSERT(st == ClientState::bdat);
    MAIL_ASSERT(active.has_value());
    Active& a = *active;
    if (!a.failure && is_2xx(r)) {
      finish_active(r, true, false);
      enter(ClientState::ready);
      return start_next(now);
    }
    const Reply why = a.failure ? *a.failure : r;
    finish_active(why, false, false);
    after_failure(true, now);
  }

  void on_rset(const Reply& r, Instant now) {
    MAIL_ASSERT(st == ClientState::rset);
    if (is_2xx(r)) {
      enter(ClientState::ready);
      return start_next(now);
    }
    // The server and we disagree about its state: give up on this connection.
    quit_after_failure(local_reply(451, 5, 0, "RSET refused: " + reply_summary(r)), true, now);
  }

  void on_quit() {
    MAIL_ASSERT(st == ClientState::quit);
    MAIL_ASSERT(!active);
    deadline.reset();
    out.emplace_back(out::Close{});
    events.emplace_back(ev::Closed{"quit"});
    enter(ClientState::closed);
  }
};

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

void ClientSession::feed_eof(Instant /*now*/) {
  Impl& s = *impl_;
  if (s.st == ClientState::closed) return;
  if (s.st == ClientState::quit) {
    // The server closed without (or before we read) its 221: nothing was pending.
    MAIL_ASSERT(!s.active);
    s.inflight.clear();
    s.deadline.reset();
    s.out.emplace_back(out::Close{});
    s.events.emplace_back(ev::Closed{"quit (server closed)"});
    return s.enter(ClientState::closed);
  }
  const std::string where(to_string(s.st));
  s.abort(local_reply(451, 4, 2, "connection closed by server (state " + where + ")"), true,
          "connection closed by server in " + where);
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

void ClientSession::handle_timeout(Instant now) {
  Impl& s = *impl_;
  if (s.st == ClientState::closed || !s.deadline || now < *s.deadline) return;
  const std::string what = s.st == ClientState::tls_handshake ? std::string("TLS handshake")
                           : s.inflight.empty()               ? std::string(to_string(s.st))
                                                              : std::string(to_string(s.inflight.front().cmd)) + " reply";
  // RFC 5321 §4.5.3.2: give up on the connection; the transactions are retried later.
  s.abort(local_reply(451, 4, 2, "timeout waiting for " + what), true, "timeout waiting for " + what);
}

void ClientSession::tls_established(Instant now) {
  Impl& s = *impl_;
  if (s.st == ClientState::closed) return;  // e.g. the handshake timer fired first
  MAIL_ASSERT(s.st == ClientState::tls_handshake);
  // RFC 3207 §4.2: forget everything learnt before TLS and say EHLO again.
  s.tls = true;
  s.caps = Capabilities{};
  s.extended = false;
  s.parser.reset();
  s.deadline.reset();
  s.send_cmd("EHLO " + s.cfg.helo_name, Cmd::ehlo, 0, now);
  s.enter(ClientState::ehlo);
}

ClientState ClientSession::state() const noexcept { return impl_->st; }
bool ClientSession::tls() const noexcept { return impl_->tls; }
const Capabilities& ClientSession::capabilities() const noexcept { return impl_->caps; }
std::size_t ClientSession::pending_transactions() const noexcept {
  return impl_->queue.size() + (impl_->active ? 1 : 0);
}
std::size_t ClientSession::discarded_bytes() const noexcept { return impl_->discarded; }
std::size_t ClientSession::buffered_bytes() const noexcept { return impl_->parser.buffered_bytes(); }
const std::deque<std::string>& ClientSession::history() const noexcept { return impl_->hist; }

}  // namespace mail::smtp
