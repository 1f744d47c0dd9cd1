// RFC 8621 §5 SearchSnippet: case-insensitive matching on a case-folded copy of the text
// that keeps, for each folded octet, the offset of its original character, so marks land
// on the original text. Pure.
#include "jmap/search_snippet.h"

#include <algorithm>
#include <utility>

#include "core/utf8.h"
#include "jmap/email_parse.h"
#include "proto/message/encoded_word.h"
#include "proto/message/header.h"
#include "proto/message/search_text.h"

namespace mail::jmap {

namespace {

constexpr std::size_t kLeadCharsMax = 40;  // context kept before the first match

struct Folded {
  std::string text;
  std::vector<std::size_t> origin;  // origin[i]: offset in the original of folded octet i; one extra at the end
};

Folded fold(std::string_view s) {
  Folded f;
  std::size_t i = 0;
  while (i < s.size()) {
    std::uint32_t cp = 0;
    std::size_t len = next_utf8(s, i, cp);
    if (len == 0) len = 1;
    const std::string piece = message::fold_case(s.substr(i, len));
    f.text += piece;
    f.origin.insert(f.origin.end(), piece.size(), i);
    i += len;
  }
  f.origin.push_back(s.size());
  return f;
}

// Non-overlapping [begin, end) original ranges of the matches, in order.
std::vector<std::pair<std::size_t, std::size_t>> matches(std::string_view text, const std::vector<std::string>& terms) {
  const Folded f = fold(text);
  std::vector<std::pair<std::size_t, std::size_t>> all;
  for (const std::string& term : terms) {
    const std::string t = message::fold_case(term);
    if (t.empty()) continue;
    for (std::size_t p = f.text.find(t); p != std::string::npos; p = f.text.find(t, p + 1)) {
      const std::size_t b = f.origin[p];
      // The end is the start of the first character not covered by the match.
      std::size_t e = p + t.size();
      while (e < f.text.size() && f.origin[e] == f.origin[e - 1]) ++e;
      all.emplace_back(b, f.origin[e]);
    }
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second > b.second;
  });
  std::vector<std::pair<std::size_t, std::size_t>> out;
  for (const auto& m : all) {
    if (m.second <= m.first) continue;
    if (!out.empty() && m.first < out.back().second) continue;  // overlaps an earlier, longer match
    out.push_back(m);
  }
  return out;
}

void append_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out.push_back(c);
  }
}

std::size_t escaped_size(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += c == '&' ? 5 : (c == '<' || c == '>') ? 4 : 1;
  return n;
}

// Offset of the character boundary at or before `i`.
std::size_t char_start(std::string_view s, std::size_t i) {
  while (i > 0 && i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

}  // namespace

std::optional<std::string> mark_matches(std::string_view text, const std::vector<std::string>& terms,
                                        std::size_t octets_max) {
  const auto found = matches(text, terms);
  if (found.empty()) return std::nullopt;
  std::size_t pos = 0;
  if (octets_max > 0) {
    // Start a few words before the first match, at a word start when there is one.
    std::size_t start = found.front().first;
    std::size_t chars = 0;
    while (start > 0 && chars < kLeadCharsMax) {
      start = char_start(text, start - 1);
      ++chars;
    }
    if (start > 0) {
      const std::size_t space = text.find(' ', start);
      if (space != std::string_view::npos && space < found.front().first) start = space + 1;
    }
    pos = start;
  }
  std::string out;
  const std::size_t budget = octets_max == 0 ? std::string::npos : octets_max;
  // Appends text[pos, end) escaped, as much as fits, whole characters only; false when cut.
  auto plain = [&](std::size_t end) {
    while (pos < end) {
      std::uint32_t cp = 0;
      std::size_t len = next_utf8(text, pos, cp);
      if (len == 0) len = 1;
      const std::string_view ch = text.substr(pos, len);
      if (out.size() + escaped_size(ch) > budget) return false;
      append_escaped(out, ch);
      pos += len;
    }
    return true;
  };
  for (const auto& [b, e] : found) {
    if (b < pos) continue;
    if (!plain(b)) return out;
    const std::string_view hit = text.substr(b, e - b);
    if (out.size() + 13 + escaped_size(hit) > budget) return out;  // "<mark></mark>" whole or not at all
    out += "<mark>";
    append_escaped(out, hit);
    out += "</mark>";
    pos = e;
  }
  plain(text.size());
  return out;
}

SearchSnippet search_snippet(std::string_view message, const std::vector<std::string>& terms) {
  SearchSnippet s;
  const std::string_view header = message.substr(0, message::body_offset(message));
  const auto fields = message::parse_header_fields(header).fields;
  if (auto subject = message::field_value(fields, "Subject"))
    s.subject = mark_matches(message::sanitize_utf8(message::decode_encoded_words(*subject)), terms, 0);
  const std::string body = collapse_whitespace(all_text_body(message), std::string::npos);
  s.preview = mark_matches(body, terms, kSnippetPreviewOctetsMax);
  return s;
}

}  // namespace mail::jmap
