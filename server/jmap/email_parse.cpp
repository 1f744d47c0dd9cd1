// RFC 8621 §4.1 Email properties from MIME bytes: header forms (§4.1.2), convenience
// properties (§4.1.3), body parts and the textBody / htmlBody / attachments algorithm
// (§4.1.4), preview and bodyValues (§4.2). Builds on proto/message (header fields, MIME tree,
// transfer and charset decoding, RFC 2047) and the IMAP address-list parser. Pure.
#include "jmap/email_parse.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "core/ascii.h"
#include "core/utf8.h"
#include "jmap/ids.h"
#include "proto/imap/envelope.h"
#include "proto/message/encoded_word.h"
#include "proto/message/header.h"
#include "proto/message/mime.h"
#include "proto/message/transfer_encoding.h"

namespace mail::jmap {

namespace json = boost::json;
using message::HeaderField;
using message::MimePart;
using message::MimeTree;

namespace {

constexpr std::size_t kPreviewCharsMax = 256;  // RFC 8621 §4.1.4 preview

enum class Form : std::uint8_t { raw, text, addresses, grouped, message_ids, date, urls };

struct HeaderSpec {
  std::string name;
  Form form = Form::raw;
  bool all = false;
};

// "header:Name[:asForm][:all]" (RFC 8621 §4.1.3); nullopt for anything else.
std::optional<HeaderSpec> parse_header_property(std::string_view prop) {
  if (!prop.starts_with("header:")) return std::nullopt;
  prop.remove_prefix(7);
  HeaderSpec spec;
  const std::size_t colon = prop.find(':');
  spec.name = std::string(prop.substr(0, colon));
  if (spec.name.empty()) return std::nullopt;
  std::string_view rest = colon == std::string_view::npos ? std::string_view() : prop.substr(colon + 1);
  if (rest == "all") {
    spec.all = true;
    return spec;
  }
  if (rest.ends_with(":all")) {
    spec.all = true;
    rest.remove_suffix(4);
  }
  if (rest.empty() && colon == std::string_view::npos) return spec;
  if (rest == "asRaw") spec.form = Form::raw;
  else if (rest == "asText") spec.form = Form::text;
  else if (rest == "asAddresses") spec.form = Form::addresses;
  else if (rest == "asGroupedAddresses") spec.form = Form::grouped;
  else if (rest == "asMessageIds") spec.form = Form::message_ids;
  else if (rest == "asDate") spec.form = Form::date;
  else if (rest == "asURLs") spec.form = Form::urls;
  else return std::nullopt;
  return spec;
}

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (b < e && ws(s[b])) ++b;
  while (e > b && ws(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

json::value null_or_string(const std::optional<std::string>& s) {
  if (!s) return nullptr;
  return json::string(message::sanitize_utf8(*s));
}

json::object address_json(const imap::EnvelopeAddress& a) {
  json::object o;
  std::string name = a.name ? trim(message::decode_encoded_words(*a.name)) : std::string();
  if (name.empty()) o["name"] = nullptr;
  else o["name"] = name;
  std::string email = a.mailbox.value_or("");
  if (email == "MISSING_MAILBOX") email.clear();
  if (a.host && *a.host != "MISSING_DOMAIN") email += "@" + *a.host;
  o["email"] = message::sanitize_utf8(email);
  return o;
}

// §4.1.2.3 Addresses: groups flattened; §4.1.2.4 GroupedAddresses.
json::value addresses_value(std::string_view unfolded, bool grouped) {
  const auto list = imap::parse_address_list(unfolded);
  json::array flat;
  json::array groups;
  // The group being filled, by index: push_back may move the array's elements.
  // The group the next address joins; npos: none (a plain std::size_t: GCC 12 -O2 sees a
  // maybe-uninitialized std::optional here).
  std::size_t current = std::string::npos;
  for (const imap::EnvelopeAddress& a : list) {
    const bool group_start = !a.host && a.mailbox.has_value();
    const bool group_end = !a.host && !a.mailbox.has_value();
    if (group_start) {
      json::object g;
      const std::string name = trim(message::decode_encoded_words(*a.mailbox));
      if (name.empty()) g["name"] = nullptr;
      else g["name"] = message::sanitize_utf8(name);
      g["addresses"] = json::array();
      groups.push_back(std::move(g));
      current = groups.size() - 1;
      continue;
    }
    if (group_end) {
      current = std::string::npos;  // addresses after a group start a new unnamed one
      continue;
    }
    json::object addr = address_json(a);
    if (!grouped) {
      flat.push_back(std::move(addr));
      continue;
    }
    if (current == std::string::npos) {
      json::object g;
      g["name"] = nullptr;
      g["addresses"] = json::array();
      groups.push_back(std::move(g));
      current = groups.size() - 1;
    }
    groups[current].as_object()["addresses"].as_array().push_back(std::move(addr));
  }
  if (grouped) return groups;
  return flat;
}

// §4.1.2.5 MessageIds: the msg-ids without angle brackets; null when there is none.
json::value message_ids_value(std::string_view unfolded) {
  json::array ids;
  std::size_t i = 0;
  while (i < unfolded.size()) {
    const char c = unfolded[i];
    if (c == '(') {  // comment (nested)
      std::size_t depth = 0;
      for (; i < unfolded.size(); ++i) {
        if (unfolded[i] == '\\') { ++i; continue; }
        if (unfolded[i] == '(') ++depth;
        if (unfolded[i] == ')' && --depth == 0) break;
      }
      ++i;
      continue;
    }
    if (c == '<') {
      const std::size_t close = unfolded.find('>', i + 1);
      if (close == std::string_view::npos) return nullptr;
      std::string id;
      for (char d : unfolded.substr(i + 1, close - i - 1))
        if (d != ' ' && d != '\t' && d != '\r' && d != '\n') id.push_back(d);
      if (id.empty() || id.find('<') != std::string::npos) return nullptr;
      ids.push_back(json::string(message::sanitize_utf8(id)));
      i = close + 1;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',') { ++i; continue; }
    return nullptr;  // text outside <...>: not a msg-id list
  }
  if (ids.empty()) return nullptr;
  return ids;
}

// §4.1.2.7 URLs: the <url> items of a comma-separated list (RFC 2369); null when none.
json::value urls_value(std::string_view unfolded) {
  json::array urls;
  std::size_t i = 0;
  while (i < unfolded.size()) {
    const std::size_t open = unfolded.find('<', i);
    if (open == std::string_view::npos) break;
    const std::size_t close = unfolded.find('>', open + 1);
    if (close == std::string_view::npos) return nullptr;
    std::string url;
    for (char d : unfolded.substr(open + 1, close - open - 1))
      if (d != ' ' && d != '\t' && d != '\r' && d != '\n') url.push_back(d);
    urls.push_back(json::string(message::sanitize_utf8(url)));
    i = close + 1;
  }
  if (urls.empty()) return nullptr;
  return urls;
}

json::value date_value(std::string_view unfolded) {
  const auto t = parse_rfc5322_date(unfolded);
  if (!t) return nullptr;
  return json::string(format_utc_date(*t));
}

json::value form_value(const HeaderField& f, Form form) {
  switch (form) {
    case Form::raw:
      return json::string(message::sanitize_utf8(f.value));
    case Form::text:
      return json::string(trim(message::decode_encoded_words(message::unfold(f.value))));
    case Form::addresses:
      return addresses_value(message::unfold(f.value), false);
    case Form::grouped:
      return addresses_value(message::unfold(f.value), true);
    case Form::message_ids:
      return message_ids_value(message::unfold(f.value));
    case Form::date:
      return date_value(message::unfold(f.value));
    case Form::urls:
      return urls_value(message::unfold(f.value));
  }
  return nullptr;
}

// The value of the last field named spec.name, or of all of them (RFC 8621 §4.1.3).
json::value header_value(const std::vector<HeaderField>& fields, const HeaderSpec& spec) {
  if (spec.all) {
    json::array all;
    for (const HeaderField& f : fields)
      if (iequals(f.name, spec.name)) all.push_back(form_value(f, spec.form));
    return all;
  }
  for (auto it = fields.rbegin(); it != fields.rend(); ++it)
    if (iequals(it->name, spec.name)) return form_value(*it, spec.form);
  return nullptr;
}

json::array headers_list(const std::vector<HeaderField>& fields) {
  json::array a;
  for (const HeaderField& f : fields) {
    json::object h;
    h["name"] = message::sanitize_utf8(f.name);
    h["value"] = message::sanitize_utf8(f.value);
    a.push_back(std::move(h));
  }
  return a;
}

// The convenience properties of §4.1.3 as header specs.
std::optional<HeaderSpec> convenience_spec(std::string_view prop) {
  struct Row { std::string_view prop, header; Form form; };
  static constexpr Row kRows[] = {
      {"messageId", "Message-ID", Form::message_ids}, {"inReplyTo", "In-Reply-To", Form::message_ids},
      {"references", "References", Form::message_ids}, {"sender", "Sender", Form::addresses},
      {"from", "From", Form::addresses}, {"to", "To", Form::addresses}, {"cc", "Cc", Form::addresses},
      {"bcc", "Bcc", Form::addresses}, {"replyTo", "Reply-To", Form::addresses},
      {"subject", "Subject", Form::text}, {"sentAt", "Date", Form::date}};
  for (const Row& r : kRows)
    if (r.prop == prop) return HeaderSpec{std::string(r.header), r.form, false};
  return std::nullopt;
}

bool is_body_property(std::string_view p) {
  return p == "bodyStructure" || p == "textBody" || p == "htmlBody" || p == "attachments" ||
         p == "hasAttachment" || p == "preview" || p == "bodyValues";
}

// ---- body parts ----

// One JMAP body part over a MimeTree node.
struct JPart {
  std::size_t node = 0;
  std::string part_id;             // empty for multiparts
  std::vector<std::size_t> sub;    // indices into Model::parts (multipart only)
  std::string type;                // lower-case "type/subtype"
  std::string name;                // decoded filename, empty if none
  std::string disposition;         // lower case, empty if none
};

class Model {
 public:
  Model(std::string_view message, const EmailParseContext* ctx)
      : msg_(message), tree_(message::parse_mime(message)), ctx_(ctx) {
    add(0, "", true);
    classify();
  }

  const std::vector<JPart>& parts() const { return parts_; }
  const std::vector<std::size_t>& text_body() const { return text_; }
  const std::vector<std::size_t>& html_body() const { return html_; }
  const std::vector<std::size_t>& attachments() const { return attachments_; }

  const MimePart& node(const JPart& p) const { return tree_.parts[p.node]; }

  std::string_view raw_body(const JPart& p) const {
    const MimePart& m = node(p);
    return msg_.substr(m.body_begin, m.end - m.body_begin);
  }

  std::vector<HeaderField> fields(const JPart& p) const {
    const MimePart& m = node(p);
    return message::parse_header_fields(msg_.substr(m.header_begin, m.body_begin - m.header_begin)).fields;
  }

  // Transfer-decoded octets; `ok` false when the encoding is unknown (raw octets returned).
  std::string decoded(const JPart& p, bool* ok = nullptr) const {
    const MimePart& m = node(p);
    auto r = message::decode_transfer(raw_body(p), m.encoding.value_or(""));
    if (ok) *ok = r.ok();
    if (!r) return std::string(raw_body(p));
    return std::move(*r);
  }

  DecodedText text(const JPart& p) const {
    bool ok = true;
    const std::string bytes = decoded(p, &ok);
    DecodedText t = text_to_utf8(node(p).charset(), bytes);
    if (!ok) t.encoding_problem = true;
    return t;
  }

  // The text of the part's first `raw_max` encoded octets, cut at a line end (a base64
  // group and a quoted-printable line end there): what a preview needs, without decoding
  // and validating a long body whole.
  std::string text_prefix(const JPart& p, std::size_t raw_max) const {
    std::string_view raw = raw_body(p);
    if (raw.size() > raw_max) {
      const auto eol = raw.rfind('\n', raw_max);
      raw = raw.substr(0, eol == std::string_view::npos ? raw_max : eol + 1);
    }
    auto r = message::decode_transfer(raw, node(p).encoding.value_or(""));
    return text_to_utf8(node(p).charset(), r ? *r : std::string(raw)).text;
  }

  json::object part_json(std::size_t index, const std::vector<std::string>& props, bool with_sub) const {
    const JPart& p = parts_[index];
    const MimePart& m = node(p);
    const bool multipart = m.is_multipart();
    json::object o;
    std::vector<HeaderField> fl;
    bool have_fields = false;
    for (const std::string& prop : props) {
      if (prop == "partId") {
        o["partId"] = multipart ? json::value(nullptr) : json::value(json::string(p.part_id));
      } else if (prop == "blobId") {
        if (multipart || !ctx_) o["blobId"] = nullptr;
        else o["blobId"] = part_blob_id(ctx_->content_id, p.part_id);
      } else if (prop == "size") {
        o["size"] = multipart ? std::uint64_t{0} : static_cast<std::uint64_t>(decoded(p).size());
      } else if (prop == "headers") {
        if (!have_fields) { fl = fields(p); have_fields = true; }
        o["headers"] = headers_list(fl);
      } else if (prop == "name") {
        o["name"] = p.name.empty() ? json::value(nullptr) : json::value(json::string(p.name));
      } else if (prop == "type") {
        o["type"] = p.type;
      } else if (prop == "charset") {
        if (m.is_text()) o["charset"] = message::sanitize_utf8(m.charset());
        else o["charset"] = nullptr;
      } else if (prop == "disposition") {
        o["disposition"] = p.disposition.empty() ? json::value(nullptr) : json::value(json::string(p.disposition));
      } else if (prop == "cid") {
        if (!m.id) {
          o["cid"] = nullptr;
        } else {
          std::string cid = trim(*m.id);
          if (cid.size() >= 2 && cid.front() == '<' && cid.back() == '>') cid = cid.substr(1, cid.size() - 2);
          o["cid"] = message::sanitize_utf8(cid);
        }
      } else if (prop == "language") {
        if (m.language.empty()) {
          o["language"] = nullptr;
        } else {
          json::array langs;
          for (const std::string& l : m.language) langs.push_back(json::string(message::sanitize_utf8(l)));
          o["language"] = std::move(langs);
        }
      } else if (prop == "location") {
        o["location"] = null_or_string(m.location);
      } else if (prop == "subParts") {
        if (!multipart) o["subParts"] = nullptr;
      } else if (auto spec = parse_header_property(prop)) {
        if (!have_fields) { fl = fields(p); have_fields = true; }
        o[prop] = header_value(fl, *spec);
      }
    }
    if (multipart && with_sub) {
      json::array sub;
      for (std::size_t s : p.sub) sub.push_back(part_json(s, props, true));
      o["subParts"] = std::move(sub);
    }
    return o;
  }

 private:
  // Numbers the JMAP tree (IMAP section numbering) from MIME node `node`.
  std::size_t add(std::size_t node_index, const std::string& id, bool root) {
    const MimePart& m = tree_.parts[node_index];
    const std::size_t me = parts_.size();
    parts_.push_back(JPart{});
    JPart p;
    p.node = node_index;
    // The MIME parser keeps 8-bit octets of malformed fields: JSON needs valid UTF-8.
    p.type = message::sanitize_utf8(ascii_lower(m.type) + "/" + ascii_lower(m.subtype));
    if (m.disposition) p.disposition = message::sanitize_utf8(ascii_lower(*m.disposition));
    p.name = part_name(m);
    if (m.is_multipart()) {
      std::size_t k = 0;
      for (std::size_t c : m.children) {
        ++k;
        const std::string cid = id.empty() ? std::to_string(k) : id + "." + std::to_string(k);
        p.sub.push_back(add(c, cid, false));
      }
    } else {
      p.part_id = root ? "1" : id;
    }
    parts_[me] = std::move(p);
    return me;
  }

  static std::string part_name(const MimePart& m) {
    for (const auto& prm : m.disposition_params) {
      std::string_view n = prm.name;
      if (n.ends_with('*')) n.remove_suffix(1);
      if (iequals(n, "filename")) return message::sanitize_utf8(prm.utf8);
    }
    if (auto n = m.param("name")) return message::sanitize_utf8(*n);
    return {};
  }

  static bool is_inline_media(std::string_view type) {
    return type.starts_with("image/") || type.starts_with("audio/") || type.starts_with("video/");
  }

  // RFC 8621 §4.1.4 parseStructure, transcribed: `text_body` / `html_body` null play the
  // role of the JavaScript nulls (local to one call).
  void parse_structure(const std::vector<std::size_t>& subs, std::string_view multipart_type, bool in_alternative,
                       std::vector<std::size_t>* html_body, std::vector<std::size_t>* text_body) {
    const std::ptrdiff_t text_length = text_body ? static_cast<std::ptrdiff_t>(text_body->size()) : -1;
    const std::ptrdiff_t html_length = html_body ? static_cast<std::ptrdiff_t>(html_body->size()) : -1;
    for (std::size_t i = 0; i < subs.size(); ++i) {
      const std::size_t idx = subs[i];
      const JPart& part = parts_[idx];
      const bool is_multipart = part.type.starts_with("multipart/");
      const bool is_inline =
          part.disposition != "attachment" &&
          (part.type == "text/plain" || part.type == "text/html" || is_inline_media(part.type)) &&
          (i == 0 || (multipart_type != "related" && (is_inline_media(part.type) || part.name.empty())));
      if (is_multipart) {
        const std::string sub_type = part.type.substr(part.type.find('/') + 1);
        const std::vector<std::size_t> children = part.sub;
        parse_structure(children, sub_type, in_alternative || sub_type == "alternative", html_body, text_body);
      } else if (is_inline) {
        if (multipart_type == "alternative") {
          // (The RFC's JavaScript would throw on a list nulled by an outer alternative.)
          if (part.type == "text/plain") { if (text_body) text_body->push_back(idx); }
          else if (part.type == "text/html") { if (html_body) html_body->push_back(idx); }
          else attachments_.push_back(idx);
          continue;
        } else if (in_alternative) {
          if (part.type == "text/plain") html_body = nullptr;
          if (part.type == "text/html") text_body = nullptr;
        }
        if (text_body) text_body->push_back(idx);
        if (html_body) html_body->push_back(idx);
        if ((!text_body || !html_body) && is_inline_media(part.type)) attachments_.push_back(idx);
      } else {
        attachments_.push_back(idx);
      }
    }
    if (multipart_type == "alternative" && text_body && html_body) {
      // Found an HTML part only: it serves as text too.
      if (text_length == static_cast<std::ptrdiff_t>(text_body->size()) &&
          html_length != static_cast<std::ptrdiff_t>(html_body->size())) {
        for (std::size_t i = static_cast<std::size_t>(html_length); i < html_body->size(); ++i)
          text_body->push_back((*html_body)[i]);
      }
      // Found a plain text part only.
      if (html_length == static_cast<std::ptrdiff_t>(html_body->size()) &&
          text_length != static_cast<std::ptrdiff_t>(text_body->size())) {
        for (std::size_t i = static_cast<std::size_t>(text_length); i < text_body->size(); ++i)
          html_body->push_back((*text_body)[i]);
      }
    }
  }

  void classify() {
    // parseStructure([message], 'mixed', false, htmlBody, textBody, attachments)
    const std::vector<std::size_t> top{0};
    parse_structure(top, "mixed", false, &html_, &text_);
  }

  std::string_view msg_;
  MimeTree tree_;
  const EmailParseContext* ctx_;
  std::vector<JPart> parts_;  // parts_[0] is the message
  std::vector<std::size_t> text_, html_, attachments_;
};

const std::vector<std::string>& default_body_properties() {
  static const std::vector<std::string> kDefault{"partId", "blobId", "size", "name", "type", "charset",
                                                 "disposition", "cid", "language", "location"};
  return kDefault;
}

// Cuts `s` to at most `max` octets at a UTF-8 boundary (and, for HTML, before a cut tag).
std::string truncate_value(std::string s, std::size_t max, bool html) {
  if (s.size() <= max) return s;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  if (html) {
    const std::size_t lt = s.rfind('<', cut == 0 ? 0 : cut - 1);
    if (lt != std::string::npos && lt < cut && s.find('>', lt) >= cut) cut = lt;
  }
  s.resize(cut);
  return s;
}

// Enough encoded octets for a 256-character preview (HTML: room for a <head> and styles).
constexpr std::size_t kPreviewPlainRawMax = 16 * 1024;
constexpr std::size_t kPreviewHtmlRawMax = 128 * 1024;

std::string body_text_for_preview(const Model& model) {
  for (std::size_t idx : model.text_body()) {
    const JPart& p = model.parts()[idx];
    if (p.type == "text/plain") return model.text_prefix(p, kPreviewPlainRawMax);
    if (p.type == "text/html") return html_to_text(model.text_prefix(p, kPreviewHtmlRawMax));
  }
  return {};
}

bool has_attachment(const Model& model) {
  // RFC 8621 §4.1.4: attachments that are not inline; inline images referenced by cid
  // (the embedded pictures of an HTML body) do not count.
  for (std::size_t idx : model.attachments()) {
    const JPart& p = model.parts()[idx];
    if (p.disposition == "inline") continue;
    if (p.disposition.empty() && model.node(p).id && p.type.starts_with("image/")) continue;
    return true;
  }
  return false;
}

// The HTML named character references common in mail beyond the five of XML.
std::optional<std::uint32_t> named_entity(std::string_view name) {
  struct Entity { std::string_view name; std::uint32_t cp; };
  static constexpr Entity kEntities[] = {
      {"copy", 0xA9},   {"reg", 0xAE},    {"deg", 0xB0},    {"laquo", 0xAB},  {"raquo", 0xBB},  {"middot", 0xB7},
      {"Agrave", 0xC0}, {"Aacute", 0xC1}, {"Auml", 0xC4},   {"Ccedil", 0xC7}, {"Egrave", 0xC8}, {"Eacute", 0xC9},
      {"Ouml", 0xD6},   {"Uuml", 0xDC},   {"szlig", 0xDF},  {"agrave", 0xE0}, {"aacute", 0xE1}, {"acirc", 0xE2},
      {"auml", 0xE4},   {"aring", 0xE5},  {"ccedil", 0xE7}, {"egrave", 0xE8}, {"eacute", 0xE9}, {"ecirc", 0xEA},
      {"euml", 0xEB},   {"iacute", 0xED}, {"icirc", 0xEE},  {"ntilde", 0xF1}, {"oacute", 0xF3}, {"ocirc", 0xF4},
      {"ouml", 0xF6},   {"oslash", 0xF8}, {"uacute", 0xFA}, {"ucirc", 0xFB},  {"uuml", 0xFC},   {"ndash", 0x2013},
      {"mdash", 0x2014}, {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201C}, {"rdquo", 0x201D},
      {"bull", 0x2022}, {"hellip", 0x2026}, {"euro", 0x20AC}, {"trade", 0x2122}, {"zwnj", 0x200C}};
  for (const Entity& e : kEntities)
    if (e.name == name) return e.cp;
  return std::nullopt;
}

}  // namespace

// ---------------------------------------------------------------------------------------

DecodedText text_to_utf8(std::string_view charset, std::string_view bytes) {
  DecodedText out;
  const std::string cs = ascii_lower(trim(charset));
  if (cs.empty() || cs == "utf-8" || cs == "utf8" || cs == "us-ascii" || cs == "ascii") {
    // us-ascii mail often carries UTF-8 or 8-bit octets; keep valid UTF-8 as is.
    if (is_valid_utf8(bytes)) {
      out.text = std::string(bytes);
    } else {
      out.text = message::sanitize_utf8(bytes);
      out.encoding_problem = true;
    }
    return out;
  }
  if (auto converted = message::charset_to_utf8(cs, bytes)) {
    out.text = std::move(*converted);
    return out;
  }
  out.text = message::sanitize_utf8(bytes);
  out.encoding_problem = true;
  return out;
}

std::string html_to_text(std::string_view html) {
  std::string out;
  out.reserve(html.size());
  std::size_t i = 0;
  auto starts_ci = [&](std::size_t at, std::string_view word) {
    return html.size() - at >= word.size() && iequals(html.substr(at, word.size()), word);
  };
  while (i < html.size()) {
    const char c = html[i];
    if (c == '<') {
      if (starts_ci(i, "<!--")) {
        const std::size_t end = html.find("-->", i + 4);
        i = end == std::string_view::npos ? html.size() : end + 3;
        continue;
      }
      for (std::string_view raw : {std::string_view("script"), std::string_view("style")}) {
        if (starts_ci(i + 1, raw)) {
          // Skip to the matching end tag: their contents are not text.
          std::size_t j = i + 1;
          while (j < html.size()) {
            const std::size_t lt = html.find("</", j);
            if (lt == std::string_view::npos) { j = html.size(); break; }
            if (starts_ci(lt + 2, raw)) { j = lt; break; }
            j = lt + 2;
          }
          i = j;
          break;
        }
      }
      if (i >= html.size()) break;
      const std::size_t gt = html.find('>', i);
      const std::string_view tag = html.substr(i + 1, gt == std::string_view::npos ? std::string_view::npos : gt - i - 1);
      std::string_view tname = tag;
      if (tname.starts_with('/')) tname.remove_prefix(1);
      std::size_t n = 0;
      while (n < tname.size() && is_alpha(static_cast<unsigned char>(tname[n]))) ++n;
      tname = tname.substr(0, n);
      for (std::string_view block : {"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table",
                                     "blockquote", "ul", "ol", "pre", "hr"}) {
        if (iequals(tname, block)) { out.push_back('\n'); break; }
      }
      i = gt == std::string_view::npos ? html.size() : gt + 1;
      continue;
    }
    if (c == '&') {
      const std::size_t semi = html.find(';', i);
      if (semi != std::string_view::npos && semi - i <= 10) {
        const std::string_view ent = html.substr(i + 1, semi - i - 1);
        std::uint32_t cp = 0;
        bool ok = true;
        if (ent == "amp") cp = '&';
        else if (ent == "lt") cp = '<';
        else if (ent == "gt") cp = '>';
        else if (ent == "quot") cp = '"';
        else if (ent == "apos") cp = '\'';
        else if (ent == "nbsp") cp = 0xA0;
        else if (auto named = named_entity(ent)) cp = *named;
        else if (ent.size() >= 2 && ent[0] == '#') {
          const bool hex = ent[1] == 'x' || ent[1] == 'X';
          const std::string_view digits = ent.substr(hex ? 2 : 1);
          ok = !digits.empty();
          for (char d : digits) {
            const int v = is_digit(static_cast<unsigned char>(d)) ? d - '0'
                          : (hex && is_hex(static_cast<unsigned char>(d))) ? (ascii_lower(d) - 'a' + 10) : -1;
            if (v < 0 || cp > 0x10FFFF) { ok = false; break; }
            cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(v);
          }
          if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) ok = false;
        } else {
          ok = false;
        }
        if (ok) {
          append_utf8(out, cp);
          i = semi + 1;
          continue;
        }
      }
    }
    out.push_back(c);
    ++i;
  }
  return message::sanitize_utf8(out);
}

std::string collapse_whitespace(std::string_view text, std::size_t chars_max) {
  std::string out;
  std::size_t chars = 0;
  bool space = false;
  std::size_t i = 0;
  while (i < text.size() && chars < chars_max) {
    std::uint32_t cp = 0;
    std::size_t len = next_utf8(text, i, cp);
    if (len == 0) { cp = 0xFFFD; len = 1; }
    const bool ws = cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n' || cp == '\f' || cp == '\v' || cp == 0xA0;
    if (ws) {
      space = !out.empty();
    } else {
      if (space) {
        out.push_back(' ');
        ++chars;
        space = false;
        if (chars >= chars_max) break;
      }
      if (cp == 0xFFFD && len == 1) append_utf8(out, cp);
      else out.append(text.substr(i, len));
      ++chars;
    }
    i += len;
  }
  return out;
}

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

namespace {

}  // namespace

std::optional<std::int64_t> parse_rfc5322_date(std::string_view value) {
  // Tokenize: comments dropped, tokens split at white space, ',' and ':'.
  std::vector<std::string> tok;
  std::string cur;
  int depth = 0;
  auto flush = [&] {
    if (!cur.empty()) tok.push_back(std::move(cur));
    cur.clear();
  };
  for (char c : value) {
    if (depth > 0) {
      if (c == '(') ++depth;
      if (c == ')') --depth;
      continue;
    }
    if (c == '(') { flush(); depth = 1; continue; }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',') { flush(); continue; }
    if (c == ':') { flush(); tok.emplace_back(":"); continue; }
    cur.push_back(c);
    if (tok.size() > 16) return std::nullopt;
  }
  flush();
  std::size_t k = 0;
  if (k < tok.size() && tok[k].size() >= 3 && is_alpha(static_cast<unsigned char>(tok[k][0]))) ++k;  // day-of-week
  auto number = [](const std::string& s, std::size_t max_digits) -> std::optional<std::int64_t> {
    if (s.empty() || s.size() > max_digits) return std::nullopt;
    std::int64_t v = 0;
    for (char c : s) {
      if (!is_digit(static_cast<unsigned char>(c))) return std::nullopt;
      v = v * 10 + (c - '0');
    }
    return v;
  };
  if (tok.size() < k + 6) return std::nullopt;
  const auto day = number(tok[k++], 2);
  static constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                 "jul", "aug", "sep", "oct", "nov", "dec"};
  unsigned month = 0;
  for (unsigned m = 0; m < 12; ++m)
    if (tok[k].size() >= 3 && iequals(std::string_view(tok[k]).substr(0, 3), kMonths[m])) month = m + 1;
  ++k;
  auto year = number(tok[k++], 4);
  if (!day || month == 0 || !year || *day < 1 || *day > 31) return std::nullopt;
  // RFC 5322 §4.3: two-digit years 00-49 are 20xx, others 19xx; three digits add 1900.
  if (tok[k - 1].size() == 2) *year += *year < 50 ? 2000 : 1900;
  else if (tok[k - 1].size() == 3) *year += 1900;
  const auto hour = number(tok[k++], 2);
  if (k >= tok.size() || tok[k++] != ":") return std::nullopt;
  if (k >= tok.size()) return std::nullopt;
  const auto minute = number(tok[k++], 2);
  std::int64_t second = 0;
  if (k < tok.size() && tok[k] == ":") {
    ++k;
    if (k >= tok.size()) return std::nullopt;
    const auto s = number(tok[k++], 2);
    if (!s) return std::nullopt;
    second = *s;
  }
  if (!hour || !minute || *hour > 23 || *minute > 59 || second > 60) return std::nullopt;
  std::int64_t offset_minutes = 0;
  if (k < tok.size()) {
    const std::string& z = tok[k];
    if ((z[0] == '+' || z[0] == '-') && z.size() == 5) {
      const auto hhmm = number(z.substr(1), 4);
      if (!hhmm) return std::nullopt;
      offset_minutes = (*hhmm / 100) * 60 + *hhmm % 100;
      if (z[0] == '-') offset_minutes = -offset_minutes;
    } else {
      // RFC 5322 §4.3 obs-zone; military zones and unknown names are treated as +0000.
      struct Zone { std::string_view name; int hours; };
      static constexpr Zone kZones[] = {{"EDT", -4}, {"EST", -5}, {"CDT", -5}, {"CST", -6},
                                        {"MDT", -6}, {"MST", -7}, {"PDT", -7}, {"PST", -8}};
      for (const Zone& zone : kZones)
        if (iequals(z, zone.name)) offset_minutes = zone.hours * 60;
    }
  }
  const std::int64_t days = days_from_civil(*year, month, static_cast<unsigned>(*day));
  return days * 86400 + *hour * 3600 + *minute * 60 + second - offset_minutes * 60;
}

