// RFC 8621 §4.6 Email/set create to MIME: validation of the create object (properties,
// header forms, body parts and bodyValues), header encoding (RFC 5322 §3.3 date, §3.4
// addresses, §3.6.4 msg-ids, RFC 2047 words, RFC 2231 parameters), body encoding (RFC 2045
// §6.7 quoted-printable, §6.8 base64) and multipart assembly (RFC 2046 §5.1). Pure.
#include "jmap/email_build.h"

#include <algorithm>
#include <cstdio>

#include "core/ascii.h"
#include "core/utf8.h"
#include "jmap/email_parse.h"
#include "proto/sasl/base64.h"

namespace mail::jmap {

namespace json = boost::json;

namespace {

constexpr std::size_t kFoldColumns = 78;     // RFC 5322 §2.1.1 SHOULD
constexpr std::size_t kLineOctetsMax = 998;  // RFC 5322 §2.1.1 MUST
constexpr std::size_t kTokenOctetsMax = 900; // an address, msg-id or URL: fits one line
constexpr std::size_t kWordPayloadMax = 39;  // octets per "=?UTF-8?B?..?=" word: 52 base64 chars, 64 total
static_assert(12 + (kWordPayloadMax + 2) / 3 * 4 <= 75, "RFC 2047 §2: an encoded word is at most 75 octets");

class Errors {
 public:
  void add(std::string_view prop) {
    if (std::find(list_.begin(), list_.end(), prop) == list_.end()) list_.emplace_back(prop);
  }
  bool empty() const { return list_.empty(); }
  std::vector<std::string> take() { return std::move(list_); }

 private:
  std::vector<std::string> list_;
};

bool is_printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= 0x20 && c <= 0x7E) || c == '\t'; });
}

// The longest run of non-blank octets (what folding cannot break).
std::size_t longest_word(std::string_view s) {
  std::size_t best = 0, run = 0;
  for (char c : s) {
    run = (c == ' ' || c == '\t') ? 0 : run + 1;
    best = std::max(best, run);
  }
  return best;
}

// RFC 2047 B words of whole UTF-8 characters, separated by single spaces.
std::string encoded_words(std::string_view utf8) {
  std::string out;
  std::size_t i = 0;
  while (i < utf8.size()) {
    std::size_t end = i;
    while (end < utf8.size()) {
      std::uint32_t cp = 0;
      std::size_t len = next_utf8(utf8, end, cp);
      if (len == 0) len = 1;  // invalid octet: carried as is (the decoder sanitizes it)
      if (end + len - i > kWordPayloadMax) break;
      end += len;
    }
    if (end == i) end = i + 1;
    if (!out.empty()) out.push_back(' ');
    out += "=?UTF-8?B?" + sasl::base64_encode(utf8.substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

// RFC 5322 §3.2.3 atext.
bool is_atext(char c) {
  if (is_alpha(static_cast<unsigned char>(c)) || is_digit(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

// A display name as a phrase (§3.2.5): atoms, a quoted-string, or RFC 2047 words (§5 (3)).
std::string encode_phrase(std::string_view name) {
  const bool plain = is_printable_ascii(name) && name.find("=?") == std::string_view::npos &&
                     longest_word(name) < kTokenOctetsMax && name.find('\t') == std::string_view::npos;
  if (!plain) return encoded_words(name);
  bool atoms = !name.empty() && name.front() != ' ' && name.back() != ' ' && name.find("  ") == std::string_view::npos;
  for (char c : name)
    if (c != ' ' && !is_atext(c)) atoms = false;
  if (atoms) return std::string(name);
  std::string q = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') q.push_back('\\');
    q.push_back(c);
  }
  q.push_back('"');
  return q;
}

bool valid_email(std::string_view e) {
  if (e.empty() || e.size() > kTokenOctetsMax) return false;
  const std::size_t at = e.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == e.size()) return false;
  for (char c : e) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u == 0x7F) return false;
    if (std::string_view("<>()[],;:\"\\").find(c) != std::string_view::npos) return false;
  }
  return is_valid_utf8(e);
}

// {name, email} -> "phrase <email>" or "email"; nullopt when invalid.
std::optional<std::string> format_address(const json::value& v) {
  const json::object* o = v.if_object();
  if (!o) return std::nullopt;
  const json::value* email = o->if_contains("email");
  if (!email || !email->is_string() || !valid_email(email->as_string())) return std::nullopt;
  for (const auto& kv : *o)
    if (kv.key() != "email" && kv.key() != "name") return std::nullopt;
  const json::value* name = o->if_contains("name");
  if (name && !name->is_null() && !name->is_string()) return std::nullopt;
  const std::string addr(email->as_string());
  if (!name || name->is_null() || name->as_string().empty()) return addr;
  if (!is_valid_utf8(name->as_string())) return std::nullopt;
  return encode_phrase(name->as_string()) + " <" + addr + ">";
}

std::optional<std::string> format_address_list(const json::value& v) {
  const json::array* a = v.if_array();
  if (!a) return std::nullopt;
  std::string out;
  for (const json::value& item : *a) {
    auto one = format_address(item);
    if (!one) return std::nullopt;
    if (!out.empty()) out += ", ";
    out += *one;
  }
  return out;
}

std::optional<std::string> format_grouped(const json::value& v) {
  const json::array* a = v.if_array();
  if (!a) return std::nullopt;
  std::string out;
  for (const json::value& g : *a) {
    const json::object* o = g.if_object();
    if (!o) return std::nullopt;
    const json::value* name = o->if_contains("name");
    const json::value* list = o->if_contains("addresses");
    if (!list) return std::nullopt;
    auto members = format_address_list(*list);
    if (!members) return std::nullopt;
    if (!out.empty()) out += ", ";
    if (name && name->is_string()) {
      out += encode_phrase(name->as_string()) + ": " + *members + ";";
    } else if (name && !name->is_null()) {
      return std::nullopt;
    } else {
      out += *members;
    }
  }
  return out;
}

bool valid_token(std::string_view s) {
  if (s.empty() || s.size() > kTokenOctetsMax) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7F && c != '<' && c != '>'; });
}

