// The outbound queue's record fold and its .env line codec (see queue_record.h). Pure:
// no I/O, no clock. The decoder accepts only what the encoder produces (canonical escapes,
// canonical numbers), so decode-then-encode gives back the same bytes.
#include "store/queue_record.h"

#include <array>
#include <limits>
#include <utility>

#include "core/assert.h"
#include "core/hash.h"

namespace mail::store {
namespace {

constexpr std::string_view envelope_tag = "Q1";
constexpr std::string_view record_tag = "R1";
constexpr std::size_t checksum_digits = 16;
constexpr std::size_t queue_id_bytes_max = 64;
// Fields of the envelope line before the recipients, and per recipient.
constexpr std::size_t envelope_head_fields = 16;
constexpr std::size_t recipient_fields = 6;
constexpr std::size_t record_fields = 7;
constexpr std::array<QueueRecord::Kind, 7> all_kinds{
    QueueRecord::Kind::delivered, QueueRecord::Kind::bounced,  QueueRecord::Kind::deferred, QueueRecord::Kind::delay_warned,
    QueueRecord::Kind::held,      QueueRecord::Kind::released, QueueRecord::Kind::reported};

constexpr char hex_upper[] = "0123456789ABCDEF";
constexpr char hex_lower[] = "0123456789abcdef";

bool needs_escape(unsigned char c) noexcept { return c < 0x20 || c == 0x7f || c == '%'; }

void put_escaped(std::string& out, std::string_view s) {
  for (unsigned char c : s) {
    if (needs_escape(c)) {
      out += '%';
      out += hex_upper[c >> 4];
      out += hex_upper[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
}

int upper_hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The inverse of put_escaped; nullopt for anything put_escaped would not have written.
std::optional<std::string> unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c != '%') {
      if (needs_escape(c)) return std::nullopt;  // a raw control octet
      out += static_cast<char>(c);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;  // "%" needs two hex digits
    const int hi = upper_hex_value(s[i + 1]);
    const int lo = upper_hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    const auto v = static_cast<unsigned char>(hi * 16 + lo);
    if (!needs_escape(v)) return std::nullopt;  // not canonical
    out += static_cast<char>(v);
    i += 2;
  }
  return out;
}

void put_u64(std::string& out, std::uint64_t v) { out += std::to_string(v); }

void put_i64(std::string& out, std::int64_t v) {
  if (v < 0) {
    out += '-';
    out += std::to_string(std::uint64_t{0} - static_cast<std::uint64_t>(v));
  } else {
    out += std::to_string(static_cast<std::uint64_t>(v));
  }
}

// Canonical unsigned decimal ("0" or no leading zero), at most `max`.
std::optional<std::uint64_t> parse_u64(std::string_view s, std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return std::nullopt;  // overflow
    v = v * 10 + d;
  }
  if (v > max) return std::nullopt;
  return v;
}

std::optional<std::int64_t> parse_i64(std::string_view s) {
  if (s.starts_with('-')) {
    constexpr std::uint64_t min_magnitude = std::uint64_t{1} << 63;
    const auto m = parse_u64(s.substr(1), min_magnitude);
    if (!m || *m == 0) return std::nullopt;  // "-0" is not canonical
    return static_cast<std::int64_t>(std::uint64_t{0} - *m);
  }
  const auto v = parse_u64(s, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
  if (!v) return std::nullopt;
  return static_cast<std::int64_t>(*v);
}

// Optional values: "-" when absent, "+" and the value when present.
void put_opt(std::string& out, const std::optional<std::string>& v) {
  if (!v) {
    out += '-';
    return;
  }
  out += '+';
  put_escaped(out, *v);
}
void put_opt(std::string& out, const std::optional<std::uint64_t>& v) {
  if (!v) {
    out += '-';
    return;
  }
  out += '+';
  put_u64(out, *v);
}
// Present: the outer optional holds the inner one.
std::optional<std::optional<std::string>> parse_opt_string(std::string_view s) {
  if (s == "-") return std::optional<std::string>{};
  if (!s.starts_with('+')) return std::nullopt;
  auto v = unescape(s.substr(1));
  if (!v) return std::nullopt;
  return std::optional<std::string>(std::move(*v));
}
std::optional<std::optional<std::uint64_t>> parse_opt_u64(std::string_view s) {
  if (s == "-") return std::optional<std::uint64_t>{};
  if (!s.starts_with('+')) return std::nullopt;
  const auto v = parse_u64(s.substr(1));
  if (!v) return std::nullopt;
  return std::optional<std::uint64_t>(*v);
}

// A path as three fields: "0" (null) with two empty fields, or "1", local part, domain.
void put_path(std::string& out, const smtp::Path& p) {
  if (p.is_null()) {
    out += "0\t\t";
    return;
  }
  out += "1\t";
  put_escaped(out, p.mailbox->local_part);
  out += '\t';
  put_escaped(out, p.mailbox->domain);
}
std::optional<smtp::Path> parse_path_fields(std::string_view flag, std::string_view local, std::string_view domain) {
  if (flag == "0") {
    if (!local.empty() || !domain.empty()) return std::nullopt;
    return smtp::Path{};
  }
  if (flag != "1") return std::nullopt;
  auto l = unescape(local);
  auto d = unescape(domain);
  if (!l || !d) return std::nullopt;
  return smtp::Path{smtp::Mailbox{std::move(*l), std::move(*d)}};
}

char body_code(smtp::BodyType b) noexcept {
  switch (b) {
    case smtp::BodyType::seven_bit: return '7';
    case smtp::BodyType::eight_bit_mime: return '8';
    case smtp::BodyType::binary_mime: return 'B';
  }
  MAIL_UNREACHABLE();
}
std::optional<smtp::BodyType> parse_body(std::string_view s) {
  if (s == "7") return smtp::BodyType::seven_bit;
  if (s == "8") return smtp::BodyType::eight_bit_mime;
  if (s == "B") return smtp::BodyType::binary_mime;
  return std::nullopt;
}
char ret_code(smtp::DsnRet r) noexcept {
  switch (r) {
    case smtp::DsnRet::unspecified: return 'u';
    case smtp::DsnRet::full: return 'f';
    case smtp::DsnRet::headers: return 'h';
  }
  MAIL_UNREACHABLE();
}
std::optional<smtp::DsnRet> parse_ret(std::string_view s) {
  if (s == "u") return smtp::DsnRet::unspecified;
  if (s == "f") return smtp::DsnRet::full;
  if (s == "h") return smtp::DsnRet::headers;
  return std::nullopt;
}
std::optional<bool> parse_flag(std::string_view s) {
  if (s == "0") return false;
  if (s == "1") return true;
  return std::nullopt;
}

// NOTIFY (RFC 3461 §4.1) as a bit mask: never 1, success 2, failure 4, delay 8.
std::uint64_t notify_bits(const smtp::DsnNotify& n) noexcept {
  return (n.never ? 1u : 0u) | (n.success ? 2u : 0u) | (n.failure ? 4u : 0u) | (n.delay ? 8u : 0u);
}
smtp::DsnNotify notify_from_bits(std::uint64_t b) noexcept {
  MAIL_ASSERT(b < 16);
  smtp::DsnNotify n;
  n.never = (b & 1) != 0;
  n.success = (b & 2) != 0;
  n.failure = (b & 4) != 0;
  n.delay = (b & 8) != 0;
  return n;
}

// Appends TAB, the checksum of `payload` and "\n".
std::string seal(std::string payload) {
  const std::uint64_t h = fnv1a64(payload);
  payload += '\t';
  for (int shift = 60; shift >= 0; shift -= 4) payload += hex_lower[(h >> shift) & 0xf];
  payload += '\n';
  return payload;
}

// The payload of a sealed line (without "\n"), or nullopt when the checksum is wrong.
std::optional<std::string_view> unseal(std::string_view line) {
  if (line.size() < checksum_digits + 1) return std::nullopt;
  const std::size_t tab = line.size() - checksum_digits - 1;
  if (line[tab] != '\t') return std::nullopt;
  std::uint64_t h = 0;
  for (std::size_t i = tab + 1; i < line.size(); ++i) {
    const char c = line[i];
    int d = -1;
    if (c >= '0' && c <= '9') d = c - '0';
    if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    if (d < 0) return std::nullopt;
    h = (h << 4) | static_cast<std::uint64_t>(d);
  }
  const std::string_view payload = line.substr(0, tab);
  if (fnv1a64(payload) != h) return std::nullopt;
  return payload;
}

std::vector<std::string_view> split_tabs(std::string_view s) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto tab = s.find('\t');
    out.push_back(s.substr(0, tab));
    if (tab == std::string_view::npos) break;
    s.remove_prefix(tab + 1);
  }
  return out;
}

std::optional<QueueRecord::Kind> parse_kind(std::string_view s) {
  for (auto k : all_kinds) {
    if (to_string(k) == s) return k;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(RecipientState s) noexcept {
  switch (s) {
    case RecipientState::pending: return "pending";
    case RecipientState::deferred: return "deferred";
    case RecipientState::delivered: return "delivered";
    case RecipientState::bounced: return "bounced";
  }
  MAIL_UNREACHABLE();
}

std::string_view to_string(QueueRecord::Kind k) noexcept {
  switch (k) {
    case QueueRecord::Kind::delivered: return "delivered";
    case QueueRecord::Kind::bounced: return "bounced";
    case QueueRecord::Kind::deferred: return "deferred";
    case QueueRecord::Kind::delay_warned: return "delay_warned";
    case QueueRecord::Kind::held: return "held";
    case QueueRecord::Kind::released: return "released";
    case QueueRecord::Kind::reported: return "reported";
  }
  MAIL_UNREACHABLE();
}

bool is_recipient_record(QueueRecord::Kind k) noexcept {
  return k == QueueRecord::Kind::delivered || k == QueueRecord::Kind::bounced || k == QueueRecord::Kind::deferred ||
         k == QueueRecord::Kind::delay_warned;
}

bool is_valid_queue_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > queue_id_bytes_max) return false;
  for (char c : id) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-';
    if (!ok) return false;
  }
  return true;
}

