// IP address and CIDR text parsing and formatting (RFC 791, RFC 4291 §2.2 / §2.5.5.2,
// RFC 5952 §4, RFC 4632). Pure functions over string_views: no I/O, no exceptions, no
// allocation except the returned strings. Peer and configuration text is untrusted: every
// malformed input is a nullopt, never an assertion.
#include "core/ip_address.h"

#include "core/ascii.h"
#include "core/assert.h"

namespace mail {

namespace {

// The longest valid IPv6 text: 6 groups of 4 hex digits, 6 colons and a 15-octet IPv4 tail.
constexpr std::size_t kIpTextBytesMax = 45;

// One decimal 0..255 part of a dotted quad: 1-3 digits, no leading zero ("0" itself is fine).
std::optional<std::uint8_t> parse_v4_part(std::string_view p) noexcept {
  if (p.empty() || p.size() > 3) return std::nullopt;
  if (p.size() > 1 && p[0] == '0') return std::nullopt;
  unsigned value = 0;
  for (char c : p) {
    if (!is_digit(static_cast<unsigned char>(c))) return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 255) return std::nullopt;
  return static_cast<std::uint8_t>(value);
}

// Dotted quad into out[0..3].
bool parse_v4(std::string_view text, std::uint8_t* out) noexcept {
  for (int i = 0; i < 4; ++i) {
    const std::size_t dot = text.find('.');
    const bool last = i == 3;
    if (last != (dot == std::string_view::npos)) return false;  // exactly three dots
    const auto part = parse_v4_part(last ? text : text.substr(0, dot));
    if (!part) return false;
    out[i] = *part;
    if (!last) text.remove_prefix(dot + 1);
  }
  return true;
}

// 1-4 hex digits.
std::optional<std::uint16_t> parse_hex_group(std::string_view g) noexcept {
  if (g.empty() || g.size() > 4) return std::nullopt;
  unsigned value = 0;
  for (char c : g) {
    const auto u = static_cast<unsigned char>(c);
    if (!is_hex(u)) return std::nullopt;
    const unsigned digit = is_digit(u) ? u - '0' : static_cast<unsigned>(ascii_lower(c) - 'a' + 10);
    value = value * 16 + digit;
  }
  return static_cast<std::uint16_t>(value);
}

// One side of a "::" (or the whole address without one) as 16-bit groups into `groups`
// (capacity 8). The last group may be an IPv4 tail, two groups, when `allow_v4_tail`.
// Returns the number of groups, or -1.
int parse_v6_side(std::string_view side, bool allow_v4_tail, std::uint16_t* groups) noexcept {
  if (side.empty()) return 0;
  int n = 0;
  for (;;) {
    const std::size_t colon = side.find(':');
    const bool last = colon == std::string_view::npos;
    const std::string_view g = last ? side : side.substr(0, colon);
    if (last && allow_v4_tail && g.find('.') != std::string_view::npos) {
      std::uint8_t q[4];
      if (n > 6 || !parse_v4(g, q)) return -1;
      groups[n++] = static_cast<std::uint16_t>(q[0] << 8 | q[1]);
      groups[n++] = static_cast<std::uint16_t>(q[2] << 8 | q[3]);
      return n;
    }
    if (n >= 8) return -1;
    const auto v = parse_hex_group(g);
    if (!v) return -1;
    groups[n++] = *v;
    if (last) return n;
    side.remove_prefix(colon + 1);
  }
}

// RFC 4291 §2.2 text into 16 bytes, without the mapped-address normalisation.
bool parse_v6(std::string_view text, std::array<std::uint8_t, 16>& out) noexcept {
  std::uint16_t head[8] = {}, tail[8] = {};
  int nh = 0, nt = 0;
  const std::size_t dc = text.find("::");
  if (dc == std::string_view::npos) {
    nh = parse_v6_side(text, true, head);
    if (nh != 8) return false;
  } else {
    const std::string_view left = text.substr(0, dc), right = text.substr(dc + 2);
    // One "::" at most; ":::" leaves an empty group on the right, rejected there.
    if (right.find("::") != std::string_view::npos) return false;
    nh = parse_v6_side(left, false, head);
    nt = parse_v6_side(right, true, tail);
    // "::" stands for one or more zero groups (§2.2 form 2).
    if (nh < 0 || nt < 0 || nh + nt > 7) return false;
  }
  out.fill(0);
  for (int i = 0; i < nh; ++i) {
    out[2 * i] = static_cast<std::uint8_t>(head[i] >> 8);
    out[2 * i + 1] = static_cast<std::uint8_t>(head[i] & 0xff);
  }
  for (int i = 0; i < nt; ++i) {
    const int at = 8 - nt + i;
    out[2 * at] = static_cast<std::uint8_t>(tail[i] >> 8);
    out[2 * at + 1] = static_cast<std::uint8_t>(tail[i] & 0xff);
  }
  return true;
}

// RFC 4291 §2.5.5.2: ::ffff:0:0/96.
bool is_v4_mapped(const std::array<std::uint8_t, 16>& b) noexcept {
  for (int i = 0; i < 10; ++i)
    if (b[i] != 0) return false;
  return b[10] == 0xff && b[11] == 0xff;
}

IpAddress v4_from_mapped(const std::array<std::uint8_t, 16>& b) noexcept {
  IpAddress ip;
  ip.v4 = true;
  for (int i = 0; i < 4; ++i) ip.bytes[i] = b[12 + i];
  return ip;
}

// Raw parse: IPv4 text, or IPv6 text as 16 bytes (mapped addresses not yet normalised).
std::optional<IpAddress> parse_raw(std::string_view text) noexcept {
  if (text.empty() || text.size() > kIpTextBytesMax) return std::nullopt;
  IpAddress ip;
  if (text.find(':') == std::string_view::npos) {
    if (!parse_v4(text, ip.bytes.data())) return std::nullopt;
    ip.v4 = true;
    return ip;
  }
  if (!parse_v6(text, ip.bytes)) return std::nullopt;
  return ip;
}

void mask(IpAddress& ip, unsigned prefix) noexcept {
  const unsigned bits = ip.v4 ? 32 : 128;
  MAIL_ASSERT(prefix <= bits);
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned lo = i * 8;
    if (lo >= prefix) {
      ip.bytes[i] = 0;
    } else if (prefix - lo < 8) {
      ip.bytes[i] = static_cast<std::uint8_t>(ip.bytes[i] & (0xff << (8 - (prefix - lo))));
    }
  }
}

void append_decimal(std::string& out, unsigned v) {
  char buf[4];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) out.push_back(buf[--n]);
}

}  // namespace

