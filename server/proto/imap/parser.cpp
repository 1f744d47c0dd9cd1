// IMAP command parser (see parser.h): recursive descent over the command text, with
// literals taken from RawCommand::literals at their recorded offsets. Grammar references
// are RFC 9051 §9 unless stated. Nesting (search keys) is bounded by kDepthMax so hostile
// input cannot exhaust the stack.
#include "proto/imap/parser.h"

#include <algorithm>
#include <array>
#include <limits>

#include "core/ascii.h"
#include "core/assert.h"

namespace mail::imap {
namespace {

constexpr int kDepthMax = 64;  // search-key nesting (NOT / OR / parentheses)
constexpr std::uint64_t kNumber64Max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

constexpr bool is_ctl(unsigned char c) noexcept { return c < 0x20 || c == 0x7f; }
// ATOM-CHAR: any CHAR except atom-specials. Octets >= 0x80 are accepted (UTF-8 mailbox
// names and keywords sent by rev2 / UTF8=ACCEPT clients, as Dovecot does).
constexpr bool is_atom_char(unsigned char c) noexcept {
  return c != 0 && !is_ctl(c) && c != ' ' && c != '(' && c != ')' && c != '{' && c != '%' && c != '*' &&
         c != '"' && c != '\\' && c != ']';
}
constexpr bool is_astring_char(unsigned char c) noexcept { return is_atom_char(c) || c == ']'; }
constexpr bool is_list_char(unsigned char c) noexcept { return is_astring_char(c) || c == '%' || c == '*'; }

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool leap(unsigned y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
unsigned days_in(unsigned y, unsigned m) noexcept {
  constexpr std::array<unsigned, 12> d = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : d[m - 1];
}

class Parser {
 public:
  Parser(std::string_view text, const std::vector<Literal>* literals) : s_(text), lits_(literals) {}

  // Prefix mode (check_command_prefix): the last literal is announced but unread; parsing
  // stops there and reached_pending() says the command was valid so far.
  void set_prefix_mode() noexcept { prefix_mode_ = true; }
  bool reached_pending() const noexcept { return reached_pending_; }

  const std::string& error() const { return err_; }
  bool at_end() const noexcept { return i_ == s_.size(); }
  std::size_t pos() const noexcept { return i_; }
  void skip(std::size_t n) noexcept {
    MAIL_ASSERT(n <= s_.size() - i_);
    i_ += n;
  }

  bool fail(std::string_view msg) {
    if (err_.empty()) err_ = std::string(msg);
    return false;
  }
  bool end() { return at_end() || fail("Unexpected data at end of command"); }

  char peek() const noexcept { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool expect(char c, std::string_view msg) { return eat(c) || fail(msg); }
  bool sp() { return eat(' ') || fail("Expected a space"); }

  // A run of ATOM-CHARs (may be empty).
  std::string_view atom_run() {
    const std::size_t b = i_;
    while (i_ < s_.size() && is_atom_char(static_cast<unsigned char>(s_[i_]))) ++i_;
    return s_.substr(b, i_ - b);
  }
  bool atom(std::string_view& out) {
    out = atom_run();
    return !out.empty() || fail("Expected an atom");
  }
  // A case-insensitive keyword, ending at a non-atom char.
  bool keyword(std::string_view kw) {
    if (s_.size() - i_ < kw.size() || !iequals(s_.substr(i_, kw.size()), kw)) return false;
    const std::size_t after = i_ + kw.size();
    if (after < s_.size() && is_atom_char(static_cast<unsigned char>(s_[after]))) return false;
    i_ = after;
    return true;
  }

  bool number64(std::uint64_t& out, std::uint64_t max = kNumber64Max) {
    const std::size_t b = i_;
    std::uint64_t v = 0;
    while (i_ < s_.size() && is_digit(static_cast<unsigned char>(s_[i_]))) {
      const auto d = static_cast<std::uint64_t>(s_[i_] - '0');
      if (v > (max - d) / 10) return fail("Number too big");
      v = v * 10 + d;
      ++i_;
    }
    if (i_ == b) return fail("Expected a number");
    out = v;
    return true;
  }
  bool number(std::uint32_t& out) {
    std::uint64_t v = 0;
    if (!number64(v, std::numeric_limits<std::uint32_t>::max())) return false;
    out = static_cast<std::uint32_t>(v);
    return true;
  }
  bool nz_number(std::uint32_t& out) {
    if (!number(out)) return false;
    return out != 0 || fail("Expected a non-zero number");
  }
  bool modseq_value(std::uint64_t& out, bool zero_ok) {  // RFC 7162 §7 mod-sequence-value(zer)
    if (!number64(out)) return false;
    return zero_ok || out != 0 || fail("Expected a non-zero mod-sequence");
  }

  // quoted = DQUOTE *QUOTED-CHAR DQUOTE
  bool quoted(std::string& out) {
    if (!expect('"', "Expected a quoted string")) return false;
    out.clear();
    while (i_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[i_++]);
      if (c == '"') return true;
      if (c == '\\') {
        if (i_ == s_.size()) break;
        const char e = s_[i_++];
        if (e != '"' && e != '\\') return fail("Bad escape in quoted string");
        out.push_back(e);
        continue;
      }
      if (c == '\r' || c == '\n' || c == 0) return fail("Bad character in quoted string");
      out.push_back(static_cast<char>(c));
    }
    return fail("Unterminated quoted string");
  }
  // literal / literal8 at the current position: the marker, then the bytes recorded by the
  // reader for exactly this offset.
  bool literal(std::string& out, bool binary_ok, bool* was_binary = nullptr) {
    const bool binary = eat('~');
    if (binary && !binary_ok) return fail("literal8 not allowed here");
    if (!expect('{', "Expected a literal")) return false;
    std::uint64_t n = 0;
    if (!number64(n)) return false;
    eat('+');
    if (!expect('}', "Bad literal")) return false;
    if (prefix_mode_ && lits_ && next_lit_ + 1 == lits_->size() && (*lits_)[next_lit_].at == i_) {
      reached_pending_ = true;  // everything before the unread literal parsed
      return false;
    }
    if (!lits_ || next_lit_ >= lits_->size() || (*lits_)[next_lit_].at != i_)
      return fail("Literal must end the line");
    const Literal& lit = (*lits_)[next_lit_++];
    MAIL_ASSERT(lit.bytes.size() == n);
    MAIL_ASSERT(lit.binary == binary);
    if (!binary && lit.bytes.find('\0') != std::string::npos) return fail("NUL in literal (use literal8)");
    out = lit.bytes;
    if (was_binary) *was_binary = binary;
    return true;
  }
  bool string(std::string& out) {
    if (peek() == '"') return quoted(out);
    if (peek() == '{') return literal(out, false);
    return fail("Expected a string");
  }
  bool astring(std::string& out) {
    if (peek() == '"' || peek() == '{') return string(out);
    const std::size_t b = i_;
    while (i_ < s_.size() && is_astring_char(static_cast<unsigned char>(s_[i_]))) ++i_;
    if (i_ == b) return fail("Expected an astring");
    out.assign(s_.substr(b, i_ - b));
    return true;
  }
  bool nstring(std::optional<std::string>& out) {
    if (keyword("NIL")) {
      out.reset();
      return true;
    }
    out.emplace();
    return string(*out);
  }
  bool mailbox(std::string& out) { return astring(out); }
  bool list_mailbox(std::string& out) {
    if (peek() == '"' || peek() == '{') return string(out);
    const std::size_t b = i_;
    while (i_ < s_.size() && is_list_char(static_cast<unsigned char>(s_[i_]))) ++i_;
    if (i_ == b) return fail("Expected a mailbox pattern");
    out.assign(s_.substr(b, i_ - b));
    return true;
  }
  // charset = atom / quoted
  bool charset(std::string& out) {
    if (peek() == '"') return quoted(out);
    std::string_view a;
    if (!atom(a)) return false;
    out.assign(a);
    return true;
  }

  // flag = "\" atom / atom (flag-keyword); "\*" only where allowed (never in commands).
  bool flag(std::string& out) {
    const std::size_t b = i_;
    eat('\\');
    if (atom_run().empty()) return fail("Expected a flag");
    out.assign(s_.substr(b, i_ - b));
    return true;
  }
  bool flag_list(std::vector<std::string>& out) {
    if (!expect('(', "Expected a flag list")) return false;
    out.clear();
    if (eat(')')) return true;
    do {
      out.emplace_back();
      if (!flag(out.back())) return false;
    } while (eat(' '));
    return expect(')', "Expected ) after flags");
  }

  // sequence-set (RFC 9051 §9) / "$" (RFC 5182 §2.1).
  bool seq_number(std::uint32_t& out) {
    if (eat('*')) {
      out = kStar;
      return true;
    }
    return nz_number(out);
  }
  bool sequence_set(SequenceSet& out) {
    out = SequenceSet{};
    if (eat('$')) {
      out.saved = true;
      return true;
    }
    do {
      SeqRange r;
      if (!seq_number(r.lo)) return fail("Invalid sequence set");
      r.hi = r.lo;
      if (eat(':') && !seq_number(r.hi)) return fail("Invalid sequence set");
      out.ranges.push_back(r);
    } while (eat(','));
    return true;
  }

  // date = date-text / DQUOTE date-text DQUOTE; date-text = date-day "-" date-month "-" date-year
  bool date(Date& out) {
    const bool q = eat('"');
    std::uint32_t day = 0;
    const std::size_t b = i_;
    if (!number(day) || i_ - b > 2 || day == 0) return fail("Invalid date");
    if (!date_rest(day, out)) return false;
    return !q || expect('"', "Invalid date");
  }
  bool date_rest(std::uint32_t day, Date& out) {
    if (!eat('-') || s_.size() - i_ < 4) return fail("Invalid date");
    const std::string_view mon = s_.substr(i_, 3);
    unsigned m = 0;
    for (unsigned k = 0; k < 12; ++k)
      if (iequals(mon, kMonths[k])) m = k + 1;
    if (m == 0) return fail("Invalid date");
    i_ += 3;
    if (!eat('-')) return fail("Invalid date");
    const std::size_t yb = i_;
    std::uint32_t y = 0;
    if (!number(y) || i_ - yb != 4) return fail("Invalid date");
    if (day > days_in(y, m)) return fail("Invalid date");
    out = Date{static_cast<std::uint16_t>(y), static_cast<std::uint8_t>(m), static_cast<std::uint8_t>(day)};
    return true;
  }
  bool two_digits(std::uint8_t& out, unsigned max) {
    if (s_.size() - i_ < 2 || !is_digit(static_cast<unsigned char>(s_[i_])) ||
        !is_digit(static_cast<unsigned char>(s_[i_ + 1])))
      return fail("Invalid date-time");
    const unsigned v = static_cast<unsigned>((s_[i_] - '0') * 10 + (s_[i_ + 1] - '0'));
    i_ += 2;
    if (v > max) return fail("Invalid date-time");
    out = static_cast<std::uint8_t>(v);
    return true;
  }
  // date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
  // date-day-fixed = (SP DIGIT) / 2DIGIT (one digit alone is tolerated, as by Dovecot).
  bool date_time(DateTime& out) {
    if (!expect('"', "Invalid date-time")) return false;
    eat(' ');
    std::uint32_t day = 0;
    const std::size_t b = i_;
    if (!number(day) || i_ - b > 2 || day == 0) return fail("Invalid date-time");
    if (!date_rest(day, out.date)) return false;
    if (!eat(' ') || !two_digits(out.hour, 23) || !eat(':') || !two_digits(out.minute, 59) || !eat(':') ||
        !two_digits(out.second, 60) || !eat(' '))
      return fail("Invalid date-time");
    const char sign = peek();
    if (sign != '+' && sign != '-') return fail("Invalid date-time zone");
    ++i_;
    std::uint8_t zh = 0, zm = 0;
    if (!two_digits(zh, 99) || !two_digits(zm, 59)) return fail("Invalid date-time zone");
    const int z = zh * 60 + zm;
    out.zone_minutes = static_cast<std::int16_t>(sign == '-' ? -z : z);
    return expect('"', "Invalid date-time");
  }

  // ---- SEARCH -------------------------------------------------------------------------
  bool search_key(SearchKey& k, int depth) {
    if (depth > kDepthMax) return fail("Search keys nested too deeply");
    using K = SearchKeyKind;
    if (eat('(')) {
      k.kind = K::and_;
      do {
        k.children.emplace_back();
        if (!search_key(k.children.back(), depth + 1)) return false;
      } while (eat(' '));
      return expect(')', "Expected ) in search keys");
    }
    const char c = peek();
    if (is_digit(static_cast<unsigned char>(c)) || c == '*' || c == '$') {
      k.kind = K::sequence_set;
      return sequence_set(k.set);
    }
    struct Simple { std::string_view kw; K kind; };
    static constexpr std::array<Simple, 14> kFlags = {{
        {"ALL", K::all}, {"ANSWERED", K::answered}, {"DELETED", K::deleted}, {"DRAFT", K::draft},
        {"FLAGGED", K::flagged}, {"SEEN", K::seen}, {"RECENT", K::recent}, {"NEW", K::new_}, {"OLD", K::old},
        {"UNANSWERED", K::unanswered}, {"UNDELETED", K::undeleted}, {"UNDRAFT", K::undraft},
        {"UNFLAGGED", K::unflagged}, {"UNSEEN", K::unseen},
    }};
    static constexpr std::array<Simple, 7> kStrings = {{
        {"BCC", K::bcc}, {"BODY", K::body}, {"CC", K::cc}, {"FROM", K::from}, {"SUBJECT", K::subject},
        {"TEXT", K::text}, {"TO", K::to},
    }};
    static constexpr std::array<Simple, 6> kDates = {{
        {"BEFORE", K::before}, {"ON", K::on}, {"SINCE", K::since}, {"SENTBEFORE", K::sentbefore},
        {"SENTON", K::senton}, {"SENTSINCE", K::sentsince},
    }};
    for (const auto& f : kFlags)
      if (keyword(f.kw)) {
        k.kind = f.kind;
        return true;
      }
    for (const auto& f : kStrings)
      if (keyword(f.kw)) {
        k.kind = f.kind;
        return sp() && astring(k.str);
      }
    for (const auto& f : kDates)
      if (keyword(f.kw)) {
        k.kind = f.kind;
        return sp() && date(k.date);
      }
    if (const bool kw = keyword("KEYWORD"); kw || keyword("UNKEYWORD")) {
      k.kind = kw ? K::keyword : K::unkeyword;
      std::string_view a;
      if (!sp() || !atom(a)) return false;
      k.str.assign(a);
      return true;
    }
    if (keyword("HEADER")) {
      k.kind = K::header;
      return sp() && astring(k.str) && sp() && astring(k.str2);
    }
    if (keyword("LARGER")) {
      k.kind = K::larger;
      return sp() && number64(k.number);
    }
    if (keyword("SMALLER")) {
      k.kind = K::smaller;
      return sp() && number64(k.number);
    }
    if (keyword("UID")) {
      k.kind = K::uid;
      return sp() && sequence_set(k.set);
    }
    if (keyword("NOT")) {
      k.kind = K::not_;
      k.children.emplace_back();
      return sp() && search_key(k.children.back(), depth + 1);
    }
    if (keyword("OR")) {
      k.kind = K::or_;
      k.children.resize(2);
      return sp() && search_key(k.children[0], depth + 1) && sp() && search_key(k.children[1], depth + 1);
    }
    if (keyword("MODSEQ")) {  // RFC 7162 §3.1.5
      k.kind = K::modseq;
      if (!sp()) return false;
      if (peek() == '"') {
        std::string entry;
        if (!quoted(entry) || !sp()) return false;
        if (!istarts_with(entry, "/flags/")) return fail("Bad MODSEQ entry name");
        ModseqEntryType t{};
        if (keyword("priv")) t = ModseqEntryType::priv;
        else if (keyword("shared")) t = ModseqEntryType::shared;
        else if (keyword("all")) t = ModseqEntryType::all;
        else return fail("Bad MODSEQ entry type");
        k.modseq_entry.emplace(std::move(entry), t);
        if (!sp()) return false;
      }
      return modseq_value(k.number, true);
    }
    return fail("Unknown search key");
  }
  // search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)
  bool search_keys(SearchKey& top) {
    top = SearchKey{};
    top.kind = SearchKeyKind::and_;
    do {
      top.children.emplace_back();
      if (!search_key(top.children.back(), 1)) return false;
    } while (eat(' '));
    return true;
  }

  // ---- FETCH --------------------------------------------------------------------------
  bool section_part(std::vector<std::uint32_t>& part) {
    do {
      std::uint32_t n = 0;
      if (!nz_number(n)) return false;
      part.push_back(n);
      // A '.' followed by a digit continues the part; otherwise it starts section-text.
    } while (i_ + 1 < s_.size() && s_[i_] == '.' && is_digit(static_cast<unsigned char>(s_[i_ + 1])) && eat('.'));
    return true;
  }
  bool header_list(std::vector<std::string>& fields) {
    if (!expect('(', "Expected a header list")) return false;
    do {
      fields.emplace_back();
      if (!astring(fields.back())) return false;
    } while (eat(' '));
    return expect(')', "Expected ) after header list");
  }
  bool section_msgtext(Section& sec, bool mime_ok) {
    if (keyword("HEADER.FIELDS.NOT")) {
      sec.text = SectionText::header_fields_not;
      return sp() && header_list(sec.fields);
    }
    if (keyword("HEADER.FIELDS")) {
      sec.text = SectionText::header_fields;
      return sp() && header_list(sec.fields);
    }
    if (keyword("HEADER")) {
      sec.text = SectionText::header;
      return true;
    }
    if (keyword("TEXT")) {
      sec.text = SectionText::text;
      return true;
    }
    if (mime_ok && keyword("MIME")) {
      sec.text = SectionText::mime;
      return true;
    }
    return fail("Bad section");
  }
  // section = "[" [section-spec] "]"
  bool section(Section& sec) {
    if (!expect('[', "Expected [")) return false;
    if (eat(']')) return true;
    if (is_digit(static_cast<unsigned char>(peek()))) {
      if (!section_part(sec.part)) return false;
      if (eat('.') && !section_msgtext(sec, true)) return false;
    } else if (!section_msgtext(sec, false)) {
      return false;
    }
    return expect(']', "Expected ] after section");
  }
  bool section_binary(Section& sec) {
    if (!expect('[', "Expected [")) return false;
    if (eat(']')) return true;
    return section_part(sec.part) && expect(']', "Expected ] after section");
  }
  bool partial(std::optional<Partial>& out) {
    if (!eat('<')) return true;
    Partial p;
    if (!number(p.offset) || !expect('.', "Bad partial") || !nz_number(p.length) || !expect('>', "Bad partial"))
      return fail("Bad partial");
    out = p;
    return true;
  }
  bool fetch_att(std::vector<FetchAtt>& items) {
    const std::size_t b = i_;
    while (i_ < s_.size() && (is_alpha(static_cast<unsigned char>(s_[i_])) || is_digit(static_cast<unsigned char>(s_[i_])) ||
                              s_[i_] == '.'))
      ++i_;
    const std::string_view name = s_.substr(b, i_ - b);
    FetchAtt a;
    const auto simple = [&](FetchKind k) {
      a.kind = k;
      items.push_back(a);
      return true;
    };
    if (peek() != '[') {
      if (iequals(name, "ENVELOPE")) return simple(FetchKind::envelope);
      if (iequals(name, "FLAGS")) return simple(FetchKind::flags);
      if (iequals(name, "INTERNALDATE")) return simple(FetchKind::internaldate);
      if (iequals(name, "RFC822")) return simple(FetchKind::rfc822);
      if (iequals(name, "RFC822.HEADER")) return simple(FetchKind::rfc822_header);
      if (iequals(name, "RFC822.SIZE")) return simple(FetchKind::rfc822_size);
      if (iequals(name, "RFC822.TEXT")) return simple(FetchKind::rfc822_text);
      if (iequals(name, "BODY")) return simple(FetchKind::body);
      if (iequals(name, "BODYSTRUCTURE")) return simple(FetchKind::bodystructure);
      if (iequals(name, "UID")) return simple(FetchKind::uid);
      if (iequals(name, "MODSEQ")) return simple(FetchKind::modseq);
      return fail("Unknown FETCH attribute");
    }
    if (iequals(name, "BODY") || iequals(name, "BODY.PEEK")) {
      a.kind = FetchKind::body_section;
      a.peek = name.size() > 4;
      if (!section(a.section) || !partial(a.partial)) return false;
    } else if (iequals(name, "BINARY") || iequals(name, "BINARY.PEEK")) {
      a.kind = FetchKind::binary;
      a.peek = name.size() > 6;
      if (!section_binary(a.section) || !partial(a.partial)) return false;
    } else if (iequals(name, "BINARY.SIZE")) {
      a.kind = FetchKind::binary_size;
      if (!section_binary(a.section)) return false;
    } else {
      return fail("Unknown FETCH attribute");
    }
    items.push_back(std::move(a));
    return true;
  }
  // "ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")"
  bool fetch_items(std::vector<FetchAtt>& items) {
    const auto macro = [&](std::initializer_list<FetchKind> ks) {
      for (const FetchKind k : ks) items.push_back(FetchAtt{k, false, {}, std::nullopt});
      return true;
    };
    // RFC 9051 §6.4.5 macros.
    if (keyword("ALL")) return macro({FetchKind::flags, FetchKind::internaldate, FetchKind::rfc822_size, FetchKind::envelope});
    if (keyword("FAST")) return macro({FetchKind::flags, FetchKind::internaldate, FetchKind::rfc822_size});
    if (keyword("FULL"))
      return macro({FetchKind::flags, FetchKind::internaldate, FetchKind::rfc822_size, FetchKind::envelope, FetchKind::body});
    if (eat('(')) {
      do {
        if (!fetch_att(items)) return false;
      } while (eat(' '));
      return expect(')', "Expected ) after FETCH attributes");
    }
    return fetch_att(items);
  }

  bool status_att(std::vector<StatusItem>& items) {
    struct S { std::string_view kw; StatusItem item; };
    static constexpr std::array<S, 9> kItems = {{
        {"MESSAGES", StatusItem::messages}, {"RECENT", StatusItem::recent}, {"UIDNEXT", StatusItem::uidnext},
        {"UIDVALIDITY", StatusItem::uidvalidity}, {"UNSEEN", StatusItem::unseen}, {"DELETED", StatusItem::deleted},
        {"SIZE", StatusItem::size}, {"APPENDLIMIT", StatusItem::appendlimit},
        {"HIGHESTMODSEQ", StatusItem::highestmodseq},
    }};
    for (const auto& it : kItems)
      if (keyword(it.kw)) {
        items.push_back(it.item);
        return true;
      }
    return fail("Unknown STATUS attribute");
  }
  bool status_list(std::vector<StatusItem>& items) {
    if (!expect('(', "Expected ( before STATUS attributes")) return false;
    do {
      if (!status_att(items)) return false;
    } while (eat(' '));
    return expect(')', "Expected ) after STATUS attributes");
  }

  // ---- commands -------------------------------------------------------------------------
  bool parse(Command& cmd);

 private:
  bool uid_command(Command& cmd);
  bool append(Append& a);
  bool list(List& l);
  bool select(Select& s);
  bool search(Search& s, bool uid);
  bool fetch(Fetch& f, bool uid);
  bool store(Store& st, bool uid);
  bool sort(Sort& so, bool uid);
  bool thread(Thread& t, bool uid);

  std::string_view s_;
  std::size_t i_ = 0;
  const std::vector<Literal>* lits_;
  std::size_t next_lit_ = 0;
  std::string err_;
  bool prefix_mode_ = false;
  bool reached_pending_ = false;
};

bool Parser::append(Append& a) {
  if (!sp() || !mailbox(a.mailbox) || !sp()) return false;
  if (peek() == '(') {
    if (!flag_list(a.flags) || !sp()) return false;
  }
  if (peek() == '"') {
    DateTime dt;
    if (!date_time(dt) || !sp()) return false;
    a.date = dt;
  }
  if (keyword("UTF8")) {  // RFC 6855 §4: UTF8 SP "(" literal8 ")"
    a.utf8 = true;
    if (!sp() || !expect('(', "Expected ( after UTF8")) return false;
    if (peek() != '~') return fail("UTF8 APPEND data must be a literal8");
    if (!literal(a.message, true, &a.binary)) return false;
    return expect(')', "Expected ) after UTF8 data");
  }
  if (peek() != '{' && peek() != '~') return fail("APPEND data must be a literal");
  return literal(a.message, true, &a.binary);
}

bool Parser::list(List& l) {
  if (!sp()) return false;
  if (eat('(')) {  // list-select-opts (RFC 5258 §3.1, RFC 6154 §5.1)
    l.extended = true;
    if (!eat(')')) {
      do {
        if (keyword("SUBSCRIBED")) l.select_subscribed = true;
        else if (keyword("REMOTE")) l.select_remote = true;
        else if (keyword("RECURSIVEMATCH")) l.select_recursivematch = true;
        else if (keyword("SPECIAL-USE")) l.select_special_use = true;
        else return fail("Unknown LIST selection option");
      } while (eat(' '));
      if (!expect(')', "Expected ) after LIST selection options")) return false;
    }
    // RFC 5258 §3.1: RECURSIVEMATCH alone (without a base option) is BAD.
    if (l.select_recursivematch && !l.select_subscribed && !l.select_special_use)
      return fail("RECURSIVEMATCH needs a selection option it modifies");
    if (!sp()) return false;
  }
  if (!mailbox(l.reference) || !sp()) return false;
  if (eat('(')) {  // patterns (RFC 5258 §3)
    l.extended = true;
    do {
      l.patterns.emplace_back();
      if (!list_mailbox(l.patterns.back())) return false;
    } while (eat(' '));
    if (!expect(')', "Expected ) after LIST patterns")) return false;
  } else {
    l.patterns.emplace_back();
    if (!list_mailbox(l.patterns.back())) return false;
  }
  if (eat(' ')) {
    if (!keyword("RETURN") || !sp() || !expect('(', "Expected RETURN (")) return fail("Expected RETURN");
    l.extended = true;
    if (!eat(')')) {
      do {
        if (keyword("SUBSCRIBED")) l.return_subscribed = true;
        else if (keyword("CHILDREN")) l.return_children = true;
        else if (keyword("SPECIAL-USE")) l.return_special_use = true;
        else if (keyword("STATUS")) {  // RFC 5819 §2
          l.return_status.emplace();
          if (!sp() || !status_list(*l.return_status)) return false;
        } else return fail("Unknown LIST return option");
      } while (eat(' '));
      if (!expect(')', "Expected ) after LIST return options")) return false;
    }
  }
  return true;
}

bool Parser::select(Select& s) {
  if (!sp() || !mailbox(s.mailbox)) return false;
  if (!eat(' ')) return true;
  if (!expect('(', "Expected ( before SELECT parameters")) return false;
  do {
    if (keyword("CONDSTORE")) {
      s.condstore = true;
    } else if (keyword("QRESYNC")) {  // RFC 7162 §3.2.5
      QresyncParams q;
      if (!sp() || !expect('(', "Expected ( after QRESYNC") || !nz_number(q.uidvalidity) || !sp() ||
          !modseq_value(q.modseq, false))
        return false;
      if (eat(' ')) {
        if (peek() != '(') {
          q.known_uids.emplace();
          if (!sequence_set(*q.known_uids)) return false;
          if (q.known_uids->saved) return fail("$ not allowed in QRESYNC");
          if (!eat(' ')) goto close;
        }
        SequenceSet seqs, uids;
        if (!expect('(', "Expected ( before seq-match-data") || !sequence_set(seqs) || !sp() || !sequence_set(uids) ||
            !expect(')', "Expected ) after seq-match-data"))
          return false;
        if (seqs.saved || uids.saved) return fail("$ not allowed in QRESYNC");
        q.seq_match.emplace(std::move(seqs), std::move(uids));
      }
    close:
      if (!expect(')', "Expected ) after QRESYNC parameters")) return false;
      s.qresync = std::move(q);
    } else {
      return fail("Unknown SELECT parameter");
    }
  } while (eat(' '));
  return expect(')', "Expected ) after SELECT parameters");
}

bool Parser::search(Search& s, bool uid) {
  s.uid = uid;
  if (!sp()) return false;
  if (keyword("RETURN")) {  // RFC 4731 §3.1, RFC 9051 §6.4.4
    if (!sp() || !expect('(', "Expected ( after RETURN")) return false;
    SearchReturn r;
    if (!eat(')')) {
      do {
        if (keyword("MIN")) r.min = true;
        else if (keyword("MAX")) r.max = true;
        else if (keyword("ALL")) r.all = true;
        else if (keyword("COUNT")) r.count = true;
        else if (keyword("SAVE")) r.save = true;
        else return fail("Unknown SEARCH return option");
      } while (eat(' '));
      if (!expect(')', "Expected ) after RETURN options")) return false;
    }
    s.ret = r;
    if (!sp()) return false;
  }
  if (keyword("CHARSET")) {
    s.charset.emplace();
    if (!sp() || !charset(*s.charset) || !sp()) return false;
  }
  return search_keys(s.key);
}

bool Parser::fetch(Fetch& f, bool uid) {
  f.uid = uid;
  if (!sp() || !sequence_set(f.set) || !sp() || !fetch_items(f.items)) return false;
  if (!eat(' ')) return true;
  if (!expect('(', "Expected ( before FETCH modifiers")) return false;
  do {
    if (keyword("CHANGEDSINCE")) {  // RFC 7162 §3.1.4.1
      std::uint64_t m = 0;
      if (!sp() || !modseq_value(m, false)) return false;
      f.changedsince = m;
    } else if (keyword("VANISHED")) {  // RFC 7162 §3.2.6
      if (!uid) return fail("VANISHED needs UID FETCH");
      f.vanished = true;
    } else {
      return fail("Unknown FETCH modifier");
    }
  } while (eat(' '));
  if (!expect(')', "Expected ) after FETCH modifiers")) return false;
  // RFC 7162 §3.2.6: VANISHED without CHANGEDSINCE is BAD.
  if (f.vanished && !f.changedsince) return fail("VANISHED needs CHANGEDSINCE");
  return true;
}

bool Parser::store(Store& st, bool uid) {
  st.uid = uid;
  if (!sp() || !sequence_set(st.set) || !sp()) return false;
  if (eat('(')) {  // RFC 7162 §3.1.3 store-modifiers
    do {
      if (!keyword("UNCHANGEDSINCE")) return fail("Unknown STORE modifier");
      std::uint64_t m = 0;
      if (!sp() || !modseq_value(m, true)) return false;
      st.unchangedsince = m;
    } while (eat(' '));
    if (!expect(')', "Expected ) after STORE modifiers") || !sp()) return false;
  }
  if (eat('+')) st.mode = StoreMode::add;
  else if (eat('-')) st.mode = StoreMode::remove;
  if (keyword("FLAGS.SILENT")) st.silent = true;
  else if (!keyword("FLAGS")) return fail("Expected FLAGS");
  if (!sp()) return false;
  if (peek() == '(') return flag_list(st.flags);
  do {
    st.flags.emplace_back();
    if (!flag(st.flags.back())) return false;
  } while (eat(' '));
  return true;
}

bool Parser::sort(Sort& so, bool uid) {  // RFC 5256 §3
  so.uid = uid;
  if (!sp() || !expect('(', "Expected ( before sort criteria")) return false;
  do {
    SortCriterion c;
    if (keyword("REVERSE")) {
      c.reverse = true;
      if (!sp()) return false;
    }
    if (keyword("ARRIVAL")) c.key = SortKey::arrival;
    else if (keyword("CC")) c.key = SortKey::cc;
    else if (keyword("DATE")) c.key = SortKey::date;
    else if (keyword("FROM")) c.key = SortKey::from;
    else if (keyword("SIZE")) c.key = SortKey::size;
    else if (keyword("SUBJECT")) c.key = SortKey::subject;
    else if (keyword("TO")) c.key = SortKey::to;
    else if (keyword("DISPLAYFROM")) c.key = SortKey::display_from;  // RFC 5957
    else if (keyword("DISPLAYTO")) c.key = SortKey::display_to;
    else return fail("Unknown sort key");
    so.criteria.push_back(c);
  } while (eat(' '));
  return expect(')', "Expected ) after sort criteria") && sp() && charset(so.charset) && sp() && search_keys(so.key);
}

bool Parser::thread(Thread& t, bool uid) {  // RFC 5256 §3
  t.uid = uid;
  if (!sp()) return false;
  if (keyword("ORDEREDSUBJECT")) t.algorithm = ThreadAlgorithm::orderedsubject;
  else if (keyword("REFERENCES")) t.algorithm = ThreadAlgorithm::references;
  else return fail("Unknown THREAD algorithm");
  return sp() && charset(t.charset) && sp() && search_keys(t.key);
}

bool Parser::uid_command(Command& cmd) {
  if (!sp()) return false;
  if (const bool copy = keyword("COPY"); copy || keyword("MOVE")) {
    const bool move = !copy;
    SequenceSet set;
    std::string mbox;
    if (!sp() || !sequence_set(set) || !sp() || !mailbox(mbox)) return false;
    if (move) cmd.body = Move{true, std::move(set), std::move(mbox)};
    else cmd.body = Copy{true, std::move(set), std::move(mbox)};
    return true;
  }
  if (keyword("FETCH")) return fetch(cmd.body.emplace<Fetch>(), true);
  if (keyword("SEARCH")) return search(cmd.body.emplace<Search>(), true);
  if (keyword("STORE")) return store(cmd.body.emplace<Store>(), true);
  if (keyword("SORT")) return sort(cmd.body.emplace<Sort>(), true);
  if (keyword("THREAD")) return thread(cmd.body.emplace<Thread>(), true);
  if (keyword("EXPUNGE")) {  // RFC 4315 §2.1
    auto& e = cmd.body.emplace<Expunge>();
    e.uids.emplace();
    return sp() && sequence_set(*e.uids);
  }
  return fail("Unknown UID command");
}

bool Parser::parse(Command& cmd) {
  std::string_view verb;
  if (!atom(verb)) return fail("Expected a command name");
  const auto is = [&](std::string_view v) { return iequals(verb, v); };
  const auto one_mailbox = [&](std::string& out) { return sp() && mailbox(out); };

  if (is("CAPABILITY")) cmd.body = Capability{};
  else if (is("NOOP")) cmd.body = Noop{};
  else if (is("LOGOUT")) cmd.body = Logout{};
  else if (is("STARTTLS")) cmd.body = StartTls{};
  else if (is("AUTHENTICATE")) {  // RFC 9051 §6.2.2, RFC 4959 §3
    auto& a = cmd.body.emplace<Authenticate>();
    std::string_view mech;
    if (!sp() || !atom(mech)) return false;
    a.mechanism = ascii_upper(mech);
    if (eat(' ')) {
      const std::size_t b = i_;
      while (i_ < s_.size() && (is_alpha(static_cast<unsigned char>(s_[i_])) || is_digit(static_cast<unsigned char>(s_[i_])) ||
                                s_[i_] == '+' || s_[i_] == '/' || s_[i_] == '='))
        ++i_;
      if (i_ == b) return fail("Bad initial response");
      a.initial_response.emplace(s_.substr(b, i_ - b));
    }
  } else if (is("LOGIN")) {
    auto& l = cmd.body.emplace<Login>();
    if (!sp() || !astring(l.user) || !sp() || !astring(l.password)) return false;
  } else if (is("ENABLE")) {  // RFC 5161 §3.1, RFC 9051 §6.3.1
    auto& e = cmd.body.emplace<Enable>();
    do {
      std::string_view cap;
      if (!sp() || !atom(cap)) return false;
      e.capabilities.emplace_back(cap);
    } while (peek() == ' ');
  } else if (is("SELECT") || is("EXAMINE")) {
    auto& s = cmd.body.emplace<Select>();
    s.examine = is("EXAMINE");
    if (!select(s)) return false;
  } else if (is("CREATE")) {
    auto& c = cmd.body.emplace<Create>();
    if (!one_mailbox(c.mailbox)) return false;
    if (eat(' ')) {  // RFC 4466 create-params; USE of RFC 6154 §3
      if (!expect('(', "Expected ( before CREATE parameters") || !keyword("USE")) return fail("Unknown CREATE parameter");
      if (!sp() || !expect('(', "Expected ( after USE")) return false;
      if (!eat(')')) {
        do {
          c.use.emplace_back();
          if (!flag(c.use.back())) return false;
          if (c.use.back().front() != '\\') return fail("Bad special-use attribute");
        } while (eat(' '));
        if (!expect(')', "Expected ) after USE")) return false;
      }
      if (!expect(')', "Expected ) after CREATE parameters")) return false;
    }
  } else if (is("DELETE")) {
    if (!one_mailbox(cmd.body.emplace<Delete>().mailbox)) return false;
  } else if (is("RENAME")) {
    auto& r = cmd.body.emplace<Rename>();
    if (!one_mailbox(r.from) || !one_mailbox(r.to)) return false;
  } else if (is("SUBSCRIBE")) {
    if (!one_mailbox(cmd.body.emplace<Subscribe>().mailbox)) return false;
  } else if (is("UNSUBSCRIBE")) {
    if (!one_mailbox(cmd.body.emplace<Unsubscribe>().mailbox)) return false;
  } else if (is("LIST")) {
    if (!list(cmd.body.emplace<List>())) return false;
  } else if (is("LSUB")) {
    auto& l = cmd.body.emplace<Lsub>();
    if (!one_mailbox(l.reference) || !sp() || !list_mailbox(l.pattern)) return false;
  } else if (is("NAMESPACE")) cmd.body = Namespace{};
  else if (is("STATUS")) {
    auto& st = cmd.body.emplace<Status>();
    if (!one_mailbox(st.mailbox) || !sp() || !status_list(st.items)) return false;
  } else if (is("APPEND")) {
    if (!append(cmd.body.emplace<Append>())) return false;
  } else if (is("IDLE")) cmd.body = Idle{};
  else if (is("ID")) {  // RFC 2971 §3.1
    auto& id = cmd.body.emplace<Id>();
    if (!sp()) return false;
    if (!keyword("NIL")) {
      if (!expect('(', "Expected ( or NIL")) return false;
      id.params.emplace();
      if (!eat(')')) {
        do {
          std::string field;
          std::optional<std::string> value;
          if (!string(field) || !sp() || !nstring(value)) return false;
          id.params->emplace_back(std::move(field), std::move(value));
          if (id.params->size() > 30) return fail("Too many ID fields");  // RFC 2971 §3.3
        } while (eat(' '));
        if (!expect(')', "Expected ) after ID parameters")) return false;
      }
    }
  } else if (is("GETQUOTA")) {
    if (!sp() || !astring(cmd.body.emplace<GetQuota>().root)) return false;
  } else if (is("GETQUOTAROOT")) {
    if (!one_mailbox(cmd.body.emplace<GetQuotaRoot>().mailbox)) return false;
  } else if (is("SETQUOTA")) {  // RFC 9208 §4.4
    auto& q = cmd.body.emplace<SetQuota>();
    if (!sp() || !astring(q.root) || !sp() || !expect('(', "Expected ( before quota limits")) return false;
    if (!eat(')')) {
      do {
        std::string_view res;
        std::uint64_t limit = 0;
        if (!atom(res) || !sp() || !number64(limit)) return false;
        q.limits.emplace_back(ascii_upper(res), limit);
      } while (eat(' '));
      if (!expect(')', "Expected ) after quota limits")) return false;
    }
  } else if (is("COMPRESS")) {  // RFC 4978 §3
    std::string_view mech;
    if (!sp() || !atom(mech)) return false;
    cmd.body = Compress{ascii_upper(mech)};
  } else if (is("CHECK")) cmd.body = Check{};
  else if (is("CLOSE")) cmd.body = Close{};
  else if (is("UNSELECT")) cmd.body = Unselect{};
  else if (is("EXPUNGE")) cmd.body = Expunge{};
  else if (is("SEARCH")) {
    if (!search(cmd.body.emplace<Search>(), false)) return false;
  } else if (is("FETCH")) {
    if (!fetch(cmd.body.emplace<Fetch>(), false)) return false;
  } else if (is("STORE")) {
    if (!store(cmd.body.emplace<Store>(), false)) return false;
  } else if (is("COPY") || is("MOVE")) {
    SequenceSet set;
    std::string mbox;
    if (!sp() || !sequence_set(set) || !sp() || !mailbox(mbox)) return false;
    if (is("MOVE")) cmd.body = Move{false, std::move(set), std::move(mbox)};
    else cmd.body = Copy{false, std::move(set), std::move(mbox)};
  } else if (is("UID")) {
    if (!uid_command(cmd)) return false;
  } else if (is("SORT")) {
    if (!sort(cmd.body.emplace<Sort>(), false)) return false;
  } else if (is("THREAD")) {
    if (!thread(cmd.body.emplace<Thread>(), false)) return false;
  } else {
    return fail("Unknown command");
  }
  if (!end()) return false;
  if (lits_ && next_lit_ != lits_->size()) return fail("Unexpected literal");
  return true;
}

template <class T, class F>
std::optional<T> parse_piece(std::string_view in, F&& f) {
  Parser p(in, nullptr);
  T out{};
  if (!f(p, out) || !p.at_end()) return std::nullopt;
  return out;
}

}  // namespace

namespace {

// tag = 1*<any ASTRING-CHAR except "+">, then SP: the length of the tag, or 0.
std::size_t tag_length(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size() && is_astring_char(static_cast<unsigned char>(text[i])) && text[i] != '+') ++i;
  return i == text.size() || text[i] != ' ' ? 0 : i;
}

}  // namespace

ParseResult parse_command(const RawCommand& raw) {
  ParseResult r;
  const std::string_view text = raw.text;
  const std::size_t i = tag_length(text);
  if (i == 0) {
    r.error = "Missing or invalid tag";
    return r;
  }
  r.tag.assign(text.substr(0, i));
  // The parser runs over the whole text so literal offsets match; it starts after "tag SP".
  Parser p(text, &raw.literals);
  p.skip(i + 1);
  Command cmd;
  cmd.tag = r.tag;
  if (!p.parse(cmd)) {
    r.error = p.error().empty() ? "Syntax error" : p.error();
    return r;
  }
  r.command = std::move(cmd);
  return r;
}

std::optional<std::string> check_command_prefix(const RawCommand& partial) {
  MAIL_ASSERT(!partial.literals.empty());
  const std::size_t i = tag_length(partial.text);
  if (i == 0) return std::string("Missing or invalid tag");
  Parser p(partial.text, &partial.literals);
  p.set_prefix_mode();
  p.skip(i + 1);
  Command cmd;
  if (p.parse(cmd) || p.reached_pending()) return std::nullopt;
  return p.error().empty() ? std::string("Syntax error") : p.error();
}

std::optional<SequenceSet> parse_sequence_set(std::string_view in) {
  return parse_piece<SequenceSet>(in, [](Parser& p, SequenceSet& s) { return p.sequence_set(s); });
}
std::optional<SearchKey> parse_search_keys(std::string_view in) {
  return parse_piece<SearchKey>(in, [](Parser& p, SearchKey& k) { return p.search_keys(k); });
}
std::optional<std::vector<FetchAtt>> parse_fetch_items(std::string_view in) {
  return parse_piece<std::vector<FetchAtt>>(in, [](Parser& p, std::vector<FetchAtt>& v) { return p.fetch_items(v); });
}
std::optional<Date> parse_date(std::string_view in) {
  return parse_piece<Date>(in, [](Parser& p, Date& d) { return p.date(d); });
}
std::optional<DateTime> parse_date_time(std::string_view in) {
  return parse_piece<DateTime>(in, [](Parser& p, DateTime& d) { return p.date_time(d); });
}

std::vector<UidRange> normalize(const SequenceSet& set, std::uint32_t star) {
  MAIL_ASSERT(!set.saved);
  std::vector<UidRange> out;
  out.reserve(set.ranges.size());
  for (const SeqRange& r : set.ranges) {
    std::uint32_t a = r.lo == kStar ? star : r.lo;
    std::uint32_t b = r.hi == kStar ? star : r.hi;
    if (a > b) std::swap(a, b);
    if (b == 0) continue;  // "*" in an empty mailbox
    if (a == 0) a = 1;
    out.push_back(UidRange{a, b});
  }
  std::sort(out.begin(), out.end(), [](const UidRange& x, const UidRange& y) { return x.lo < y.lo; });
  std::size_t w = 0;
  for (std::size_t k = 0; k < out.size(); ++k) {
    if (w > 0 && static_cast<std::uint64_t>(out[k].lo) <= static_cast<std::uint64_t>(out[w - 1].hi) + 1) {
      out[w - 1].hi = std::max(out[w - 1].hi, out[k].hi);
    } else {
      out[w++] = out[k];
    }
  }
  out.resize(w);
  return out;
}

std::vector<UidRange> clip(std::vector<UidRange> ranges, std::uint32_t max) {
  std::size_t w = 0;
  for (const UidRange& r : ranges) {
    MAIL_ASSERT(r.lo <= r.hi);
    if (r.lo > max) break;
    ranges[w++] = UidRange{r.lo, std::min(r.hi, max)};
  }
  ranges.resize(w);
  return ranges;
}

bool within(const std::vector<UidRange>& ranges, std::uint32_t max) noexcept {
  return ranges.empty() || ranges.back().hi <= max;
}

std::uint64_t count(const std::vector<UidRange>& ranges) noexcept {
  std::uint64_t n = 0;
  for (const UidRange& r : ranges) n += static_cast<std::uint64_t>(r.hi) - r.lo + 1;
  return n;
}

}  // namespace mail::imap
