// JMAP ids (see header). Must not: produce an id outside RFC 8620 §1.2, or accept one.
#include "jmap/ids.h"

#include <charconv>

namespace mail::jmap {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int digit_of(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::optional<std::string> suffix_after(std::string_view id, char prefix) {
  if (id.size() < 2 || id.front() != prefix || !is_valid_id(id)) return std::nullopt;
  auto decoded = unbase64url(id.substr(1));
  if (!decoded || decoded->empty()) return std::nullopt;
  return decoded;
}

}  // namespace

bool is_valid_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 255) return false;
  for (char c : id) {
    if (digit_of(c) < 0) return false;
  }
  return true;
}

std::string base64url(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                            (std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                            static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (rest == 2) v |= std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    if (rest == 2) out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> unbase64url(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int d = digit_of(c);
    if (d < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Canonical form only: the unused low bits of the last digit are zero.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string mailbox_id(std::uint32_t uidvalidity) { return prefixed('M', std::to_string(uidvalidity)); }

std::optional<std::uint32_t> parse_mailbox_id(std::string_view id) {
  if (id.size() < 2 || id.front() != 'M' || id[1] == '0') return std::nullopt;
  std::uint32_t v = 0;
  const auto* end = id.data() + id.size();
  const auto [ptr, ec] = std::from_chars(id.data() + 1, end, v);
  if (ec != std::errc{} || ptr != end) return std::nullopt;
  return v;
}

std::string email_id(std::string_view content_id) { return prefixed('E', base64url(content_id)); }
std::string thread_id(std::string_view content_id) { return prefixed('T', base64url(content_id)); }
std::string message_blob_id(std::string_view content_id) { return prefixed('B', base64url(content_id)); }

std::string part_blob_id(std::string_view content_id, std::string_view part_id) {
  std::string id = "P";
  for (char c : part_id) id += c == '.' ? '-' : c;
  id += 'Z';
  id += base64url(content_id);
  return id;
}

std::optional<std::string> parse_email_id(std::string_view id) { return suffix_after(id, 'E'); }
std::optional<std::string> parse_thread_id(std::string_view id) { return suffix_after(id, 'T'); }

std::optional<BlobRef> parse_blob_id(std::string_view id) {
  if (!is_valid_id(id) || id.size() < 2) return std::nullopt;
  BlobRef ref;
  switch (id.front()) {
    case 'B': {
      auto content = suffix_after(id, 'B');
      if (!content) return std::nullopt;
      ref.content_id = std::move(*content);
      return ref;
    }
    case 'U':
      for (char c : id.substr(1)) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
      }
      ref.kind = BlobRef::Kind::upload;
      ref.upload = std::string(id.substr(1));
      return ref;
    case 'P': {
      const auto z = id.find('Z');
      if (z == std::string_view::npos || z == 1) return std::nullopt;
      for (char c : id.substr(1, z - 1)) {
        if (c == '-') {
          ref.part_id += '.';
        } else if (c >= '0' && c <= '9') {
          ref.part_id += c;
        } else {
          return std::nullopt;
        }
      }
      auto content = unbase64url(id.substr(z + 1));
      if (!content || content->empty()) return std::nullopt;
      ref.kind = BlobRef::Kind::part;
      ref.content_id = std::move(*content);
      return ref;
    }
    default: return std::nullopt;
  }
}

}  // namespace mail::jmap