// ["a@b", "c@d"] -> "<a@b> <c@d>" (RFC 5322 §3.6.4).
std::optional<std::string> format_ids(const json::value& v) {
  const json::array* a = v.if_array();
  if (!a || a->empty()) return std::nullopt;
  std::string out;
  for (const json::value& id : *a) {
    if (!id.is_string() || !valid_token(id.as_string())) return std::nullopt;
    if (!out.empty()) out.push_back(' ');
    out += "<" + std::string(id.as_string()) + ">";
  }
  return out;
}

std::optional<std::string> format_urls(const json::value& v) {
  const json::array* a = v.if_array();
  if (!a || a->empty()) return std::nullopt;
  std::string out;
  for (const json::value& u : *a) {
    if (!u.is_string() || !valid_token(u.as_string())) return std::nullopt;
    if (!out.empty()) out += ", ";
    out += "<" + std::string(u.as_string()) + ">";
  }
  return out;
}

// RFC 5322 §3.3 "Mon, 1 Jan 2024 11:00:00 +0100" of a Unix time shown at `offset_minutes`.
std::string format_rfc5322(std::int64_t t, int offset_minutes) {
  const CivilTime c = civil_time(t + static_cast<std::int64_t>(offset_minutes) * 60);
  const std::int64_t y = c.year, secs = c.second_of_day;
  const unsigned m = c.month, d = c.day, weekday = c.weekday;
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const int off = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  char buf[128];
  std::snprintf(buf, sizeof buf, "%s, %u %s %04lld %02lld:%02lld:%02lld %c%02d%02d", kDays[weekday], d,
                kMonths[m - 1], static_cast<long long>(std::clamp<std::int64_t>(y, 0, 9999)),
                static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                static_cast<long long>(secs % 60), offset_minutes < 0 ? '-' : '+', off / 60, off % 60);
  return buf;
}

