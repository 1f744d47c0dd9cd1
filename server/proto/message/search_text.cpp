// Searchable text of a message (RFC 9051 §6.4.4 SEARCH keys HEADER/BODY/TEXT, and FTS):
// decoded header fields and transfer-/charset-decoded text parts, plus Unicode simple case
// folding (Unicode CaseFolding.txt, statuses C and S) for Latin, Greek and Cyrillic and a
// substring matcher over folded text. Pure; output bounded by the caller's byte budget.
#include "proto/message/search_text.h"

#include <cstdint>

#include "core/assert.h"
#include "proto/message/encoded_word.h"
#include "proto/message/header.h"
#include "proto/message/transfer_encoding.h"
#include "core/utf8.h"

namespace mail::message {

namespace {

// Appends `s` to `out` without growing `out` past `max`, cutting at a UTF-8 boundary.
// Returns false when something was cut.
bool append_bounded(std::string& out, std::string_view s, std::size_t max) {
  if (out.size() >= max) return s.empty();
  std::size_t room = max - out.size();
  if (s.size() <= room) {
    out.append(s);
    return true;
  }
  while (room > 0 && (static_cast<unsigned char>(s[room]) & 0xC0) == 0x80) --room;
  out.append(s.substr(0, room));
  return false;
}

std::uint32_t fold(std::uint32_t c) noexcept {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 0x20 : c;
  if (c == 0xB5) return 0x3BC;  // MICRO SIGN -> GREEK SMALL MU
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 0x20;
  if (c >= 0x100 && c <= 0x17F) {
    if (c == 0x130) return c;       // I WITH DOT ABOVE: only a full / Turkic folding exists
    if (c == 0x178) return 0xFF;
    if (c == 0x17F) return 's';     // LONG S
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c & 1) ? c + 1 : c;
    if (c == 0x149 || c == 0x138) return c;
    return (c & 1) ? c : c + 1;
  }
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 0x20;
  if (c == 0x386) return 0x3AC;
  if (c >= 0x388 && c <= 0x38A) return c + 0x25;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 0x3F;
  if (c == 0x3C2) return 0x3C3;  // FINAL SIGMA folds to SIGMA
  if (c >= 0x410 && c <= 0x42F) return c + 0x20;
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;
  if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) || (c >= 0x4D0 && c <= 0x52F))
    return (c & 1) ? c : c + 1;
  if (c == 0x4C0) return 0x4CF;
  if (c >= 0x4C1 && c <= 0x4CE) return (c & 1) ? c + 1 : c;
  return c;
}


}  // namespace

std::string fold_case(std::string_view text) {
  const std::string clean = sanitize_utf8(text);
  std::string out;
  out.reserve(clean.size());
  for (std::size_t i = 0; i < clean.size();) {
    const auto c = static_cast<unsigned char>(clean[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(fold(c)));
      ++i;
      continue;
    }
    // sanitize_utf8 guarantees a complete, valid sequence here.
    const std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    MAIL_ASSERT(i + n <= clean.size());
    std::uint32_t cp = n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(clean[i + k]) & 0x3F);
    append_utf8(out, fold(cp));
    i += n;
  }
  return out;
}

bool search_contains(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  return fold_case(haystack).find(fold_case(needle)) != std::string::npos;
}

SearchText searchable_text(std::string_view message, const MimeTree& tree, std::size_t bytes_max) {
  MAIL_ASSERT(!tree.parts.empty());
  SearchText st;
  const MimePart& root = tree.parts[0];
  MAIL_ASSERT(root.body_begin <= message.size());
  const HeaderFields hf = parse_header_fields(message.substr(0, root.body_begin));
  for (const HeaderField& f : hf.fields) {
    std::string line(f.name);
    line.append(": ");
    line.append(decode_encoded_words(unfold(f.value)));
    line.push_back('\n');
    if (!append_bounded(st.headers, sanitize_utf8(line), bytes_max)) { st.truncated = true; break; }
  }
  for (const MimePart& p : tree.parts) {
    if (!p.is_text() || !p.children.empty()) continue;
    MAIL_ASSERT(p.end <= message.size());
    const std::string_view raw = message.substr(p.body_begin, p.end - p.body_begin);
    Result<std::string> decoded = decode_transfer(raw, p.encoding.value_or(std::string()));
    const std::string bytes = decoded.ok() ? std::move(decoded.value()) : std::string(raw);
    std::optional<std::string> utf8 = charset_to_utf8(p.charset(), bytes);
    std::string text = utf8 ? std::move(*utf8) : sanitize_utf8(bytes);
    if (!st.body.empty()) text.insert(text.begin(), '\n');
    if (!append_bounded(st.body, text, bytes_max)) { st.truncated = true; break; }
  }
  return st;
}

}  // namespace mail::message
