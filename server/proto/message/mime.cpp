// MIME tree parser: RFC 2045 header fields of each entity, RFC 2046 §5.1.1 multipart
// splitting (delimiter = line starting "--" boundary, the line end before it belongs to the
// delimiter, "--" after it closes; preamble and epilogue ignored), RFC 2046 §5.2.1 / RFC 6532
// §3.5 encapsulated messages, RFC 2046 §5.1.5 digest defaults. Bounded by MimeLimits; every
// offset stays inside the message. Pure: no I/O.
#include "proto/message/mime.h"

#include "core/ascii.h"
#include "core/assert.h"

namespace mail::message {

namespace {

constexpr std::size_t kBoundaryBytesMax = 200;  // RFC 2046 §5.1.1 allows 70; be lenient

class Parser {
 public:
  Parser(std::string_view msg, const MimeLimits& limits, MimeTree& tree)
      : msg_(msg), limits_(limits), tree_(tree) {}

  // Parses the entity [begin, end) as parts[index] (already pushed, parent set).
  void entity(std::size_t index, std::size_t begin, std::size_t end, bool digest_child) {
    MAIL_ASSERT(begin <= end);
    MAIL_ASSERT(end <= msg_.size());
    const std::string_view text = msg_.substr(begin, end - begin);
    const std::size_t body_off = body_offset(text);
    {
      MimePart& p = tree_.parts[index];
      p.header_begin = begin;
      p.body_begin = begin + body_off;
      p.end = end;
      if (digest_child) { p.type = "message"; p.subtype = "rfc822"; }
      const HeaderFields hf = parse_header_fields(text.substr(0, body_off), limits_.header);
      if (hf.truncated) tree_.truncated = true;
      fields(p, hf.fields);
      p.lines = count_lines(msg_.substr(p.body_begin, end - p.body_begin));
    }
    const MimePart& p = tree_.parts[index];
    if (p.depth >= limits_.depth_max) {
      if (p.is_multipart() || p.is_message()) tree_.truncated = true;
      return;
    }
    if (p.is_multipart()) {
      multipart(index);
    } else if (p.is_message()) {
      const std::size_t body_begin = p.body_begin;
      if (auto child = add_child(index)) entity(*child, body_begin, end, false);
    }
  }

 private:
  // Appends a child of parts[parent]; nullopt when parts_max is reached.
  std::optional<std::size_t> add_child(std::size_t parent) {
    if (tree_.parts.size() >= limits_.parts_max) {
      tree_.truncated = true;
      return std::nullopt;
    }
    MimePart child;
    child.parent = parent;
    child.depth = tree_.parts[parent].depth + 1;
    child.params.push_back(MimeParam{"charset", "us-ascii", "us-ascii"});
    tree_.parts.push_back(std::move(child));
    const std::size_t index = tree_.parts.size() - 1;
    tree_.parts[parent].children.push_back(index);
    return index;
  }

  void fields(MimePart& p, std::span<const HeaderField> hf) {
    if (auto v = field_value(hf, "Content-Type")) {
      ContentType ct = parse_content_type(*v, limits_.params_max);
      if (!ct.type.empty()) {
        p.type = std::move(ct.type);
        p.subtype = std::move(ct.subtype);
        p.params = std::move(ct.params);
        p.has_content_type = true;
      }
    }
    // RFC 2045 §5.2 default "text/plain; charset=us-ascii" (the parser pushed the charset);
    // a digest's message/rfc822 default has no parameters.
    if (!p.has_content_type && p.type != "text") p.params.clear();
    p.id = field_value(hf, "Content-ID");
    p.description = field_value(hf, "Content-Description");
    if (auto e = field_value(hf, "Content-Transfer-Encoding")) p.encoding = first_token(*e);
    p.md5 = field_value(hf, "Content-MD5");
    p.location = field_value(hf, "Content-Location");
    if (auto d = field_value(hf, "Content-Disposition")) {
      Disposition disp = parse_disposition(*d, limits_.params_max);
      if (!disp.type.empty()) {
        p.disposition = std::move(disp.type);
        p.disposition_params = std::move(disp.params);
      }
    }
    if (auto l = field_value(hf, "Content-Language")) p.language = parse_language(*l);
  }