// RFC 3339 date-time (RFC 8620 §1.4 Date) -> RFC 5322 date-time keeping the offset.
std::optional<std::string> format_date(std::string_view s) {
  auto num = [&](std::size_t at, std::size_t n) -> std::optional<int> {
    if (at + n > s.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (!is_digit(static_cast<unsigned char>(s[i]))) return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  const auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), se = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !se || s.size() < 20) return std::nullopt;
  if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':') return std::nullopt;
  if (*mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 || *mi > 59 || *se > 60) return std::nullopt;
  std::size_t i = 19;
  if (s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(static_cast<unsigned char>(s[i]))) ++i;
  }
  int offset = 0;
  if (i + 1 == s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    offset = 0;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    const auto oh = num(i + 1, 2), om = num(i + 4, 2);
    if (!oh || !om || *oh > 23 || *om > 59) return std::nullopt;
    offset = *oh * 60 + *om;
    if (s[i] == '-') offset = -offset;
  } else {
    return std::nullopt;
  }
  const std::int64_t local = days_from_civil(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d)) * 86400 +
                             *h * 3600 + *mi * 60 + *se;
  return format_rfc5322(local - static_cast<std::int64_t>(offset) * 60, offset);
}

bool valid_field_name(std::string_view n) {
  if (n.empty() || n.size() > 200) return false;
  return std::all_of(n.begin(), n.end(), [](char c) { return c >= 0x21 && c <= 0x7E && c != ':'; });
}

// An asRaw value: used as is when every line end is a fold and lines are within limits.
bool valid_raw(std::string_view v) {
  std::size_t line = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (c == '\n') return false;  // bare LF
    if (c == '\r') {
      if (i + 2 >= v.size() || v[i + 1] != '\n' || (v[i + 2] != ' ' && v[i + 2] != '\t')) return false;
      ++i;
      line = 0;
      continue;
    }
    if (c == '\0') return false;
    if (++line > kLineOctetsMax - 100) return false;
  }
  return is_valid_utf8(v);
}

// The header field value for one parsed-form JSON value (RFC 8621 §4.1.2), unfolded.
std::optional<std::string> header_from_form(std::string_view form, const json::value& v) {
  if (form == "asRaw" || form.empty()) {
    if (!v.is_string() || !valid_raw(v.as_string())) return std::nullopt;
    return std::string(v.as_string());
  }
  if (form == "asText") {
    if (!v.is_string() || !is_valid_utf8(v.as_string())) return std::nullopt;
    return " " + encode_header_text(v.as_string());
  }
  std::optional<std::string> s;
  if (form == "asAddresses") s = format_address_list(v);
  else if (form == "asGroupedAddresses") s = format_grouped(v);
  else if (form == "asMessageIds") s = format_ids(v);
  else if (form == "asDate" && v.is_string()) s = format_date(v.as_string());
  else if (form == "asURLs") s = format_urls(v);
  if (!s) return std::nullopt;
  return " " + *s;
}

struct Field {
  std::string name;
  std::string value;  // from just after the colon; folded by fold_field unless raw
  bool raw = false;
};

std::string render_field(const Field& f) {
  if (f.raw) return f.name + ":" + f.value + "\r\n";
  std::string_view v = f.value;
  if (v.starts_with(' ')) v.remove_prefix(1);
  return fold_field(f.name, v);
}

// "header:Name:asForm[:all]" entries of a JSON object; bad ones go to `errors` as `prefix`+name.
void collect_header_properties(const json::object& o, bool top_level, std::vector<Field>& out, Errors& errors,
                               std::string_view error_prop) {
  for (const auto& kv : o) {
    const std::string_view key = kv.key();
    if (!key.starts_with("header:")) continue;
    std::string_view rest = key.substr(7);
    bool all = false;
    if (rest.ends_with(":all")) {
      all = true;
      rest.remove_suffix(4);
    }
    const std::size_t colon = rest.find(':');
    const std::string_view name = rest.substr(0, colon);
    const std::string_view form = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    const std::string err = error_prop.empty() ? std::string(key) : std::string(error_prop);
    if (!valid_field_name(name) || (top_level && istarts_with(name, "Content-")) ||
        iequals(name, "Content-Transfer-Encoding")) {
      errors.add(err);
      continue;
    }
    for (const Field& f : out)
      if (iequals(f.name, name)) errors.add(err);  // RFC 8621 §4.6: one property per field
    if (all) {
      if (!kv.value().is_array()) { errors.add(err); continue; }
      for (const json::value& item : kv.value().as_array()) {
        auto v = header_from_form(form, item);
        if (!v) { errors.add(err); break; }
        out.push_back(Field{std::string(name), *v, form == "asRaw" || form.empty()});
      }
      continue;
    }
    auto v = header_from_form(form, kv.value());
    if (!v) { errors.add(err); continue; }
    out.push_back(Field{std::string(name), *v, form == "asRaw" || form.empty()});
  }
}

