// RFC 5322 §2.1-§2.2 header section scanning: body offset, field listing with raw ranges,
// unfolding (§2.2.3) and lookup. Tolerant of bare LF, obs-fld white space before the colon
// (§4.5) and 8-bit octets. Pure; bounded by HeaderLimits; never reads outside the input.
#include "proto/message/header.h"

#include "core/ascii.h"
#include "core/assert.h"

namespace mail::message {

namespace {

// One line of `text` starting at `pos`: [pos, content_end) without its line end, next = the
// start of the following line (past CRLF or LF, or text.size()).
struct Line {
  std::size_t content_end;
  std::size_t next;
};

Line line_at(std::string_view text, std::size_t pos) noexcept {
  MAIL_ASSERT(pos <= text.size());
  const std::size_t lf = text.find('\n', pos);
  if (lf == std::string_view::npos) return {text.size(), text.size()};
  std::size_t content_end = lf;
  if (content_end > pos && text[content_end - 1] == '\r') --content_end;
  return {content_end, lf + 1};
}

// RFC 5322 §3.6.8 ftext = %d33-57 / %d59-126; 8-bit octets tolerated (RFC 6532 does not
// allow them in names, but a lenient reader keeps the field rather than lose the header).
bool is_ftext(unsigned char c) noexcept { return (c >= 33 && c <= 126 && c != ':') || c >= 0x80; }

}  // namespace

std::size_t body_offset(std::string_view text) noexcept {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const Line l = line_at(text, pos);
    // RFC 5322 §2.1: the first empty line ends the header section; a line end must follow
    // (an unterminated last line is header text, not an empty line).
    if (l.content_end == pos && l.next > pos) return l.next;
    pos = l.next;
  }
  return text.size();
}

HeaderFields parse_header_fields(std::string_view block, const HeaderLimits& limits) {
  HeaderFields out;
  std::size_t pos = 0;
  while (pos < block.size()) {
    if (pos >= limits.header_block_bytes_max || out.fields.size() >= limits.fields_max) {
      out.truncated = true;
      break;
    }
    const std::size_t begin = pos;
    Line l = line_at(block, pos);
    if (l.content_end == pos) break;  // the empty line: end of the header section
    const std::string_view first = block.substr(pos, l.content_end - pos);
    pos = l.next;
    // Continuation lines (§2.2.3) belong to this field, whatever it is.
    std::size_t value_end = l.content_end;
    while (pos < block.size() && is_blank(static_cast<unsigned char>(block[pos]))) {
      l = line_at(block, pos);
      value_end = l.content_end;
      pos = l.next;
    }
    if (is_blank(static_cast<unsigned char>(first.front()))) continue;  // a stray continuation
    std::size_t n = 0;
    while (n < first.size() && is_ftext(static_cast<unsigned char>(first[n]))) ++n;
    std::size_t colon = n;
    while (colon < first.size() && is_blank(static_cast<unsigned char>(first[colon]))) ++colon;
    if (n == 0 || colon >= first.size() || first[colon] != ':') continue;  // not a field
    HeaderField f;
    f.name = first.substr(0, n);
    const std::size_t value_begin = begin + colon + 1;
    MAIL_ASSERT(value_begin <= value_end);
    f.value = block.substr(value_begin, value_end - value_begin);
    f.begin = begin;
    f.end = pos;
    MAIL_ASSERT(f.end <= block.size());
    out.fields.push_back(f);
  }
  return out;
}

const HeaderField* find_field(std::span<const HeaderField> fields, std::string_view name) noexcept {
  for (const HeaderField& f : fields)
    if (iequals(f.name, name)) return &f;
  return nullptr;
}

std::string unfold(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n' && i + 2 < raw.size() &&
        is_blank(static_cast<unsigned char>(raw[i + 2]))) {
      ++i;  // CRLF followed by WSP: drop both line-end octets, keep the WSP
      continue;
    }
    if (c == '\n' && i + 1 < raw.size() && is_blank(static_cast<unsigned char>(raw[i + 1]))) continue;
    out.push_back(c);
  }
  std::size_t b = 0;
  while (b < out.size() && (is_blank(static_cast<unsigned char>(out[b])) || out[b] == '\r' || out[b] == '\n')) ++b;
  std::size_t e = out.size();
  while (e > b && (is_blank(static_cast<unsigned char>(out[e - 1])) || out[e - 1] == '\r' || out[e - 1] == '\n')) --e;
  return out.substr(b, e - b);
}

std::optional<std::string> field_value(std::span<const HeaderField> fields, std::string_view name) {
  const HeaderField* f = find_field(fields, name);
  if (f == nullptr) return std::nullopt;
  return unfold(f->value);
}

}  // namespace mail::message