void apply(QueuedMessage& message, const QueueRecord& record) {
  using Kind = QueueRecord::Kind;
  if (!is_recipient_record(record.kind)) {
    switch (record.kind) {
      case Kind::held: message.held = true; break;
      case Kind::released: message.held = false; break;
      case Kind::reported: message.reported = true; break;
      default: MAIL_UNREACHABLE();
    }
    return;
  }
  MAIL_ASSERT(record.recipient < message.recipients.size());
  QueuedRecipient& r = message.recipients[record.recipient];
  // Final is final: a duplicate or late record (a crash between acting and recording, then
  // a second attempt) must not count twice or resurrect the recipient.
  if (r.state == RecipientState::delivered || r.state == RecipientState::bounced) return;
  if (record.kind == Kind::delay_warned) {
    r.delay_warned = true;
    return;
  }
  const std::uint32_t before = r.attempts;
  if (r.attempts < std::numeric_limits<std::uint32_t>::max()) ++r.attempts;
  r.last_reply = record.reply;
  r.remote_mta = record.remote_mta;
  switch (record.kind) {
    case Kind::delivered:
      r.state = RecipientState::delivered;
      r.next_attempt = WallTime{};
      break;
    case Kind::bounced:
      r.state = RecipientState::bounced;
      r.next_attempt = WallTime{};
      break;
    case Kind::deferred:
      r.state = RecipientState::deferred;
      r.next_attempt = record.next_attempt;
      break;
    default: MAIL_UNREACHABLE();
  }
  MAIL_ASSERT(r.attempts >= before);
  MAIL_ASSERT(r.state != RecipientState::pending);
}