// ---- body ----

// Line ends normalized to CRLF (RFC 5322 §2.3: no bare CR or LF).
std::string to_crlf(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 32);
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool is_7bit_short(std::string_view crlf_text) {
  std::size_t line = 0;
  for (char c : crlf_text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || u == 0) return false;
    if (c == '\n') { line = 0; continue; }
    if (++line > kLineOctetsMax) return false;
  }
  return true;
}

// RFC 2045 §6.7 quoted-printable of CRLF text: lines of at most 76 octets, soft breaks.
std::string quoted_printable(std::string_view crlf_text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  std::size_t col = 0;
  auto emit = [&](std::string_view piece) {
    if (col + piece.size() > 75) {
      out += "=\r\n";
      col = 0;
    }
    out += piece;
    col += piece.size();
  };
  for (std::size_t i = 0; i < crlf_text.size(); ++i) {
    const char c = crlf_text[i];
    const auto u = static_cast<unsigned char>(c);
    if (c == '\r' && i + 1 < crlf_text.size() && crlf_text[i + 1] == '\n') {
      out += "\r\n";
      col = 0;
      ++i;
      continue;
    }
    const bool at_line_end = i + 1 == crlf_text.size() || crlf_text[i + 1] == '\r';
    const bool literal = (u >= 33 && u <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
    if (literal) {
      emit(std::string_view(&c, 1));
    } else {
      const char enc[3] = {'=', kHex[u >> 4], kHex[u & 15]};
      emit(std::string_view(enc, 3));
    }
  }
  return out;
}

std::string base64_lines(std::string_view bytes) {
  const std::string b = sasl::base64_encode(bytes);
  std::string out;
  for (std::size_t i = 0; i < b.size(); i += 76) {
    if (i) out += "\r\n";
    out += b.substr(i, 76);
  }
  return out;
}

// A MIME parameter: token, quoted-string, or (non-ASCII / long) RFC 2231 §3-§4 extended
// continuations; for the Content-Type name parameter RFC 2047 in a quoted string instead.
std::string format_param(std::string_view name, std::string_view value, bool rfc2231) {
  const bool ascii = is_printable_ascii(value) && value.find('\t') == std::string_view::npos;
  if (ascii && value.size() <= 60) {
    bool token = !value.empty();
    for (char c : value)
      if (!(is_atext(c) && c != '/' && c != '=' && c != '?') && c != '.') token = false;
    if (token) return std::string(name) + "=" + std::string(value);
    std::string q = std::string(name) + "=\"";
    for (char c : value) {
      if (c == '"' || c == '\\') q.push_back('\\');
      q.push_back(c);
    }
    return q + "\"";
  }
  if (!rfc2231) return std::string(name) + "=\"" + encoded_words(value) + "\"";
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::vector<std::string> sections{"utf-8''"};
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    std::string piece;
    if (is_alpha(u) || is_digit(u) || std::string_view("!#$&+-.^_`|~").find(c) != std::string_view::npos) {
      piece.push_back(c);
    } else {
      piece = {'%', kHex[u >> 4], kHex[u & 15]};
    }
    if (sections.back().size() + piece.size() > 60) sections.emplace_back();
    sections.back() += piece;
  }
  if (sections.size() == 1) return std::string(name) + "*=" + sections[0];
  std::string out;
  for (std::size_t i = 0; i < sections.size(); ++i) {
    if (i) out += "; ";
    out += std::string(name) + "*" + std::to_string(i) + "*=" + sections[i];
  }
  return out;
}

struct Node {
  std::string type;                  // lower case "type/subtype"
  std::vector<Field> fields;         // header:X properties of the part
  std::optional<std::string> charset, disposition, name, cid, location;
  std::vector<std::string> language;
  std::string content;               // text (UTF-8) or blob octets
  bool is_text_value = false;        // content came from bodyValues
  std::vector<Node> sub;
};