  void multipart(std::size_t index) {
    const MimePart& p = tree_.parts[index];
    const std::optional<std::string> boundary = p.param("boundary");
    if (!boundary || boundary->empty() || boundary->size() > kBoundaryBytesMax) return;
    const bool digest = iequals(p.subtype, "digest");
    const std::size_t end = p.end;
    std::string delim = "--";
    delim += *boundary;
    // Walk the body's lines; a delimiter line closes the open part (if any) and opens the
    // next one, a close-delimiter ends the list.
    std::optional<std::size_t> open_begin;  // start of the open part (just past a delimiter line)
    std::size_t pos = p.body_begin;
    while (pos < end) {
      const std::size_t lf = msg_.find('\n', pos);
      const std::size_t next = (lf == std::string_view::npos || lf >= end) ? end : lf + 1;
      const std::string_view line = msg_.substr(pos, next - pos);
      if (line.size() >= delim.size() && line.substr(0, delim.size()) == delim) {
        const bool close = line.substr(delim.size(), 2) == "--";
        if (open_begin) {
          // The line end before the delimiter belongs to it (§5.1.1).
          std::size_t part_end = pos;
          if (part_end > *open_begin && msg_[part_end - 1] == '\n') --part_end;
          if (part_end > *open_begin && msg_[part_end - 1] == '\r') --part_end;
          if (!child(index, *open_begin, part_end, digest)) return;
        }
        if (close) return;
        open_begin = next;
      }
      pos = next;
    }
    // No close-delimiter: the last part runs to the end of the multipart (best effort).
    if (open_begin) (void)child(index, *open_begin, end, digest);
  }

  bool child(std::size_t parent, std::size_t begin, std::size_t end, bool digest) {
    auto c = add_child(parent);
    if (!c) return false;
    entity(*c, begin, end, digest);
    return true;
  }

  std::string_view msg_;
  const MimeLimits& limits_;
  MimeTree& tree_;
};

}  // namespace

bool MimePart::is_multipart() const noexcept { return iequals(type, "multipart"); }
bool MimePart::is_message() const noexcept {
  return iequals(type, "message") && (iequals(subtype, "rfc822") || iequals(subtype, "global"));
}
bool MimePart::is_text() const noexcept { return iequals(type, "text"); }

std::optional<std::string> MimePart::param(std::string_view name) const {
  for (const MimeParam& p : params) {
    std::string_view n = p.name;
    if (!n.empty() && n.back() == '*') n.remove_suffix(1);
    if (iequals(n, name)) return p.utf8;
  }
  return std::nullopt;
}

std::string MimePart::charset() const {
  auto c = param("charset");
  return c ? *c : std::string("us-ascii");
}

std::size_t count_lines(std::string_view body) noexcept {
  std::size_t n = 0;
  for (char c : body) n += c == '\n' ? 1 : 0;
  if (!body.empty() && body.back() != '\n') ++n;
  return n;
}

MimeTree parse_mime(std::string_view message, const MimeLimits& limits) {
  MAIL_ASSERT(limits.parts_max >= 1);
  MimeTree tree;
  MimePart root;
  root.params.push_back(MimeParam{"charset", "us-ascii", "us-ascii"});
  tree.parts.push_back(std::move(root));
  Parser(message, limits, tree).entity(0, 0, message.size(), false);
  MAIL_ASSERT(!tree.parts.empty());
  MAIL_ASSERT(tree.parts.size() <= limits.parts_max || limits.parts_max == 0);
  return tree;
}

}  // namespace mail::message