std::string encode_envelope_line(const QueuedMessage& m) {
  MAIL_ASSERT(is_valid_queue_id(m.id));
  MAIL_ASSERT(!m.recipients.empty());
  std::string out;
  out.reserve(256 + 64 * m.recipients.size());
  out += envelope_tag;
  out += '\t';
  out += m.id;  // valid ids need no escaping
  out += '\t';
  put_i64(out, m.arrival.unix_us);
  out += '\t';
  put_path(out, m.sender);
  out += '\t';
  out += body_code(m.mail_params.body);
  out += '\t';
  out += m.mail_params.smtputf8 ? '1' : '0';
  out += '\t';
  out += ret_code(m.mail_params.ret);
  out += '\t';
  put_opt(out, m.mail_params.size);
  out += '\t';
  put_opt(out, m.mail_params.envid);
  out += '\t';
  put_opt(out, m.mail_params.auth);
  out += '\t';
  put_escaped(out, m.auth_identity);
  out += '\t';
  put_escaped(out, m.client_address);
  out += '\t';
  put_escaped(out, m.helo);
  out += '\t';
  put_u64(out, m.size_bytes);
  out += '\t';
  put_u64(out, m.recipients.size());
  for (const QueuedRecipient& r : m.recipients) {
    out += '\t';
    put_path(out, r.recipient.path);
    out += '\t';
    put_u64(out, notify_bits(r.recipient.params.notify));
    out += '\t';
    put_opt(out, r.recipient.params.orcpt_type);
    out += '\t';
    put_opt(out, r.recipient.params.orcpt);
  }
  MAIL_ASSERT(out.find('\n') == std::string::npos);
  return seal(std::move(out));
}