bool valid_media_type(std::string_view t) {
  const std::size_t slash = t.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == t.size()) return false;
  return std::all_of(t.begin(), t.end(), [](char c) {
    return is_alpha(static_cast<unsigned char>(c)) || is_digit(static_cast<unsigned char>(c)) ||
           std::string_view("!#$&-^_.+/").find(c) != std::string_view::npos;
  }) && t.find('/', slash + 1) == std::string_view::npos;
}

class Builder {
 public:
  Builder(const json::object& create, const BlobLookup& blobs) : create_(create), blobs_(blobs) {}

  Errors errors;

  // An EmailBodyPart (RFC 8621 §4.1.4) as given in create; errors are reported as `prop`.
  std::optional<Node> part(const json::value& v, std::string_view prop, std::string_view default_type, int depth) {
    const json::object* o = v.if_object();
    if (!o || depth > 20) { errors.add(prop); return std::nullopt; }
    Node n;
    const json::value* type = o->if_contains("type");
    const json::value* sub = o->if_contains("subParts");
    const json::value* part_id = o->if_contains("partId");
    const json::value* blob_id = o->if_contains("blobId");
    for (const auto& kv : *o) {
      const std::string_view k = kv.key();
      static constexpr std::string_view kKnown[] = {"type", "subParts", "partId", "blobId", "charset",
                                                    "disposition", "name", "cid", "language", "location", "size"};
      if (k.starts_with("header:")) continue;
      if (std::find(std::begin(kKnown), std::end(kKnown), k) == std::end(kKnown)) errors.add(prop);  // incl. headers
    }
    if (type && !type->is_null()) {
      if (!type->is_string() || !valid_media_type(type->as_string())) { errors.add(prop); return std::nullopt; }
      n.type = ascii_lower(type->as_string());
    }
    auto str = [&](const char* key, std::optional<std::string>& dst) {
      const json::value* x = o->if_contains(key);
      if (!x || x->is_null()) return;
      if (!x->is_string() || !is_valid_utf8(x->as_string()) || x->as_string().size() > kTokenOctetsMax) {
        errors.add(prop);
        return;
      }
      dst = std::string(x->as_string());
    };
    str("charset", n.charset);
    str("disposition", n.disposition);
    str("name", n.name);
    str("cid", n.cid);
    str("location", n.location);
    if (n.cid && !valid_token(*n.cid)) errors.add(prop);
    if (n.disposition && !valid_field_name(*n.disposition)) errors.add(prop);
    if (n.location && !valid_token(*n.location)) errors.add(prop);
    if (n.charset && !valid_field_name(*n.charset)) errors.add(prop);
    if (const json::value* lang = o->if_contains("language"); lang && !lang->is_null()) {
      if (!lang->is_array()) errors.add(prop);
      else for (const json::value& l : lang->as_array()) {
        if (!l.is_string() || !valid_field_name(l.as_string())) { errors.add(prop); break; }
        n.language.emplace_back(l.as_string());
      }
    }
    collect_header_properties(*o, false, n.fields, errors, prop);
    if (sub && !sub->is_null()) {
      if (n.type.empty()) n.type = "multipart/mixed";
      if (!n.type.starts_with("multipart/") || !sub->is_array() || (part_id && !part_id->is_null()) ||
          (blob_id && !blob_id->is_null())) {
        errors.add(prop);
        return std::nullopt;
      }
      for (const json::value& s : sub->as_array()) {
        auto child = part(s, prop, "text/plain", depth + 1);
        if (!child) return std::nullopt;
        n.sub.push_back(std::move(*child));
      }
      return n;
    }
    const bool has_part = part_id && !part_id->is_null();
    const bool has_blob = blob_id && !blob_id->is_null();
    if (has_part == has_blob || n.type.starts_with("multipart/")) { errors.add(prop); return std::nullopt; }
    if (has_part) {
      // RFC 8621 §4.6: a bodyValues part is text in UTF-8; charset and size must be omitted.
      if (!part_id->is_string() || n.charset || o->contains("size")) { errors.add(prop); return std::nullopt; }
      const json::value* values = create_.if_contains("bodyValues");
      const json::value* bv = values && values->is_object() ? values->as_object().if_contains(part_id->as_string())
                                                            : nullptr;
      const json::value* text = bv && bv->is_object() ? bv->as_object().if_contains("value") : nullptr;
      if (!text || !text->is_string() || !is_valid_utf8(text->as_string())) {
        errors.add(prop);
        errors.add("bodyValues");
        return std::nullopt;
      }
      if (n.type.empty()) n.type = std::string(default_type);
      if (!n.type.starts_with("text/")) { errors.add(prop); return std::nullopt; }
      n.content = std::string(text->as_string());
      n.is_text_value = true;
      used_values_.emplace_back(part_id->as_string());
      return n;
    }
    if (!blob_id->is_string()) { errors.add(prop); return std::nullopt; }
    auto bytes = blobs_ ? blobs_(std::string_view(blob_id->as_string())) : std::nullopt;
    if (!bytes) { errors.add(std::string(prop) + "/blobId"); return std::nullopt; }
    if (n.type.empty()) n.type = "application/octet-stream";
    n.content = std::move(*bytes);
    return n;
  }

