// FETCH rendering (see header). Must not: do I/O or keep state between calls.
#include "node/imap/fetch_render.h"

#include "core/assert.h"
#include "proto/imap/bodystructure.h"
#include "proto/imap/envelope.h"
#include "proto/imap/response_writer.h"
#include "proto/message/header.h"
#include "proto/message/mime.h"
#include "proto/message/section.h"

namespace mail::node::imapsrv {

namespace im = mail::imap;

namespace {

FetchNeed need_of(const im::FetchAtt& a) noexcept {
  switch (a.kind) {
    case im::FetchKind::flags:
    case im::FetchKind::internaldate:
    case im::FetchKind::rfc822_size:
    case im::FetchKind::uid:
    case im::FetchKind::modseq: return FetchNeed::metadata;
    case im::FetchKind::envelope:
    case im::FetchKind::rfc822_header: return FetchNeed::headers;
    case im::FetchKind::body_section:
      if (a.section.part.empty() &&
          (a.section.text == im::SectionText::header || a.section.text == im::SectionText::header_fields ||
           a.section.text == im::SectionText::header_fields_not))
        return FetchNeed::headers;
      return FetchNeed::content;
    case im::FetchKind::rfc822:
    case im::FetchKind::rfc822_text:
    case im::FetchKind::body:
    case im::FetchKind::bodystructure:
    case im::FetchKind::binary:
    case im::FetchKind::binary_size: return FetchNeed::content;
  }
  return FetchNeed::content;
}

message::Section to_message_section(const im::Section& s) {
  message::Section out;
  out.part = s.part;
  out.fields = s.fields;
  switch (s.text) {
    case im::SectionText::none: out.text = message::SectionText::none; break;
    case im::SectionText::header: out.text = message::SectionText::header; break;
    case im::SectionText::header_fields: out.text = message::SectionText::header_fields; break;
    case im::SectionText::header_fields_not: out.text = message::SectionText::header_fields_not; break;
    case im::SectionText::text: out.text = message::SectionText::text; break;
    case im::SectionText::mime: out.text = message::SectionText::mime; break;
  }
  return out;
}

// "1.2.HEADER.FIELDS (FROM TO)" as the response names it (RFC 9051 §7.5.2 section).
void append_section_spec(std::string& out, const im::Section& s) {
  for (std::size_t i = 0; i < s.part.size(); ++i) {
    if (i > 0) out += '.';
    out += std::to_string(s.part[i]);
  }
  std::string_view text;
  switch (s.text) {
    case im::SectionText::none: break;
    case im::SectionText::header: text = "HEADER"; break;
    case im::SectionText::header_fields: text = "HEADER.FIELDS"; break;
    case im::SectionText::header_fields_not: text = "HEADER.FIELDS.NOT"; break;
    case im::SectionText::text: text = "TEXT"; break;
    case im::SectionText::mime: text = "MIME"; break;
  }
  if (!text.empty()) {
    if (!s.part.empty()) out += '.';
    out += text;
  }
  if (s.text == im::SectionText::header_fields || s.text == im::SectionText::header_fields_not) {
    out += " (";
    for (std::size_t i = 0; i < s.fields.size(); ++i) {
      if (i > 0) out += ' ';
      im::append_astring(out, s.fields[i]);
    }
    out += ')';
  }
}

// The body octets with the partial applied, and the "<origin>" suffix of the name.
void append_body_data(std::string& out, std::string_view data, const std::optional<im::Partial>& partial,
                      bool binary) {
  if (partial) {
    out += '<';
    out += std::to_string(partial->offset);
    out += "> ";
    data = message::partial(data, partial->offset, partial->length);
  } else {
    out += ' ';
  }
  if (binary) {
    im::append_binary(out, data);
  } else {
    // A body is always sent as a literal (it may hold CR LF; RFC 9051 §4.3).
    out += '{';
    out += std::to_string(data.size());
    out += "}\r\n";
    out += data;
  }
}

// Parsed once per message, only when an item needs the MIME tree.
struct Parsed {
  std::string_view content;
  std::optional<message::MimeTree> tree;
  const message::MimeTree& get() {
    if (!tree) tree = message::parse_mime(content);
    return *tree;
  }
};

}  // namespace

FetchNeed fetch_need(const std::vector<im::FetchAtt>& items) noexcept {
  FetchNeed need = FetchNeed::metadata;
  for (const auto& a : items) {
    auto n = need_of(a);
    if (static_cast<int>(n) > static_cast<int>(need)) need = n;
  }
  return need;
}

bool fetch_sets_seen(const std::vector<im::FetchAtt>& items) noexcept {
  for (const auto& a : items) {
    switch (a.kind) {
      case im::FetchKind::body_section:
      case im::FetchKind::binary:
        if (!a.peek) return true;
        break;
      case im::FetchKind::rfc822:
      case im::FetchKind::rfc822_text: return true;
      default: break;
    }
  }
  return false;
}

Status render_fetch(std::string& out, const FetchMessage& m, const std::vector<im::FetchAtt>& items,
                    const FetchOptions& options) {
  MAIL_ASSERT(m.info != nullptr);
  const store::MessageInfo& info = *m.info;
  const std::size_t begin = out.size();
  out += "* ";
  out += std::to_string(m.seq);
  out += " FETCH (";
  bool first = true;
  auto item = [&](std::string_view name) {
    if (!first) out += ' ';
    first = false;
    out += name;
  };
  bool has_uid = false, has_flags = false, has_modseq = false;
  for (const auto& a : items) {
    has_uid |= a.kind == im::FetchKind::uid;
    has_flags |= a.kind == im::FetchKind::flags;
    has_modseq |= a.kind == im::FetchKind::modseq;
  }
  if (options.uid && !has_uid) {
    item("UID ");
    out += std::to_string(info.uid);
  }
  Parsed parsed;
  if (m.content) parsed.content = *m.content;
  auto header_block = [&]() -> std::string_view {
    if (m.headers) return *m.headers;
    MAIL_ASSERT(m.content.has_value());
    return m.content->substr(0, message::body_offset(*m.content));
  };
  for (const auto& a : items) {
    switch (a.kind) {
      case im::FetchKind::uid:
        item("UID ");
        out += std::to_string(info.uid);
        break;
      case im::FetchKind::flags:
        item("FLAGS ");
        out += m.flag_list;
        break;
      case im::FetchKind::modseq:
        item("MODSEQ (");
        out += std::to_string(info.modseq);
        out += ')';
        break;
      case im::FetchKind::internaldate:
        item("INTERNALDATE ");
        im::append_date_time(out, im::date_time_from_unix(info.internal_date));
        break;
      case im::FetchKind::rfc822_size:
        item("RFC822.SIZE ");
        out += std::to_string(info.size);
        break;
      case im::FetchKind::envelope:
        item("ENVELOPE ");
        out += im::envelope(header_block());
        break;
      case im::FetchKind::rfc822_header:
        item("RFC822.HEADER");
        append_body_data(out, header_block(), std::nullopt, false);
        break;
      case im::FetchKind::rfc822:
        MAIL_ASSERT(m.content.has_value());
        item("RFC822");
        append_body_data(out, *m.content, std::nullopt, false);
        break;
      case im::FetchKind::rfc822_text:
        MAIL_ASSERT(m.content.has_value());
        item("RFC822.TEXT");
        append_body_data(out, m.content->substr(message::body_offset(*m.content)), std::nullopt, false);
        break;
      case im::FetchKind::body:
      case im::FetchKind::bodystructure:
        MAIL_ASSERT(m.content.has_value());
        item(a.kind == im::FetchKind::body ? "BODY " : "BODYSTRUCTURE ");
        out += im::bodystructure(*m.content, parsed.get(), a.kind == im::FetchKind::bodystructure);
        break;
      case im::FetchKind::body_section: {
        item("BODY[");
        append_section_spec(out, a.section);
        out += ']';
        std::string data;
        if (m.content && a.section.part.empty() && a.section.text == im::SectionText::none) {
          // BODY[] is the whole message: no MIME parse, no copy (the common mail client
          // download; RFC 9051 §6.4.5).
          append_body_data(out, *m.content, a.partial, false);
          break;
        }
        if (m.content && a.section.part.empty() && a.section.text == im::SectionText::text) {
          append_body_data(out, m.content->substr(message::body_offset(*m.content)), a.partial, false);
          break;
        }
        if (m.content) {
          data = message::extract_section(*m.content, parsed.get(), to_message_section(a.section)).value_or("");
        } else {
          // Top-level HEADER / HEADER.FIELDS from the cached header block.
          const std::string_view block = header_block();
          message::MimeTree tree = message::parse_mime(block);
          data = message::extract_section(block, tree, to_message_section(a.section)).value_or("");
        }
        append_body_data(out, data, a.partial, false);
        break;
      }
      case im::FetchKind::binary:
      case im::FetchKind::binary_size: {
        MAIL_ASSERT(m.content.has_value());
        auto decoded = message::extract_binary(*m.content, parsed.get(), a.section.part);
        if (!decoded.ok() && decoded.code() == Errc::unsupported) {
          out.resize(begin);
          return fail(Errc::unsupported, "unknown CTE");
        }
        std::string data = decoded.ok() ? std::move(decoded).value() : std::string();
        std::string name = a.kind == im::FetchKind::binary ? "BINARY[" : "BINARY.SIZE[";
        for (std::size_t i = 0; i < a.section.part.size(); ++i) {
          if (i > 0) name += '.';
          name += std::to_string(a.section.part[i]);
        }
        name += ']';
        item(name);
        if (a.kind == im::FetchKind::binary_size) {
          out += ' ';
          out += std::to_string(data.size());
        } else {
          append_body_data(out, data, a.partial, true);
        }
        break;
      }
    }
  }
  if (options.flags_changed && !has_flags) {
    item("FLAGS ");
    out += m.flag_list;
  }
  // RFC 7162 §3.1: with CONDSTORE on, every FETCH response carrying FLAGS carries MODSEQ.
  if (options.with_modseq && !has_modseq && (has_flags || options.flags_changed)) {
    item("MODSEQ (");
    out += std::to_string(info.modseq);
    out += ')';
  }
  out += ")\r\n";
  return {};
}

}  // namespace mail::node::imapsrv
