// RFC 9051 §6.4.5 section-spec parsing and part addressing over a MimeTree, BODY[section]
// extraction and RFC 3516 §4.2 BINARY[section-part]. Pure: results are substrings of the
// message (HEADER.FIELDS: its field lines) and never read outside it.
#include "proto/message/section.h"

#include <algorithm>

#include "core/ascii.h"
#include "core/assert.h"
#include "proto/message/transfer_encoding.h"

namespace mail::message {

namespace {

constexpr std::uint32_t kPartNumberMax = 1'000'000;
constexpr std::size_t kFieldNamesMax = 1000;

// RFC 9051 §9 header-fld-name = astring: an atom (ASTRING-CHAR) or a quoted string.
bool read_astring(std::string_view& s, std::string& out) {
  out.clear();
  if (!s.empty() && s.front() == '"') {
    s.remove_prefix(1);
    while (!s.empty() && s.front() != '"') {
      if (s.front() == '\\' && s.size() > 1) s.remove_prefix(1);
      out.push_back(s.front());
      s.remove_prefix(1);
    }
    if (s.empty()) return false;
    s.remove_prefix(1);
    return true;
  }
  while (!s.empty()) {
    const auto c = static_cast<unsigned char>(s.front());
    if (c <= ' ' || c >= 0x7F || c == '(' || c == ')' || c == '{' || c == '%' || c == '*' || c == '"' ||
        c == '\\')
      break;
    out.push_back(s.front());
    s.remove_prefix(1);
  }
  return !out.empty();
}

}  // namespace

std::optional<Section> parse_section(std::string_view s) {
  Section sec;
  // section-part = nz-number *("." nz-number)
  while (!s.empty() && is_digit(static_cast<unsigned char>(s.front()))) {
    if (s.front() == '0') return std::nullopt;  // nz-number
    std::uint32_t n = 0;
    while (!s.empty() && is_digit(static_cast<unsigned char>(s.front()))) {
      n = n * 10 + static_cast<std::uint32_t>(s.front() - '0');
      if (n > kPartNumberMax) return std::nullopt;
      s.remove_prefix(1);
    }
    if (sec.part.size() >= 64) return std::nullopt;
    sec.part.push_back(n);
    if (s.empty()) return sec;
    if (s.front() != '.') return std::nullopt;
    s.remove_prefix(1);
    if (s.empty()) return std::nullopt;
  }
  if (s.empty()) return sec;  // "" = the whole message
  if (iequals(s, "HEADER")) { sec.text = SectionText::header; return sec; }
  if (iequals(s, "TEXT")) { sec.text = SectionText::text; return sec; }
  if (iequals(s, "MIME")) {
    if (sec.part.empty()) return std::nullopt;
    sec.text = SectionText::mime;
    return sec;
  }
  if (istarts_with(s, "HEADER.FIELDS.NOT")) {
    sec.text = SectionText::header_fields_not;
    s.remove_prefix(17);
  } else if (istarts_with(s, "HEADER.FIELDS")) {
    sec.text = SectionText::header_fields;
    s.remove_prefix(13);
  } else {
    return std::nullopt;
  }
  // SP "(" header-fld-name *(SP header-fld-name) ")"
  if (s.size() < 2 || s[0] != ' ' || s[1] != '(') return std::nullopt;
  s.remove_prefix(2);
  std::string name;
  while (true) {
    if (!read_astring(s, name)) return std::nullopt;
    if (sec.fields.size() >= kFieldNamesMax) return std::nullopt;
    sec.fields.push_back(name);
    if (s.empty()) return std::nullopt;
    if (s.front() == ')') { s.remove_prefix(1); break; }
    if (s.front() != ' ') return std::nullopt;
    s.remove_prefix(1);
  }
  if (!s.empty()) return std::nullopt;
  return sec;
}

std::optional<std::size_t> find_part(const MimeTree& tree, std::span<const std::uint32_t> path) {
  MAIL_ASSERT(!tree.parts.empty());
  std::size_t cur = 0;
  bool entity = true;  // cur is a message entity whose parts the next number counts
  for (const std::uint32_t n : path) {
    if (n == 0) return std::nullopt;
    const MimePart* p = &tree.parts[cur];
    if (!entity && !p->is_multipart()) {
      // A message/rfc822 part: its sub-parts are those of the encapsulated message.
      if (!p->is_message() || p->children.empty()) return std::nullopt;
      cur = p->children[0];
      p = &tree.parts[cur];
      entity = true;
    }
    if (p->is_multipart()) {
      if (n > p->children.size()) return std::nullopt;
      cur = p->children[n - 1];
    } else if (n != 1) {
      return std::nullopt;  // a non-multipart message has the single part 1, itself
    }
    entity = false;
    MAIL_ASSERT(cur < tree.parts.size());
  }
  return cur;
}

std::optional<std::string> extract_section(std::string_view message, const MimeTree& tree,
                                           const Section& section) {
  const std::optional<std::size_t> found = find_part(tree, section.part);
  if (!found) return std::nullopt;
  const MimePart& part = tree.parts[*found];
  MAIL_ASSERT(part.end <= message.size());
  MAIL_ASSERT(part.header_begin <= part.body_begin);
  switch (section.text) {
    case SectionText::none:
      if (section.part.empty()) return std::string(message);
      return std::string(message.substr(part.body_begin, part.end - part.body_begin));
    case SectionText::mime:
      return std::string(message.substr(part.header_begin, part.body_begin - part.header_begin));
    default:
      break;
  }
  // HEADER, HEADER.FIELDS(.NOT) and TEXT address the message itself or the message inside a
  // message/rfc822 part (RFC 9051 §6.4.5).
  const MimePart* m = &part;
  if (!section.part.empty()) {
    if (!part.is_message() || part.children.empty()) return std::nullopt;
    m = &tree.parts[part.children[0]];
  }
  const std::string_view header = message.substr(m->header_begin, m->body_begin - m->header_begin);
  if (section.text == SectionText::header) return std::string(header);
  if (section.text == SectionText::text)
    return std::string(message.substr(m->body_begin, m->end - m->body_begin));
  const bool want = section.text == SectionText::header_fields;
  std::string out;
  for (const HeaderField& f : parse_header_fields(header).fields) {
    const bool listed = std::any_of(section.fields.begin(), section.fields.end(),
                                    [&](const std::string& n) { return iequals(n, f.name); });
    if (listed != want) continue;
    out.append(header.substr(f.begin, f.end - f.begin));
    if (out.back() != '\n') out.append("\r\n");  // an unterminated last field
  }
  out.append("\r\n");
  return out;
}

Result<std::string> extract_binary(std::string_view message, const MimeTree& tree,
                                   std::span<const std::uint32_t> path) {
  if (path.empty()) return std::string(message);
  const std::optional<std::size_t> found = find_part(tree, path);
  if (!found) return fail(Errc::not_found, "no such part");
  const MimePart& part = tree.parts[*found];
  if (part.is_multipart()) return fail(Errc::not_found, "multipart has no content of its own");
  return decode_transfer(message.substr(part.body_begin, part.end - part.body_begin),
                         part.encoding.value_or(std::string()));
}

std::string_view partial(std::string_view data, std::uint64_t origin, std::optional<std::uint64_t> count) noexcept {
  if (origin >= data.size()) return {};
  std::string_view rest = data.substr(static_cast<std::size_t>(origin));
  if (count && *count < rest.size()) rest = rest.substr(0, static_cast<std::size_t>(*count));
  return rest;
}

}  // namespace mail::message
