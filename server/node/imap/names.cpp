// Mailbox name codec and LIST matching (see header).
#include "node/imap/names.h"

#include "core/ascii.h"
#include "proto/imap/mutf7.h"
#include "store/mail_store.h"

namespace mail::node::imapsrv {

std::string canonical_inbox_prefix(std::string_view name) {
  auto is_inbox = [](std::string_view s) {
    if (s.size() != 5) return false;
    for (std::size_t i = 0; i < 5; ++i)
      if (ascii_lower(s[i]) != "inbox"[i]) return false;
    return true;
  };
  if (is_inbox(name.substr(0, 5)) && (name.size() == 5 || name[5] == store::kFolderDelimiter)) {
    std::string out = "INBOX";
    out += name.substr(5);
    return out;
  }
  return std::string(name);
}

std::optional<std::string> decode_mailbox_name(std::string_view wire, bool utf8) {
  std::string name;
  if (utf8) {
    if (!mail::imap::is_valid_utf8(wire)) return std::nullopt;
    name = wire;
  } else {
    auto decoded = mail::imap::mutf7_decode(wire, /*lenient=*/true);
    if (!decoded) return std::nullopt;
    name = std::move(*decoded);
  }
  if (name.empty() || name.front() == store::kFolderDelimiter || name.back() == store::kFolderDelimiter) return std::nullopt;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f) return std::nullopt;
    if (name[i] == store::kFolderDelimiter && i + 1 < name.size() && name[i + 1] == store::kFolderDelimiter)
      return std::nullopt;
  }
  return canonical_inbox_prefix(name);
}

std::string encode_mailbox_name(std::string_view name, bool utf8) {
  if (utf8) return std::string(name);
  auto encoded = mail::imap::mutf7_encode(name);
  return encoded ? std::move(*encoded) : std::string(name);
}

bool list_match(std::string_view pattern, std::string_view name) {
  // Iterative wildcard match with backtracking on the last '*' / '%'.
  std::size_t p = 0, n = 0;
  std::size_t star_p = std::string_view::npos, star_n = 0;
  bool star_is_percent = false;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '*' || pattern[p] == '%')) {
      star_is_percent = pattern[p] == '%';
      star_p = p++;
      star_n = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star_p != std::string_view::npos && !(star_is_percent && name[star_n] == store::kFolderDelimiter)) {
      p = star_p + 1;
      n = ++star_n;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && (pattern[p] == '*' || pattern[p] == '%')) ++p;
  return p == pattern.size();
}

}  // namespace mail::node::imapsrv
