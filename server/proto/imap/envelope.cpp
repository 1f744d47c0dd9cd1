// RFC 9051 §7.5.2 ENVELOPE from raw header fields: unfolded values (not RFC 2047-decoded),
// address lists per RFC 5322 §3.4 (name-addr, addr-spec, groups) with obsolete routes and
// comments (§4.4), lenient about everything else. Pure; at most kAddressesMax addresses per
// list.
#include "proto/imap/envelope.h"

#include "core/ascii.h"
#include "core/assert.h"
#include "proto/imap/response_writer.h"

namespace mail::imap {

namespace {

constexpr std::size_t kAddressesMax = 1000;

// RFC 5322 §3.2.3 atext plus '.', and any 8-bit octet (RFC 6532 §3.2).
bool is_word_char(unsigned char c) noexcept {
  if (c >= 0x80) return true;
  if (is_alpha(c) || is_digit(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}':
    case '~': case '.':
      return true;
    default:
      return false;
  }
}

class AddressParser {
 public:
  explicit AddressParser(std::string_view s) : s_(s) {}

  std::vector<EnvelopeAddress> run() {
    std::vector<EnvelopeAddress> out;
    bool in_group = false;
    while (out.size() < kAddressesMax) {
      comment_.reset();
      skip_cfws();
      if (done()) break;
      const char c = s_[i_];
      if (c == ',') { ++i_; continue; }
      if (c == ';') {
        ++i_;
        if (in_group) { out.push_back(EnvelopeAddress{}); in_group = false; }
        continue;
      }
      const Words w = words();
      const char stop = done() ? '\0' : s_[i_];
      if (stop == ':' && !in_group) {
        ++i_;
        EnvelopeAddress start;
        start.mailbox = w.phrase;
        out.push_back(std::move(start));
        in_group = true;
        continue;
      }
      if (stop == '<') {
        ++i_;
        out.push_back(angle(w.phrase.empty() ? std::nullopt : std::optional<std::string>(w.phrase)));
        continue;
      }
      if (stop == '@') {
        ++i_;
        EnvelopeAddress a;
        a.mailbox = w.local.empty() ? std::string("MISSING_MAILBOX") : w.local;
        a.host = domain();
        skip_cfws();  // a trailing "(Name)" comment is the display name
        if (comment_ && !comment_->empty()) a.name = *comment_;
        out.push_back(std::move(a));
        continue;
      }
      if (!w.local.empty()) {
        EnvelopeAddress a;  // a bare local part: no domain
        a.mailbox = w.local;
        a.host = std::string("MISSING_DOMAIN");
        out.push_back(std::move(a));
      }
      if (!done() && w.local.empty() && w.phrase.empty()) ++i_;  // junk octet: make progress
    }
    if (in_group && out.size() < kAddressesMax + 1) out.push_back(EnvelopeAddress{});
    return out;
  }

 private:
  struct Words {
    std::string phrase;  // words joined by one space, quoted strings unquoted
    std::string local;   // words joined without space (a local part)
  };

  bool done() const noexcept { return i_ >= s_.size(); }

  // White space and comments; the text of the last comment is kept (its display-name use).
  void skip_cfws() {
    while (!done()) {
      const char c = s_[i_];
      if (is_blank(static_cast<unsigned char>(c)) || c == '\r' || c == '\n') { ++i_; continue; }
      if (c != '(') return;
      std::size_t depth = 0;
      std::string text;
      while (!done()) {
        const char d = s_[i_++];
        if (d == '\\' && !done()) { if (depth == 1) text.push_back(s_[i_]); ++i_; continue; }
        if (d == '(') { if (depth++ == 0) continue; }
        if (d == ')' && --depth == 0) break;
        if (depth >= 1) text.push_back(d);
      }
      comment_ = std::move(text);
    }
  }

  std::string quoted() {
    MAIL_ASSERT(s_[i_] == '"');
    ++i_;
    std::string out;
    while (!done()) {
      const char c = s_[i_++];
      if (c == '"') break;
      if (c == '\\' && !done()) { out.push_back(s_[i_++]); continue; }
      out.push_back(c);
    }
    return out;
  }

  Words words() {
    Words w;
    while (true) {
      skip_cfws();
      if (done()) break;
      const char c = s_[i_];
      std::string word;
      if (c == '"') {
        word = quoted();
      } else if (is_word_char(static_cast<unsigned char>(c))) {
        while (!done() && is_word_char(static_cast<unsigned char>(s_[i_]))) word.push_back(s_[i_++]);
      } else {
        break;  // a special: < > @ , ; : [ ] or junk
      }
      if (!w.phrase.empty()) w.phrase.push_back(' ');
      w.phrase += word;
      w.local += word;
    }
    return w;
  }

