// Modified UTF-7 (see mutf7.h). The encoder collects UTF-16 units of a non-ASCII run and
// emits modified base64 (RFC 3501 §5.1.3: "," replaces "/", no "=" padding).
#include "proto/imap/mutf7.h"

#include <cstdint>
#include <vector>

#include "core/assert.h"
#include "core/utf8.h"

namespace mail::imap {
namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int b64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == ',') return 63;
  return -1;
}


void flush_run(std::string& out, const std::vector<std::uint16_t>& units) {
  out.push_back('&');
  std::uint32_t acc = 0;
  int bits = 0;
  for (const std::uint16_t u : units) {
    acc = (acc << 16) | u;
    bits += 16;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kB64[(acc >> bits) & 0x3F]);
    }
    acc &= (1u << bits) - 1;
  }
  if (bits > 0) out.push_back(kB64[(acc << (6 - bits)) & 0x3F]);
  out.push_back('-');
}

}  // namespace

std::optional<std::string> mutf7_encode(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  std::vector<std::uint16_t> run;
  for (std::size_t i = 0; i < utf8.size();) {
    std::uint32_t cp = 0;
    const std::size_t n = next_utf8(utf8, i, cp);
    if (n == 0) return std::nullopt;
    i += n;
    if (cp >= 0x20 && cp <= 0x7E) {
      if (!run.empty()) {
        flush_run(out, run);
        run.clear();
      }
      if (cp == '&') out.append("&-");
      else out.push_back(static_cast<char>(cp));
      continue;
    }
    if (cp >= 0x10000) {
      const std::uint32_t v = cp - 0x10000;
      run.push_back(static_cast<std::uint16_t>(0xD800 | (v >> 10)));
      run.push_back(static_cast<std::uint16_t>(0xDC00 | (v & 0x3FF)));
    } else {
      run.push_back(static_cast<std::uint16_t>(cp));
    }
  }
  if (!run.empty()) flush_run(out, run);
  return out;
}

std::optional<std::string> mutf7_decode(std::string_view in, bool lenient) {
  std::string out;
  out.reserve(in.size());
  bool last_was_shift = false;  // the previous token was a non-empty base64 run
  for (std::size_t i = 0; i < in.size();) {
    const char c = in[i];
    const auto uc = static_cast<unsigned char>(c);
    // Even lenient decoding refuses these: 8-bit or control octets are not modified UTF-7.
    if (uc < 0x20 || uc > 0x7E) return std::nullopt;
    if (c != '&') {
      out.push_back(c);
      last_was_shift = false;
      ++i;
      continue;
    }
    ++i;
    if (i < in.size() && in[i] == '-') {  // "&-" is "&"
      out.push_back('&');
      last_was_shift = false;
      ++i;
      continue;
    }
    if (last_was_shift && !lenient) return std::nullopt;  // adjacent shifts are not canonical
    std::uint32_t acc = 0;
    int bits = 0;
    std::uint16_t high = 0;  // a pending high surrogate
    bool any = false;
    while (i < in.size() && in[i] != '-') {
      const int v = b64_value(in[i]);
      if (v < 0) {
        if (!lenient) return std::nullopt;
        break;  // lenient: the shift ends at the first non-base64 octet
      }
      ++i;
      acc = (acc << 6) | static_cast<std::uint32_t>(v);
      bits += 6;
      if (bits < 16) continue;
      bits -= 16;
      const auto u = static_cast<std::uint16_t>((acc >> bits) & 0xFFFF);
      acc &= (1u << bits) - 1;
      any = true;
      if (high != 0) {
        if (u >= 0xDC00 && u <= 0xDFFF) {
          append_utf8(out, 0x10000 + ((static_cast<std::uint32_t>(high - 0xD800) << 10) | (u - 0xDC00)));
          high = 0;
          continue;
        }
        if (!lenient) return std::nullopt;
        append_utf8(out, 0xFFFD);
        high = 0;
      }
      if (u >= 0xD800 && u <= 0xDBFF) {
        high = u;
      } else if (u >= 0xDC00 && u <= 0xDFFF) {
        if (!lenient) return std::nullopt;
        append_utf8(out, 0xFFFD);
      } else {
        if (u >= 0x20 && u <= 0x7E && !lenient) return std::nullopt;  // must have been sent directly
        append_utf8(out, u);
      }
    }
    if (high != 0) {
      if (!lenient) return std::nullopt;
      append_utf8(out, 0xFFFD);
    }
    // Leftover bits: fewer than 6 and all zero (RFC 3501 §5.1.3 via RFC 2152).
    if (!lenient && (bits >= 6 || acc != 0)) return std::nullopt;
    if (!any && !lenient) return std::nullopt;
    if (i < in.size() && in[i] == '-') ++i;
    else if (!lenient) return std::nullopt;  // unterminated
    last_was_shift = true;
  }
  MAIL_ASSERT(is_valid_utf8(out));
  return out;
}

}  // namespace mail::imap
