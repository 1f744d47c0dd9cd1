// RFC 9051 §7.5.2 BODY / BODYSTRUCTURE rendering over a MimeTree (grammar §9: body,
// body-type-1part, body-type-mpart, body-fields, body-ext-1part, body-ext-mpart). Strings go
// through response_writer (quoted or literal). Recursion depth is the tree's (bounded by
// MimeLimits::depth_max). Pure.
#include "proto/imap/bodystructure.h"

#include "core/ascii.h"
#include "core/assert.h"
#include "proto/imap/envelope.h"
#include "proto/imap/response_writer.h"

namespace mail::imap {

namespace {

using message::MimeParam;
using message::MimePart;
using message::MimeTree;

// body-fld-param = "(" string SP string *(SP string SP string) ")" / nil. A text part
// without a charset gets the RFC 2045 §5.2 default written out ("charset" "us-ascii"),
// as Dovecot and Cyrus do, so clients need not know the default.
void append_params(std::string& out, const std::vector<MimeParam>& params, bool text = false) {
  bool first = true;
  if (text) {
    bool has_charset = false;
    for (const MimeParam& p : params) has_charset = has_charset || iequals(p.name, "charset") || iequals(p.name, "charset*");
    if (!has_charset) {
      out.append("(\"charset\" \"us-ascii\"");
      first = false;
    }
  }
  if (first && params.empty()) {
    out.append("NIL");
    return;
  }
  if (first) out.push_back('(');
  for (const MimeParam& p : params) {
    if (!first) out.push_back(' ');
    first = false;
    append_string(out, p.name);
    out.push_back(' ');
    append_string(out, p.value);
  }
  out.push_back(')');
}

// body-fld-dsp SP body-fld-lang SP body-fld-loc (the tail shared by both extension forms).
void append_dsp_lang_loc(std::string& out, const MimePart& p) {
  if (p.disposition) {
    out.push_back('(');
    append_string(out, *p.disposition);
    out.push_back(' ');
    append_params(out, p.disposition_params);
    out.push_back(')');
  } else {
    out.append("NIL");
  }
  out.push_back(' ');
  // body-fld-lang = nstring / "(" string *(SP string) ")"
  if (p.language.empty()) {
    out.append("NIL");
  } else if (p.language.size() == 1) {
    append_string(out, p.language[0]);
  } else {
    out.push_back('(');
    for (std::size_t i = 0; i < p.language.size(); ++i) {
      if (i > 0) out.push_back(' ');
      append_string(out, p.language[i]);
    }
    out.push_back(')');
  }
  out.push_back(' ');
  append_nstring(out, p.location);
}

// A multipart the parser left without parts still needs 1*body: one empty text/plain.
constexpr std::string_view kEmptyText = R"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0))";

}  // namespace

void append_body(std::string& out, std::string_view message, const MimeTree& tree, std::size_t index,
                 bool extensible) {
  MAIL_ASSERT(index < tree.parts.size());
  const MimePart& p = tree.parts[index];
  MAIL_ASSERT(p.end <= message.size());
  out.push_back('(');
  if (p.is_multipart()) {
    // body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
    if (p.children.empty()) out.append(kEmptyText);
    for (const std::size_t c : p.children) {
      MAIL_ASSERT(c > index);
      append_body(out, message, tree, c, extensible);
    }
    out.push_back(' ');
    append_string(out, p.subtype);
    if (extensible) {
      out.push_back(' ');
      append_params(out, p.params);
      out.push_back(' ');
      append_dsp_lang_loc(out, p);
    }
    out.push_back(')');
    return;
  }
  // body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets
  append_string(out, p.type);
  out.push_back(' ');
  append_string(out, p.subtype);
  out.push_back(' ');
  append_params(out, p.params, p.is_text());
  out.push_back(' ');
  append_nstring(out, p.id);
  out.push_back(' ');
  append_nstring(out, p.description);
  out.push_back(' ');
  append_string(out, p.encoding && !p.encoding->empty() ? std::string_view(*p.encoding) : std::string_view("7BIT"));
  out.push_back(' ');
  out.append(std::to_string(p.body_bytes()));
  if (p.is_message() && !p.children.empty()) {
    // body-type-msg: ... SP envelope SP body SP body-fld-lines
    const MimePart& inner = tree.parts[p.children[0]];
    out.push_back(' ');
    out.append(envelope(message.substr(inner.header_begin, inner.body_begin - inner.header_begin)));
    out.push_back(' ');
    append_body(out, message, tree, p.children[0], extensible);
    out.push_back(' ');
    out.append(std::to_string(p.lines));
  } else if (p.is_text()) {
    out.push_back(' ');  // body-type-text: ... SP body-fld-lines
    out.append(std::to_string(p.lines));
  }
  if (extensible) {
    // body-ext-1part = body-fld-md5 SP body-fld-dsp SP body-fld-lang SP body-fld-loc
    out.push_back(' ');
    append_nstring(out, p.md5);
    out.push_back(' ');
    append_dsp_lang_loc(out, p);
  }
  out.push_back(')');
}

std::string bodystructure(std::string_view message, const MimeTree& tree, bool extensible) {
  std::string out;
  append_body(out, message, tree, 0, extensible);
  return out;
}

}  // namespace mail::imap