  // bodyValues entries: {value, isEncodingProblem: false, isTruncated: false} (RFC 8621 §4.6).
  void check_body_values() {
    const json::value* values = create_.if_contains("bodyValues");
    if (!values || values->is_null()) return;
    if (!values->is_object()) { errors.add("bodyValues"); return; }
    for (const auto& kv : values->as_object()) {
      const json::object* v = kv.value().if_object();
      if (!v) { errors.add("bodyValues"); continue; }
      for (const auto& f : *v) {
        if (f.key() == "value") continue;
        if ((f.key() == "isEncodingProblem" || f.key() == "isTruncated") && f.value() == false) continue;
        errors.add("bodyValues");
      }
    }
  }

  std::optional<Node> body() {
    check_body_values();
    const bool has_structure = create_.contains("bodyStructure") && !create_.at("bodyStructure").is_null();
    const bool has_lists = (create_.contains("textBody") && !create_.at("textBody").is_null()) ||
                           (create_.contains("htmlBody") && !create_.at("htmlBody").is_null()) ||
                           (create_.contains("attachments") && !create_.at("attachments").is_null());
    if (has_structure && has_lists) {
      errors.add("bodyStructure");
      return std::nullopt;
    }
    if (has_structure) return part(create_.at("bodyStructure"), "bodyStructure", "text/plain", 0);
    auto single = [&](const char* prop, std::string_view type) -> std::optional<Node> {
      const json::value* v = create_.if_contains(prop);
      if (!v || v->is_null()) return std::nullopt;
      const json::array* a = v->if_array();
      if (!a || a->size() > 1) { errors.add(prop); return std::nullopt; }
      if (a->empty()) return std::nullopt;
      auto n = part((*a)[0], prop, type, 0);
      if (n && (n->type != type || !n->sub.empty())) { errors.add(prop); return std::nullopt; }
      return n;
    };
    std::optional<Node> text = single("textBody", "text/plain");
    std::optional<Node> html = single("htmlBody", "text/html");
    std::vector<Node> inline_parts, attachments;
    if (const json::value* v = create_.if_contains("attachments"); v && !v->is_null()) {
      if (!v->is_array()) {
        errors.add("attachments");
      } else {
        for (const json::value& a : v->as_array()) {
          auto n = part(a, "attachments", "application/octet-stream", 0);
          if (!n) continue;
          if (html && n->cid && n->disposition && iequals(*n->disposition, "inline")) inline_parts.push_back(std::move(*n));
          else attachments.push_back(std::move(*n));
        }
      }
    }
    if (!errors.empty()) return std::nullopt;
    auto multipart = [](std::string type, std::vector<Node> parts) {
      Node m;
      m.type = std::move(type);
      m.sub = std::move(parts);
      return m;
    };
    if (html && !inline_parts.empty()) {
      inline_parts.insert(inline_parts.begin(), std::move(*html));
      html = multipart("multipart/related", std::move(inline_parts));
    }
    std::optional<Node> main;
    if (text && html) main = multipart("multipart/alternative", {std::move(*text), std::move(*html)});
    else if (text) main = std::move(text);
    else if (html) main = std::move(html);
    if (attachments.empty()) {
      if (main) return main;
      Node empty;
      empty.type = "text/plain";
      empty.is_text_value = true;
      return empty;
    }
    std::vector<Node> parts;
    if (main) parts.push_back(std::move(*main));
    for (Node& a : attachments) parts.push_back(std::move(a));
    return multipart("multipart/mixed", std::move(parts));
  }

