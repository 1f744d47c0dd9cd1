// Content-Type / Content-Disposition / Content-Language value parsing: RFC 2045 §5.1 token
// and tspecials, RFC 5322 §3.2.2 comments, RFC 2231 §3 continuations and §4 extended values
// (joined, then decoded to UTF-8). Lenient: 8-bit octets are token text, a malformed
// parameter is skipped up to the next ';'. Pure; at most params_max parameters kept.
#include "proto/message/content_type.h"

#include <algorithm>
#include <map>

#include "core/ascii.h"
#include "core/assert.h"
#include "proto/message/encoded_word.h"

namespace mail::message {

namespace {

// RFC 2045 §5.1 tspecials.
bool is_tspecial(char c) noexcept {
  switch (c) {
    case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':':
    case '\\': case '"': case '/': case '[': case ']': case '?': case '=':
      return true;
    default:
      return false;
  }
}
bool is_token_char(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u > 32 && u != 127 && !is_tspecial(c);
}

// A cursor over a structured field value.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool done() const noexcept { return i_ >= s_.size(); }
  char peek() const noexcept { return done() ? '\0' : s_[i_]; }
  void advance() noexcept { if (!done()) ++i_; }

  // Skips white space and (nested, §3.2.2) comments; nesting is bounded by the input length.
  void skip_cfws() noexcept {
    while (!done()) {
      const char c = s_[i_];
      if (is_blank(static_cast<unsigned char>(c)) || c == '\r' || c == '\n') { ++i_; continue; }
      if (c != '(') return;
      std::size_t depth = 0;
      while (!done()) {
        const char d = s_[i_++];
        if (d == '\\') { advance(); continue; }
        if (d == '(') ++depth;
        if (d == ')' && --depth == 0) break;
      }
    }
  }
  std::string_view token() noexcept {
    const std::size_t b = i_;
    while (!done() && is_token_char(s_[i_])) ++i_;
    return s_.substr(b, i_ - b);
  }
  // A quoted-string at the cursor ('"' seen), unquoted; an unterminated one runs to the end.
  std::string quoted() {
    MAIL_ASSERT(peek() == '"');
    ++i_;
    std::string out;
    while (!done()) {
      const char c = s_[i_++];
      if (c == '"') break;
      if (c == '\\' && !done()) { out.push_back(s_[i_++]); continue; }
      if (c == '\r' || c == '\n') continue;  // unfolding leftovers
      out.push_back(c);
    }
    return out;
  }
  // Skips to just past the next ';' outside quotes (error recovery).
  void skip_past_semicolon() noexcept {
    while (!done()) {
      const char c = s_[i_];
      if (c == '"') { (void)quoted(); continue; }
      ++i_;
      if (c == ';') return;
    }
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

struct RawParam {
  std::string attr;
  std::string value;
};

std::vector<RawParam> read_params(Reader& r, std::uint32_t max_raw) {
  std::vector<RawParam> out;
  while (true) {
    r.skip_cfws();
    if (r.done()) break;
    // The ';' before a parameter is required by §5.1 but optional here: after a recovery
    // skip it has already been consumed, and some senders omit it.
    if (r.peek() == ';') {
      r.advance();
      continue;
    }
    const std::string_view attr = r.token();
    r.skip_cfws();
    if (attr.empty() || r.peek() != '=') { r.skip_past_semicolon(); continue; }
    r.advance();
    r.skip_cfws();
    std::string value;
    if (r.peek() == '"') {
      value = r.quoted();
    } else {
      // Lenient: a token value may contain tspecials other than ';' (e.g. unquoted '/').
      std::string v;
      while (!r.done() && r.peek() != ';' && !is_blank(static_cast<unsigned char>(r.peek()))) {
        v.push_back(r.peek());
        r.advance();
      }
      value = std::move(v);
    }
    if (out.size() < max_raw) out.push_back(RawParam{std::string(attr), std::move(value)});
  }
  return out;
}

int hexv(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hexv(s[i + 1]) >= 0 && hexv(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexv(s[i + 1]) * 16 + hexv(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// RFC 2231 §7 attribute-char minus '%' is kept; everything else percent-encoded, so a plain
// continuation can join an extended value.
std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (is_token_char(c) && c != '*' && c != '\'' && c != '%') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

struct Section {
  std::uint32_t number = 0;
  bool extended = false;
  std::string value;
};

// RFC 2231 §3/§4: joins "name*N[*]" sections and decodes "name*" values.
std::vector<MimeParam> join_params(std::vector<RawParam> raw, std::uint32_t params_max) {
  struct Group {
    std::string name;  // as first written, without the suffix
    bool any_section = false;
    std::vector<Section> sections;
    std::size_t order = 0;
  };
  std::vector<Group> groups;
  std::map<std::string, std::size_t> by_name;  // lower-case name -> groups index
  for (RawParam& p : raw) {
    std::string_view attr = p.attr;
    Section sec;
    bool has_section = false;
    const std::size_t star = attr.find('*');
    std::string_view name = attr;
    if (star != std::string_view::npos) {
      name = attr.substr(0, star);
      std::string_view rest = attr.substr(star + 1);
      if (!rest.empty() && rest.back() == '*') { sec.extended = true; rest.remove_suffix(1); }
      if (rest.empty()) {
        sec.extended = true;  // "name*": a single extended value
      } else {
        // "name*N" / "name*N*": decimal section number, no leading zeros (§3), bounded.
        if (rest.size() > 3 || (rest.size() > 1 && rest[0] == '0')) continue;
        std::uint32_t n = 0;
        bool digits = true;
        for (char c : rest) {
          if (!is_digit(static_cast<unsigned char>(c))) { digits = false; break; }
          n = n * 10 + static_cast<std::uint32_t>(c - '0');
        }
        if (!digits) continue;
        sec.number = n;
        has_section = true;
      }
    }
    if (name.empty()) continue;
    sec.value = std::move(p.value);
    const std::string key = ascii_lower(name);
    auto it = by_name.find(key);
    if (it == by_name.end()) {
      if (groups.size() >= params_max) continue;
      it = by_name.emplace(key, groups.size()).first;
      groups.push_back(Group{std::string(name), has_section, {}, groups.size()});
    }
    Group& g = groups[it->second];
    // Duplicates: the first value of a section wins (RFC 2045 leaves duplicates undefined).
    const bool dup = std::any_of(g.sections.begin(), g.sections.end(),
                                 [&](const Section& s) { return s.number == sec.number; });
    if (dup) continue;
    g.any_section = g.any_section || has_section;
    g.sections.push_back(std::move(sec));
  }

  std::vector<MimeParam> out;
  out.reserve(groups.size());
  for (Group& g : groups) {
    std::sort(g.sections.begin(), g.sections.end(),
              [](const Section& a, const Section& b) { return a.number < b.number; });
    // §3: sections are numbered from 0 without gaps; stop at the first gap.
    std::size_t count = 0;
    while (count < g.sections.size() && g.sections[count].number == count) ++count;
    if (count == 0) continue;
    const bool extended = g.sections[0].extended;
    MimeParam p;
    p.name = g.name;
    if (!extended) {
      for (std::size_t i = 0; i < count; ++i)
        p.value += g.sections[i].extended ? percent_decode(g.sections[i].value) : g.sections[i].value;
      p.utf8 = decode_encoded_words(p.value);
    } else {
      // §4: the first section is charset'language'value.
      const std::string& first = g.sections[0].value;
      const std::size_t q1 = first.find('\'');
      const std::size_t q2 = q1 == std::string::npos ? std::string::npos : first.find('\'', q1 + 1);
      std::string charset, prefix, encoded;
      if (q2 == std::string::npos) {
        prefix = "''";
        encoded = first;
      } else {
        charset = first.substr(0, q1);
        prefix = first.substr(0, q2 + 1);
        encoded = first.substr(q2 + 1);
      }
      for (std::size_t i = 1; i < count; ++i)
        encoded += g.sections[i].extended ? g.sections[i].value : percent_encode(g.sections[i].value);
      p.name += '*';
      p.value = prefix + encoded;
      const std::string bytes = percent_decode(encoded);
      auto utf8 = charset_to_utf8(charset, bytes);
      p.utf8 = utf8 ? std::move(*utf8) : sanitize_utf8(bytes);
    }
    out.push_back(std::move(p));
  }
  MAIL_ASSERT(out.size() <= params_max);
  return out;
}

}  // namespace

ContentType parse_content_type(std::string_view value, std::uint32_t params_max) {
  ContentType ct;
  Reader r(value);
  r.skip_cfws();
  const std::string_view type = r.token();
  r.skip_cfws();
  if (type.empty() || r.peek() != '/') return ct;
  r.advance();
  r.skip_cfws();
  const std::string_view subtype = r.token();
  if (subtype.empty()) return ct;
  ct.type = std::string(type);
  ct.subtype = std::string(subtype);
  // Raw sections are bounded too: a parameter may have many sections, so allow a multiple.
  ct.params = join_params(read_params(r, params_max * 8), params_max);
  return ct;
}

Disposition parse_disposition(std::string_view value, std::uint32_t params_max) {
  Disposition d;
  Reader r(value);
  r.skip_cfws();
  const std::string_view type = r.token();
  if (type.empty()) return d;
  d.type = std::string(type);
  d.params = join_params(read_params(r, params_max * 8), params_max);
  return d;
}

std::vector<std::string> parse_language(std::string_view value) {
  std::vector<std::string> out;
  Reader r(value);
  while (!r.done() && out.size() < 64) {
    r.skip_cfws();
    const std::string_view tag = r.token();
    if (!tag.empty()) out.emplace_back(tag);
    r.skip_cfws();
    if (!r.done()) r.advance();  // ',' (or junk) between tags
  }
  return out;
}

std::string first_token(std::string_view value) {
  Reader r(value);
  r.skip_cfws();
  return std::string(r.token());
}

}  // namespace mail::message