  // RFC 5322 §3.4.1 domain: dot-atom or domain-literal; MISSING_DOMAIN when empty.
  std::string domain() {
    skip_cfws();
    std::string d;
    if (!done() && s_[i_] == '[') {
      while (!done() && s_[i_] != ']') d.push_back(s_[i_++]);
      if (!done()) d.push_back(s_[i_++]);
      return d;
    }
    while (true) {
      while (!done() && is_word_char(static_cast<unsigned char>(s_[i_]))) d.push_back(s_[i_++]);
      const std::size_t save = i_;
      skip_cfws();  // obs-domain allows CFWS around the dots (§4.4)
      if (!done() && s_[i_] == '.') { d.push_back(s_[i_++]); skip_cfws(); continue; }
      if (done() || s_[i_] == '>' || s_[i_] == ',' || s_[i_] == ';') break;
      i_ = save;
      break;
    }
    if (d.empty()) return "MISSING_DOMAIN";
    return d;
  }

  // After '<': [obs-route] addr-spec '>' (§3.4, §4.4).
  EnvelopeAddress angle(std::optional<std::string> name) {
    EnvelopeAddress a;
    a.name = std::move(name);
    skip_cfws();
    if (!done() && s_[i_] == '@') {
      std::string route;
      while (!done() && s_[i_] != ':' && s_[i_] != '>') {
        const char c = s_[i_++];
        if (!is_blank(static_cast<unsigned char>(c)) && c != '\r' && c != '\n') route.push_back(c);
      }
      if (!done() && s_[i_] == ':') ++i_;
      if (!route.empty()) a.adl = std::move(route);
    }
    const Words w = words();
    a.mailbox = w.local.empty() ? std::string("MISSING_MAILBOX") : w.local;
    if (!done() && s_[i_] == '@') {
      ++i_;
      a.host = domain();
    } else {
      a.host = std::string("MISSING_DOMAIN");
    }
    while (!done() && s_[i_] != '>') ++i_;  // junk before '>' is ignored
    if (!done()) ++i_;
    return a;
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::optional<std::string> comment_;
};

void append_address_list(std::string& out, const std::vector<EnvelopeAddress>& list) {
  if (list.empty()) {
    out.append("NIL");
    return;
  }
  out.push_back('(');
  for (const EnvelopeAddress& a : list) {
    out.push_back('(');
    append_nstring(out, a.name);
    out.push_back(' ');
    append_nstring(out, a.adl);
    out.push_back(' ');
    append_nstring(out, a.mailbox);
    out.push_back(' ');
    append_nstring(out, a.host);
    out.push_back(')');
  }
  out.push_back(')');
}

std::vector<EnvelopeAddress> addresses(std::span<const message::HeaderField> fields, std::string_view name) {
  const auto v = message::field_value(fields, name);
  if (!v) return {};
  return parse_address_list(*v);
}

}  // namespace

std::vector<EnvelopeAddress> parse_address_list(std::string_view unfolded) {
  return AddressParser(unfolded).run();
}

void append_envelope(std::string& out, std::span<const message::HeaderField> fields) {
  out.push_back('(');
  append_nstring(out, message::field_value(fields, "Date"));
  out.push_back(' ');
  append_nstring(out, message::field_value(fields, "Subject"));
  auto from = addresses(fields, "From");
  auto sender = addresses(fields, "Sender");
  auto reply_to = addresses(fields, "Reply-To");
  // RFC 9051 §7.5.2: absent or empty Sender / Reply-To are set to the From member.
  if (sender.empty()) sender = from;
  if (reply_to.empty()) reply_to = from;
  for (const auto* list : {&from, &sender, &reply_to}) {
    out.push_back(' ');
    append_address_list(out, *list);
  }
  for (const char* name : {"To", "Cc", "Bcc"}) {
    out.push_back(' ');
    append_address_list(out, addresses(fields, name));
  }
  out.push_back(' ');
  append_nstring(out, message::field_value(fields, "In-Reply-To"));
  out.push_back(' ');
  append_nstring(out, message::field_value(fields, "Message-ID"));
  out.push_back(')');
}

std::string envelope(std::string_view header_block) {
  std::string out;
  append_envelope(out, message::parse_header_fields(header_block).fields);
  MAIL_ASSERT(out.size() >= 2);
  return out;
}

}  // namespace mail::imap