  // The part's MIME header fields and encoded body (no trailing CRLF).
  void render(const Node& n, std::string_view unique, std::string& headers, std::string& body) {
    const bool multi = n.type.starts_with("multipart/");
    std::string ctype = n.type;
    if (n.is_text_value) ctype += "; charset=utf-8";
    else if (n.charset && n.type.starts_with("text/")) ctype += "; " + format_param("charset", *n.charset, false);
    if (!multi) {
      if (n.name) ctype += "; " + format_param("name", *n.name, false);
    } else {
      std::vector<std::pair<std::string, std::string>> rendered;
      for (const Node& s : n.sub) {
        std::string h, b;
        render(s, unique, h, b);
        rendered.emplace_back(std::move(h), std::move(b));
      }
      std::string boundary;
      // The boundary must not occur in any child (RFC 2046 §5.1.1).
      for (int attempt = 0;; ++attempt) {
        boundary = "=_" + std::string(unique) + "_" + std::to_string(boundaries_++);
        bool clash = false;
        for (const auto& [h, b] : rendered)
          if (h.find(boundary) != std::string::npos || b.find(boundary) != std::string::npos) clash = true;
        if (!clash || attempt > 100) break;
      }
      ctype += "; boundary=\"" + boundary + "\"";
      for (const auto& [h, b] : rendered) body += "--" + boundary + "\r\n" + h + "\r\n" + b + "\r\n";
      body += "--" + boundary + "--";
    }
    headers += fold_field("Content-Type", ctype);
    if (!multi) {
      std::string encoding = "7bit";
      if (n.is_text_value) {
        const std::string crlf = to_crlf(n.content);
        if (is_7bit_short(crlf)) {
          body = crlf;
        } else {
          encoding = "quoted-printable";
          body = quoted_printable(crlf);
        }
      } else if (n.type == "message/rfc822" || n.type == "message/global") {
        // RFC 2046 §5.2.1: no base64 for message/rfc822; 8bit when the lines allow.
        const std::string crlf = to_crlf(n.content);
        bool short_lines = true;
        std::size_t line = 0;
        for (char c : crlf) {
          if (c == '\n') line = 0;
          else if (++line > kLineOctetsMax) short_lines = false;
        }
        if (short_lines && crlf.find('\0') == std::string::npos) {
          encoding = is_7bit_short(crlf) ? "7bit" : "8bit";
          body = crlf;
        } else {
          encoding = "base64";
          body = base64_lines(n.content);
        }
      } else {
        encoding = "base64";
        body = base64_lines(n.content);
      }
      headers += fold_field("Content-Transfer-Encoding", encoding);
    }
    if (n.disposition || (n.name && !multi)) {
      std::string disp = ascii_lower(n.disposition.value_or("attachment"));
      if (n.name) disp += "; " + format_param("filename", *n.name, true);
      headers += fold_field("Content-Disposition", disp);
    }
    if (n.cid) headers += fold_field("Content-ID", "<" + *n.cid + ">");
    if (!n.language.empty()) {
      std::string l;
      for (const std::string& x : n.language) l += (l.empty() ? "" : ", ") + x;
      headers += fold_field("Content-Language", l);
    }
    if (n.location) headers += fold_field("Content-Location", *n.location);
    for (const Field& f : n.fields) headers += render_field(f);
  }

 private:
  const json::object& create_;
  const BlobLookup& blobs_;
  std::vector<std::string> used_values_;
  std::size_t boundaries_ = 0;
};

}  // namespace

std::string encode_header_text(std::string_view text) {
  const bool plain = is_printable_ascii(text) && text.find("=?") == std::string_view::npos &&
                     text.find('\t') == std::string_view::npos && longest_word(text) < kTokenOctetsMax;
  if (plain) return std::string(text);
  return encoded_words(text);
}

std::string fold_field(std::string_view name, std::string_view value) {
  std::string out(name);
  out += ": ";
  std::size_t line_start = 0;
  std::size_t i = 0;
  while (i < value.size()) {
    // The next segment: a space followed by non-space octets (or the first word).
    std::size_t end = i;
    if (value[end] == ' ') ++end;
    while (end < value.size() && value[end] != ' ') ++end;
    const std::string_view seg = value.substr(i, end - i);
    const bool foldable = seg.size() > 1 && seg[0] == ' ' && out.size() - line_start > name.size() + 2;
    if (foldable && out.size() - line_start + seg.size() > kFoldColumns) {
      out += "\r\n";
      line_start = out.size();
    }
    out += seg;
    i = end;
  }
  out += "\r\n";
  return out;
}