CivilTime civil_time(std::int64_t t) {
  std::int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  CivilTime c;
  c.second_of_day = t - days * 86400;
  c.weekday = static_cast<unsigned>(((days % 7) + 7 + 4) % 7);  // 1970-01-01 was a Thursday
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  c.day = doy - (153 * mp + 2) / 5 + 1;
  c.month = mp < 10 ? mp + 3 : mp - 9;
  c.year = static_cast<std::int64_t>(yoe) + era * 400 + (c.month <= 2 ? 1 : 0);
  return c;
}

std::string format_utc_date(std::int64_t t) {
  const CivilTime c = civil_time(t);
  std::int64_t y = c.year;
  const unsigned m = c.month, d = c.day;
  const std::int64_t secs = c.second_of_day;
  if (y < 0) y = 0;
  if (y > 9999) y = 9999;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(y), m, d,
                static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                static_cast<long long>(secs % 60));
  return buf;
}

bool needs_body(const std::vector<std::string>& properties, const BodyValueOptions& options) {
  for (const std::string& p : properties) {
    if (p == "bodyValues") {
      if (options.text || options.html || options.all) return true;
      continue;
    }
    if (is_body_property(p)) return true;
  }
  return false;
}

void add_email_properties(std::string_view message, const std::vector<std::string>& properties,
                          const std::vector<std::string>* body_properties, const BodyValueOptions& options,
                          const EmailParseContext& ctx, json::object& out) {
  const std::size_t header_end = message::body_offset(message);
  const std::vector<HeaderField> fields = message::parse_header_fields(message.substr(0, header_end)).fields;
  const std::vector<std::string>& bprops = body_properties ? *body_properties : default_body_properties();
  std::optional<Model> model;
  auto get_model = [&]() -> const Model& {
    if (!model) model.emplace(message, &ctx);
    return *model;
  };
  for (const std::string& prop : properties) {
    if (auto spec = convenience_spec(prop)) {
      out[prop] = header_value(fields, *spec);
    } else if (prop == "headers") {
      out[prop] = headers_list(fields);
    } else if (auto hspec = parse_header_property(prop)) {
      out[prop] = header_value(fields, *hspec);
    } else if (prop == "bodyStructure") {
      out[prop] = get_model().part_json(0, bprops, true);
    } else if (prop == "textBody" || prop == "htmlBody" || prop == "attachments") {
      const Model& m = get_model();
      const auto& list = prop == "textBody" ? m.text_body() : prop == "htmlBody" ? m.html_body() : m.attachments();
      json::array a;
      for (std::size_t idx : list) a.push_back(m.part_json(idx, bprops, false));
      out[prop] = std::move(a);
    } else if (prop == "hasAttachment") {
      out[prop] = has_attachment(get_model());
    } else if (prop == "preview") {
      out[prop] = collapse_whitespace(body_text_for_preview(get_model()), kPreviewCharsMax);
    } else if (prop == "bodyValues") {
      json::object values;
      if (options.text || options.html || options.all) {
        const Model& m = get_model();
        std::vector<std::size_t> wanted;
        auto take = [&](const std::vector<std::size_t>& list) {
          for (std::size_t idx : list)
            if (m.parts()[idx].type.starts_with("text/")) wanted.push_back(idx);
        };
        if (options.all) {
          for (std::size_t i = 0; i < m.parts().size(); ++i)
            if (!m.parts()[i].part_id.empty() && m.parts()[i].type.starts_with("text/")) wanted.push_back(i);
        }
        if (options.text) take(m.text_body());
        if (options.html) take(m.html_body());
        for (std::size_t idx : wanted) {
          const JPart& p = m.parts()[idx];
          if (values.contains(p.part_id)) continue;
          DecodedText t = m.text(p);
          json::object v;
          const bool truncated = options.max_bytes > 0 && t.text.size() > options.max_bytes;
          v["value"] = truncated ? truncate_value(std::move(t.text), options.max_bytes, p.type == "text/html")
                                 : std::move(t.text);
          v["isEncodingProblem"] = t.encoding_problem;
          v["isTruncated"] = truncated;
          values[p.part_id] = std::move(v);
        }
      }
      out[prop] = std::move(values);
    }
  }
}

std::optional<std::pair<std::string, std::string>> part_contents(std::string_view message,
                                                                 std::string_view part_id) {
  if (part_id.empty()) return std::nullopt;
  const Model m(message, nullptr);
  for (const JPart& p : m.parts()) {
    if (p.part_id.empty() || p.part_id != part_id) continue;
    return std::make_pair(m.decoded(p), p.type);
  }
  return std::nullopt;
}

std::string all_text_body(std::string_view message) {
  const Model m(message, nullptr);
  std::string out;
  for (std::size_t idx : m.text_body()) {
    const JPart& p = m.parts()[idx];
    if (p.type != "text/plain" && p.type != "text/html") continue;
    if (!out.empty()) out.push_back('\n');
    out += p.type == "text/html" ? html_to_text(m.text(p).text) : m.text(p).text;
  }
  return out;
}

}  // namespace mail::jmap