std::string encode_record_line(const QueueRecord& r) {
  std::string out;
  out.reserve(64 + r.reply.size() + r.remote_mta.size());
  out += record_tag;
  out += '\t';
  out += to_string(r.kind);
  out += '\t';
  put_u64(out, r.recipient);
  out += '\t';
  put_i64(out, r.at.unix_us);
  out += '\t';
  put_i64(out, r.next_attempt.unix_us);
  out += '\t';
  put_escaped(out, r.reply);
  out += '\t';
  put_escaped(out, r.remote_mta);
  MAIL_ASSERT(out.find('\n') == std::string::npos);
  return seal(std::move(out));
}

std::optional<QueuedMessage> decode_envelope_line(std::string_view line) {
  const auto payload = unseal(line);
  if (!payload) return std::nullopt;
  const std::vector<std::string_view> f = split_tabs(*payload);
  if (f.size() < envelope_head_fields || f[0] != envelope_tag) return std::nullopt;
  QueuedMessage m;
  if (!is_valid_queue_id(f[1])) return std::nullopt;
  m.id = std::string(f[1]);
  const auto arrival = parse_i64(f[2]);
  auto sender = parse_path_fields(f[3], f[4], f[5]);
  const auto body = parse_body(f[6]);
  const auto utf8 = parse_flag(f[7]);
  const auto ret = parse_ret(f[8]);
  const auto size = parse_opt_u64(f[9]);
  auto envid = parse_opt_string(f[10]);
  auto auth = parse_opt_string(f[11]);
  auto auth_identity = unescape(f[12]);
  auto client_address = unescape(f[13]);
  auto helo = unescape(f[14]);
  const auto size_bytes = parse_u64(f[15]);
  if (!arrival || !sender || !body || !utf8 || !ret || !size || !envid || !auth || !auth_identity || !client_address ||
      !helo || !size_bytes) {
    return std::nullopt;
  }
  m.arrival = WallTime{*arrival};
  m.sender = std::move(*sender);
  m.mail_params.body = *body;
  m.mail_params.smtputf8 = *utf8;
  m.mail_params.ret = *ret;
  m.mail_params.size = *size;
  m.mail_params.envid = std::move(*envid);
  m.mail_params.auth = std::move(*auth);
  m.auth_identity = std::move(*auth_identity);
  m.client_address = std::move(*client_address);
  m.helo = std::move(*helo);
  m.size_bytes = *size_bytes;
  // The count must match the fields exactly; checked before reserving anything.
  const std::size_t rest = f.size() - envelope_head_fields;
  if (rest < 1) return std::nullopt;
  const auto count = parse_u64(f[envelope_head_fields]);
  if (!count || *count == 0 || *count > (rest - 1) / recipient_fields || (rest - 1) != *count * recipient_fields) {
    return std::nullopt;
  }
  m.recipients.reserve(*count);
  for (std::size_t i = 0; i < *count; ++i) {
    const std::size_t b = envelope_head_fields + 1 + i * recipient_fields;
    auto path = parse_path_fields(f[b], f[b + 1], f[b + 2]);
    const auto notify = parse_u64(f[b + 3], 15);
    auto orcpt_type = parse_opt_string(f[b + 4]);
    auto orcpt = parse_opt_string(f[b + 5]);
    if (!path || !notify || !orcpt_type || !orcpt) return std::nullopt;
    QueuedRecipient r;
    r.recipient.path = std::move(*path);
    r.recipient.params.notify = notify_from_bits(*notify);
    r.recipient.params.orcpt_type = std::move(*orcpt_type);
    r.recipient.params.orcpt = std::move(*orcpt);
    m.recipients.push_back(std::move(r));
  }
  MAIL_ASSERT(!m.recipients.empty());
  MAIL_ASSERT(m.recipients.size() == *count);
  return m;
}