std::string IpAddress::to_string() const {
  std::string out;
  if (v4) {
    out.reserve(15);
    for (int i = 0; i < 4; ++i) {
      if (i) out.push_back('.');
      append_decimal(out, bytes[i]);
    }
    return out;
  }
  MAIL_ASSERT(!is_v4_mapped(bytes));  // parse_ip normalises these to v4
  std::uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = static_cast<std::uint16_t>(bytes[2 * i] << 8 | bytes[2 * i + 1]);
  // RFC 5952 §4.2: compress the longest run (>= 2) of zero groups, the first one on a tie.
  int best_at = -1, best_len = 1;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) {
      best_at = i;
      best_len = j - i;
    }
    i = j;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(39);
  for (int i = 0; i < 8; ++i) {
    if (i == best_at) {
      out.append("::");
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out.push_back(':');
    // RFC 5952 §4.1: no leading zeros; §4.3: lower case.
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const unsigned nib = (g[i] >> shift) & 0xf;
      if (nib != 0 || started || shift == 0) {
        out.push_back(kHex[nib]);
        started = true;
      }
    }
  }
  MAIL_ASSERT(out.size() >= 2);
  return out;
}

bool IpAddress::is_loopback() const noexcept {
  if (v4) return bytes[0] == 127;
  for (int i = 0; i < 15; ++i)
    if (bytes[i] != 0) return false;
  return bytes[15] == 1;
}

std::optional<IpAddress> parse_ip(std::string_view text) noexcept {
  auto ip = parse_raw(text);
  if (!ip) return std::nullopt;
  if (!ip->v4 && is_v4_mapped(ip->bytes)) ip = v4_from_mapped(ip->bytes);
  MAIL_ASSERT(ip->v4 || !is_v4_mapped(ip->bytes));
  return ip;
}

std::optional<Cidr> parse_cidr(std::string_view text) noexcept {
  const std::size_t slash = text.find('/');
  auto ip = parse_raw(text.substr(0, slash));
  if (!ip) return std::nullopt;
  unsigned prefix = ip->v4 ? 32 : 128;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
    prefix = 0;
    for (char c : digits) {
      if (!is_digit(static_cast<unsigned char>(c))) return std::nullopt;
      prefix = prefix * 10 + static_cast<unsigned>(c - '0');
    }
    if (prefix > (ip->v4 ? 32u : 128u)) return std::nullopt;
  }
  if (!ip->v4 && is_v4_mapped(ip->bytes)) {
    // The network lies inside ::ffff:0:0/96 only when N >= 96; then it is that IPv4 network.
    if (prefix < 96) return std::nullopt;
    ip = v4_from_mapped(ip->bytes);
    prefix -= 96;
  }
  mask(*ip, prefix);
  Cidr net{*ip, static_cast<std::uint8_t>(prefix)};
  MAIL_ASSERT(net.prefix <= (net.base.v4 ? 32 : 128));
  MAIL_ASSERT(contains(net, net.base));
  return net;
}

std::string to_string(const Cidr& net) {
  std::string out = net.base.to_string();
  out.push_back('/');
  append_decimal(out, net.prefix);
  return out;
}

bool contains(const Cidr& net, const IpAddress& ip) noexcept {
  MAIL_ASSERT(net.prefix <= (net.base.v4 ? 32 : 128));
  if (net.base.v4 != ip.v4) return false;
  const unsigned full = net.prefix / 8, rest = net.prefix % 8;
  for (unsigned i = 0; i < full; ++i)
    if (net.base.bytes[i] != ip.bytes[i]) return false;
  if (rest == 0) return true;
  const auto m = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (net.base.bytes[full] & m) == (ip.bytes[full] & m);
}

}  // namespace mail