std::variant<BuiltEmail, std::vector<std::string>> build_email(const json::object& create, const BlobLookup& blobs,
                                                               std::int64_t now_unix_seconds,
                                                               std::string_view message_id_domain,
                                                               std::string_view unique_in) {
  // `unique` goes into the Message-ID and the boundaries: keep it to dot-atom-safe octets.
  std::string unique;
  for (char c : unique_in)
    if (is_alpha(static_cast<unsigned char>(c)) || is_digit(static_cast<unsigned char>(c)) || c == '.' ||
        c == '-' || c == '_')
      unique.push_back(c);
  if (unique.empty()) unique = "0";
  Builder b(create, blobs);
  Errors& errors = b.errors;
  std::vector<Field> fields;
  struct Row { std::string_view prop, header, form; };
  static constexpr Row kRows[] = {
      {"sentAt", "Date", "asDate"},           {"from", "From", "asAddresses"},
      {"sender", "Sender", "asAddresses"},    {"replyTo", "Reply-To", "asAddresses"},
      {"to", "To", "asAddresses"},            {"cc", "Cc", "asAddresses"},
      {"bcc", "Bcc", "asAddresses"},          {"subject", "Subject", "asText"},
      {"messageId", "Message-ID", "asMessageIds"}, {"inReplyTo", "In-Reply-To", "asMessageIds"},
      {"references", "References", "asMessageIds"}};
  for (const Row& r : kRows) {
    const json::value* v = create.if_contains(r.prop);
    if (!v || v->is_null()) continue;
    if (r.prop == "sender" && v->is_array() && v->as_array().size() > 1) { errors.add(r.prop); continue; }
    if (r.prop == "messageId" && v->is_array() && v->as_array().size() != 1) { errors.add(r.prop); continue; }
    auto value = header_from_form(r.form, *v);
    if (!value) { errors.add(r.prop); continue; }
    fields.push_back(Field{std::string(r.header), *value, false});
  }
  for (const auto& kv : create) {
    const std::string_view k = kv.key();
    static constexpr std::string_view kAllowed[] = {
        "sentAt", "from", "sender", "replyTo", "to", "cc", "bcc", "subject", "messageId", "inReplyTo", "references",
        "keywords", "mailboxIds", "receivedAt", "bodyStructure", "textBody", "htmlBody", "attachments", "bodyValues"};
    if (k.starts_with("header:")) continue;
    // id, blobId, threadId, size, hasAttachment, preview are server-set; headers must be
    // given one field at a time (RFC 8621 §4.6); anything else is unknown.
    if (std::find(std::begin(kAllowed), std::end(kAllowed), k) == std::end(kAllowed)) errors.add(k);
  }
  // header:X properties; one naming a field a convenience property already sets is an
  // error (RFC 8621 §4.6), found by collect_header_properties as `fields` holds both.
  collect_header_properties(create, true, fields, errors, "");
  std::optional<Node> root = b.body();
  if (!errors.empty() || !root) {
    if (errors.empty()) errors.add("bodyStructure");
    return errors.take();
  }
  auto has = [&](std::string_view name) {
    return std::any_of(fields.begin(), fields.end(), [&](const Field& f) { return iequals(f.name, name); });
  };
  std::string msg;
  if (!has("Date")) msg += fold_field("Date", format_rfc5322(now_unix_seconds, 0));
  for (const Field& f : fields) msg += render_field(f);
  if (!has("Message-ID")) msg += fold_field("Message-ID", "<" + std::string(unique) + "@" + std::string(message_id_domain) + ">");
  if (!has("MIME-Version")) msg += "MIME-Version: 1.0\r\n";
  std::string part_headers, body;
  b.render(*root, unique, part_headers, body);
  msg += part_headers;
  msg += "\r\n";
  msg += body;
  if (!msg.ends_with("\r\n")) msg += "\r\n";
  return BuiltEmail{std::move(msg)};
}

}  // namespace mail::jmap