std::optional<QueueRecord> decode_record_line(std::string_view line) {
  const auto payload = unseal(line);
  if (!payload) return std::nullopt;
  const std::vector<std::string_view> f = split_tabs(*payload);
  if (f.size() != record_fields || f[0] != record_tag) return std::nullopt;
  const auto kind = parse_kind(f[1]);
  const auto recipient = parse_u64(f[2], std::numeric_limits<std::uint32_t>::max());
  const auto at = parse_i64(f[3]);
  const auto next = parse_i64(f[4]);
  auto reply = unescape(f[5]);
  auto remote = unescape(f[6]);
  if (!kind || !recipient || !at || !next || !reply || !remote) return std::nullopt;
  QueueRecord r;
  r.kind = *kind;
  r.recipient = static_cast<std::uint32_t>(*recipient);
  r.at = WallTime{*at};
  r.next_attempt = WallTime{*next};
  r.reply = std::move(*reply);
  r.remote_mta = std::move(*remote);
  return r;
}

Result<DecodedQueueFile> decode_queue_file(std::string_view text) {
  const auto first_nl = text.find('\n');
  if (first_nl == std::string_view::npos) return fail(Errc::invalid, "queue file: envelope line incomplete");
  auto envelope = decode_envelope_line(text.substr(0, first_nl));
  if (!envelope) return fail(Errc::invalid, "queue file: bad envelope line");
  DecodedQueueFile out;
  out.message = std::move(*envelope);
  out.valid_bytes = first_nl + 1;
  std::size_t bad_since_good = 0;
  std::size_t cursor = first_nl + 1;
  while (cursor < text.size()) {
    const auto nl = text.find('\n', cursor);
    if (nl == std::string_view::npos) break;  // no "\n": torn, whatever it holds
    const auto rec = decode_record_line(text.substr(cursor, nl - cursor));
    const bool good =
        rec.has_value() && (!is_recipient_record(rec->kind) || rec->recipient < out.message.recipients.size());
    if (good) {
      apply(out.message, *rec);
      ++out.records;
      out.bad_lines += bad_since_good;
      bad_since_good = 0;
      out.valid_bytes = nl + 1;
    } else {
      ++bad_since_good;
    }
    cursor = nl + 1;
  }
  out.torn_tail = out.valid_bytes < text.size();
  MAIL_ASSERT(out.valid_bytes <= text.size());
  MAIL_ASSERT(out.valid_bytes == text.size() || out.torn_tail);
  return out;
}

}  // namespace mail::store
