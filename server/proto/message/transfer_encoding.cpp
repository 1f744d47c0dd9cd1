// RFC 2045 §6.7 quoted-printable and §6.8 base64 decoding, lenient as readers must be
// (§6.8: "any characters outside of the base64 alphabet are to be ignored"), and the
// dispatch on the Content-Transfer-Encoding value (RFC 3516 §4.3 UNKNOWN-CTE). Pure.
#include "proto/message/transfer_encoding.h"

#include <cstdint>

#include "core/ascii.h"
#include "core/assert.h"

namespace mail::message {

namespace {

int b64_value(unsigned char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int hex_value(unsigned char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;  // §6.7 (1): lower case accepted on input
  return -1;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (is_blank(static_cast<unsigned char>(s.front())) || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (is_blank(static_cast<unsigned char>(s.back())) || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::string decode_base64_lenient(std::string_view in) {
  std::string out;
  out.reserve(in.size() / 4 * 3 + 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char ch : in) {
    if (ch == '=') break;  // §6.8: padding ends the data
    const int v = b64_value(static_cast<unsigned char>(ch));
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  MAIL_ASSERT(out.size() <= in.size());
  return out;
}

std::string decode_quoted_printable(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c != '=') {
      out.push_back(c);
      continue;
    }
    // §6.7 (5): "=" at the end of a line (optionally after transport padding) is a soft
    // line break.
    std::size_t j = i + 1;
    while (j < in.size() && is_blank(static_cast<unsigned char>(in[j]))) ++j;
    if (j == in.size()) { i = j; continue; }
    if (in[j] == '\n') { i = j; continue; }
    if (in[j] == '\r' && j + 1 < in.size() && in[j + 1] == '\n') { i = j + 1; continue; }
    if (i + 2 < in.size()) {
      const int hi = hex_value(static_cast<unsigned char>(in[i + 1]));
      const int lo = hex_value(static_cast<unsigned char>(in[i + 2]));
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back('=');  // a malformed "=" is kept literally (the §6.7 note's advice)
  }
  MAIL_ASSERT(out.size() <= in.size());
  return out;
}

Result<std::string> decode_transfer(std::string_view body, std::string_view encoding) {
  const std::string_view e = trim(encoding);
  if (e.empty() || iequals(e, "7bit") || iequals(e, "8bit") || iequals(e, "binary")) return std::string(body);
  if (iequals(e, "base64")) return decode_base64_lenient(body);
  if (iequals(e, "quoted-printable")) return decode_quoted_printable(body);
  return fail(Errc::unsupported, "unknown Content-Transfer-Encoding");
}

}  // namespace mail::message
