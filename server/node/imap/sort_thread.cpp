// RFC 5256 SORT and THREAD, RFC 5957 DISPLAYFROM/DISPLAYTO: base subject, sent date, sort
// keys, ORDEREDSUBJECT and REFERENCES. Header parsing, RFC 2047 and address lists come from
// proto/message and proto/imap (never re-implemented here). Every walk over a thread tree
// uses an explicit stack: reply chains can be as deep as the mailbox is large.
#include "node/imap/sort_thread.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <tuple>

#include "core/ascii.h"
#include "core/assert.h"
#include "proto/imap/envelope.h"
#include "proto/imap/response_writer.h"
#include "proto/message/encoded_word.h"
#include "proto/message/header.h"
#include "proto/message/search_text.h"

namespace mail::node::imapsrv {

namespace {

// ---- base subject (RFC 5256 §2.1, grammar §5) -------------------------------------------

bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }

// Step (1): encoded words decoded to UTF-8, tabs and line breaks made spaces, runs of
// spaces collapsed to one.
std::string normalize_subject(std::string_view raw) {
  const std::string decoded = message::decode_encoded_words(message::unfold(raw));
  std::string out;
  out.reserve(decoded.size());
  for (char c : decoded) {
    if (c == '\t' || c == '\r' || c == '\n') c = ' ';
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out.push_back(c);
  }
  return out;
}

// Length of a subj-blob ("[" *BLOBCHAR "]" *WSP) at the start of `s`, or 0.
std::size_t match_blob(std::string_view s) noexcept {
  if (s.empty() || s[0] != '[') return 0;
  std::size_t i = 1;
  while (i < s.size() && s[i] != '[' && s[i] != ']' && s[i] != '\0') ++i;
  if (i >= s.size() || s[i] != ']') return 0;
  ++i;
  while (i < s.size() && is_wsp(s[i])) ++i;
  return i;
}

// Length of a subj-refwd (("re" / "fw" ["d"]) *WSP [subj-blob] ":") at the start of `s`,
// or 0. ABNF literals are case-insensitive (RFC 5234 §2.3).
std::size_t match_refwd(std::string_view s) noexcept {
  std::size_t i = 0;
  if (istarts_with(s, "re")) {
    i = 2;
  } else if (istarts_with(s, "fwd")) {
    i = 3;
  } else if (istarts_with(s, "fw")) {
    i = 2;
  } else {
    return 0;
  }
  while (i < s.size() && is_wsp(s[i])) ++i;
  i += match_blob(s.substr(i));
  if (i < s.size() && s[i] == ':') return i + 1;
  return 0;
}

// Length of a subj-leader of the refwd kind (*subj-blob subj-refwd) at the start, or 0.
// Blobs never start with r/f, so taking them greedily loses no match.
std::size_t match_refwd_leader(std::string_view s) noexcept {
  std::size_t i = 0;
  for (std::size_t n = match_blob(s); n != 0; n = match_blob(s.substr(i))) i += n;
  const std::size_t r = match_refwd(s.substr(i));
  return r == 0 ? 0 : i + r;
}

}  // namespace

BaseSubject extract_base_subject(std::string_view subject_field_raw) {
  BaseSubject result;
  std::string s = normalize_subject(subject_field_raw);
  for (;;) {
    // (2) Remove subj-trailers ("(fwd)" / WSP) until none is left.
    for (;;) {
      if (!s.empty() && is_wsp(s.back())) {
        s.pop_back();
      } else if (s.size() >= 5 && iequals(std::string_view(s).substr(s.size() - 5), "(fwd)")) {
        s.resize(s.size() - 5);
        result.reply_or_forward = true;
      } else {
        break;
      }
    }
    // (3)-(5) Remove subj-leaders, then one subj-blob when a non-empty subj-base remains
    // after it, and repeat while either step removed something.
    for (bool changed = true; changed;) {
      changed = false;
      for (;;) {
        if (!s.empty() && is_wsp(s.front())) {
          s.erase(0, 1);
        } else if (const std::size_t n = match_refwd_leader(s); n != 0) {
          s.erase(0, n);
          result.reply_or_forward = true;
        } else {
          break;
        }
        changed = true;
      }
      // The remainder after a blob starts with NONWSP (the blob ate the WSP) and ends with
      // NONWSP (step 2), so "non-empty" is exactly "a non-empty subj-base".
      if (const std::size_t n = match_blob(s); n != 0 && n < s.size()) {
        s.erase(0, n);
        changed = true;
      }
    }
    // (6) "[fwd:" subject "]": unwrap and start again from (2).
    if (s.size() >= 6 && istarts_with(s, "[fwd:") && s.back() == ']') {
      s = s.substr(5, s.size() - 6);
      result.reply_or_forward = true;
      continue;
    }
    break;
  }
  result.text = std::move(s);
  return result;
}

std::string base_subject(std::string_view subject_field_raw) {
  return extract_base_subject(subject_field_raw).text;
}

// ---- sent date (RFC 5256 §2.2 over RFC 5322 §3.3 / §4.3) ----------------------------------

namespace {

class DateScanner {
 public:
  explicit DateScanner(std::string_view s) {
    // Comments (CFWS) may appear anywhere (RFC 5322 §3.2.2, §4.3); replace them by a space.
    int depth = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const char c = s[i];
      if (c == '\\' && depth > 0) { ++i; continue; }
      if (c == '(') { ++depth; continue; }
      if (c == ')' && depth > 0) { if (--depth == 0) text_.push_back(' '); continue; }
      if (depth == 0) text_.push_back(c == '\t' || c == '\r' || c == '\n' ? ' ' : c);
    }
  }

  void skip_space() noexcept {
    while (i_ < text_.size() && text_[i_] == ' ') ++i_;
  }
  bool eat(char c) noexcept {
    skip_space();
    if (i_ < text_.size() && text_[i_] == c) { ++i_; return true; }
    return false;
  }
  std::string_view alpha_word() noexcept {
    skip_space();
    const std::size_t b = i_;
    while (i_ < text_.size() && is_alpha(static_cast<unsigned char>(text_[i_]))) ++i_;
    return std::string_view(text_).substr(b, i_ - b);
  }
  // Digits as a number, with their count in `len`; nullopt when none or too many.
  std::optional<std::uint32_t> number(std::size_t& len) noexcept {
    skip_space();
    const std::size_t b = i_;
    std::uint32_t v = 0;
    while (i_ < text_.size() && is_digit(static_cast<unsigned char>(text_[i_]))) {
      if (i_ - b >= 8) return std::nullopt;
      v = v * 10 + static_cast<std::uint32_t>(text_[i_] - '0');
      ++i_;
    }
    len = i_ - b;
    if (len == 0) return std::nullopt;
    return v;
  }
  std::size_t pos() const noexcept { return i_; }
  void seek(std::size_t p) noexcept { i_ = p; }
  char peek() const noexcept { return i_ < text_.size() ? text_[i_] : '\0'; }

 private:
  std::string text_;
  std::size_t i_ = 0;
};

constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"};

int days_in_month(unsigned year, unsigned month) noexcept {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// obs-zone (RFC 5322 §4.3): the US names; military letters and anything else are -0000.
std::int16_t named_zone_minutes(std::string_view name) noexcept {
  struct Zone { std::string_view name; std::int16_t minutes; };
  static constexpr Zone kZones[] = {{"EST", -300}, {"EDT", -240}, {"CST", -360}, {"CDT", -300},
                                    {"MST", -420}, {"MDT", -360}, {"PST", -480}, {"PDT", -420}};
  for (const Zone& z : kZones)
    if (iequals(name, z.name)) return z.minutes;
  return 0;
}

}  // namespace

std::optional<std::int64_t> parse_sent_date(std::string_view date_field) {
  DateScanner sc(date_field);
  // [day-of-week ","]; a day name without the comma is tolerated.
  const std::size_t start = sc.pos();
  if (!sc.alpha_word().empty()) {
    if (!sc.eat(',')) { /* tolerated */ }
  } else {
    sc.seek(start);
  }
  std::size_t len = 0;
  const auto day = sc.number(len);
  if (!day || len > 2) return std::nullopt;
  sc.eat('-');  // "1-Jan-2000" is seen in the wild
  const std::string_view month_name = sc.alpha_word();
  if (month_name.size() < 3) return std::nullopt;
  unsigned month = 0;
  for (unsigned m = 0; m < 12; ++m)
    if (iequals(month_name.substr(0, 3), kMonths[m])) month = m + 1;
  if (month == 0) return std::nullopt;
  sc.eat('-');
  auto year = sc.number(len);
  if (!year || len < 2) return std::nullopt;
  if (len == 2) *year += *year < 50 ? 2000 : 1900;  // obs-year, RFC 5322 §4.3
  if (len == 3) *year += 1900;
  if (*year < 1900 || *year > 9999) return std::nullopt;
  if (*day < 1 || static_cast<int>(*day) > days_in_month(*year, month)) return std::nullopt;

  mail::imap::DateTime dt;
  dt.date.year = static_cast<std::uint16_t>(*year);
  dt.date.month = static_cast<std::uint8_t>(month);
  dt.date.day = static_cast<std::uint8_t>(*day);

  // time = hour ":" minute [":" second]; an invalid time counts as 00:00:00 (§2.2).
  const auto hour = sc.number(len);
  const bool hour_ok = hour && len <= 2 && *hour <= 23;
  std::optional<std::uint32_t> minute;
  if (hour_ok && sc.eat(':')) minute = sc.number(len);
  if (!hour_ok || !minute || len > 2 || *minute > 59) return mail::imap::to_unix(dt);
  std::uint32_t second = 0;
  if (sc.eat(':')) {
    const auto s = sc.number(len);
    if (!s || len > 2 || *s > 60) return mail::imap::to_unix(dt);
    second = std::min<std::uint32_t>(*s, 59);  // a leap second sorts as :59
  }
  dt.hour = static_cast<std::uint8_t>(*hour);
  dt.minute = static_cast<std::uint8_t>(*minute);
  dt.second = static_cast<std::uint8_t>(second);

  // zone = ("+" / "-") 4DIGIT / obs-zone; an invalid zone counts as UTC (§2.2).
  sc.skip_space();
  const char sign = sc.peek();
  if (sign == '+' || sign == '-') {
    sc.eat(sign);
    const std::size_t digits_at = sc.pos();
    const auto hhmm = sc.number(len);
    if (hhmm && len == 4 && sc.pos() == digits_at + 4 && *hhmm % 100 < 60) {
      const int minutes = static_cast<int>(*hhmm / 100 * 60 + *hhmm % 100);
      dt.zone_minutes = static_cast<std::int16_t>(sign == '-' ? -minutes : minutes);
    }
  } else {
    dt.zone_minutes = named_zone_minutes(sc.alpha_word());
  }
  return mail::imap::to_unix(dt);
}

// ---- per-message facts ------------------------------------------------------------------

namespace {

using mail::imap::SortKey;

struct Facts {
  message::HeaderFields fields;
  std::int64_t sent_date = 0;
};

Facts read_facts(const SortMessage& m) {
  Facts f;
  f.fields = message::parse_header_fields(m.headers.substr(0, message::body_offset(m.headers)));
  const auto date = message::field_value(f.fields.fields, "Date");
  const auto parsed = date ? parse_sent_date(*date) : std::nullopt;
  f.sent_date = parsed ? *parsed : m.internal_date;  // §2.2: INTERNALDATE when unparsable
  return f;
}

std::string field_or_empty(const Facts& f, std::string_view name) {
  auto v = message::field_value(f.fields.fields, name);
  return v ? std::move(*v) : std::string();
}

// RFC 5256 §3: the [IMAP] addr-mailbox of the first address ("" without one).
std::string first_mailbox(const Facts& f, std::string_view field) {
  const auto list = mail::imap::parse_address_list(field_or_empty(f, field));
  if (list.empty() || !list.front().mailbox) return {};
  return *list.front().mailbox;
}

// RFC 5957 §3: the decoded display name when non-empty, else mailbox@host, else mailbox.
std::string first_display(const Facts& f, std::string_view field) {
  const auto list = mail::imap::parse_address_list(field_or_empty(f, field));
  if (list.empty()) return {};
  const mail::imap::EnvelopeAddress& a = list.front();
  if (a.name) {
    std::string name = message::decode_encoded_words(*a.name);
    if (!name.empty()) return name;
  }
  if (a.mailbox && a.host) {
    std::string out = *a.mailbox;
    out.push_back('@');
    out += *a.host;
    return out;
  }
  return a.mailbox ? *a.mailbox : std::string();
}

// One message's value for one criterion: a number or a collation key.
struct KeyValue {
  std::int64_t number = 0;
  std::uint64_t size = 0;
  std::string text;  // fold_case'd
};

KeyValue key_value(const SortMessage& m, const Facts& f, SortKey key) {
  KeyValue v;
  switch (key) {
    case SortKey::arrival: v.number = m.internal_date; break;
    case SortKey::date: v.number = f.sent_date; break;
    case SortKey::size: v.size = m.size; break;
    case SortKey::cc: v.text = message::fold_case(first_mailbox(f, "Cc")); break;
    case SortKey::from: v.text = message::fold_case(first_mailbox(f, "From")); break;
    case SortKey::to: v.text = message::fold_case(first_mailbox(f, "To")); break;
    case SortKey::subject: v.text = message::fold_case(base_subject(field_or_empty(f, "Subject"))); break;
    case SortKey::display_from: v.text = message::fold_case(first_display(f, "From")); break;
    case SortKey::display_to: v.text = message::fold_case(first_display(f, "To")); break;
  }
  return v;
}

int compare(const KeyValue& a, const KeyValue& b) noexcept {
  if (a.number != b.number) return a.number < b.number ? -1 : 1;
  if (a.size != b.size) return a.size < b.size ? -1 : 1;
  const int c = a.text.compare(b.text);  // "" sorts first (§3: empty collates first)
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

std::vector<Facts> read_all_facts(std::span<const SortMessage> msgs) {
  std::vector<Facts> facts;
  facts.reserve(msgs.size());
  for (const SortMessage& m : msgs) facts.push_back(read_facts(m));
  return facts;
}

}  // namespace

std::vector<std::size_t> sort_messages(std::span<const SortMessage> msgs,
                                       std::span<const mail::imap::SortCriterion> criteria) {
  const std::vector<Facts> facts = read_all_facts(msgs);
  std::vector<std::vector<KeyValue>> keys(criteria.size());
  for (std::size_t c = 0; c < criteria.size(); ++c) {
    keys[c].reserve(msgs.size());
    for (std::size_t i = 0; i < msgs.size(); ++i) keys[c].push_back(key_value(msgs[i], facts[i], criteria[c].key));
  }
  std::vector<std::size_t> order(msgs.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    for (std::size_t c = 0; c < criteria.size(); ++c) {
      const int r = compare(keys[c][a], keys[c][b]);
      if (r != 0) return criteria[c].reverse ? r > 0 : r < 0;
    }
    // The implicit last criterion, never reversed (§3 REVERSE note); the index keeps the
    // order strict when the caller passes equal sequence numbers.
    return std::tie(msgs[a].seq, a) < std::tie(msgs[b].seq, b);
  });
  MAIL_ASSERT(order.size() == msgs.size());
  return order;
}

// ---- ThreadNode ---------------------------------------------------------------------------

ThreadNode::~ThreadNode() {
  // Move descendants onto a flat stack so each destroyed node has no children left.
  std::vector<ThreadNode> stack = std::move(children);
  while (!stack.empty()) {
    std::vector<ThreadNode> kids = std::move(stack.back().children);
    stack.pop_back();
    for (ThreadNode& k : kids) stack.push_back(std::move(k));
  }
}

// ---- ORDEREDSUBJECT -------------------------------------------------------------------------

namespace {

struct Dated {
  std::int64_t sent_date = 0;
  std::uint32_t seq = 0;
  std::size_t index = 0;
  friend bool operator<(const Dated& a, const Dated& b) noexcept {
    return std::tie(a.sent_date, a.seq, a.index) < std::tie(b.sent_date, b.seq, b.index);
  }
};

std::uint32_t id_of(const SortMessage& m, bool use_uid) noexcept { return use_uid ? m.uid : m.seq; }

}  // namespace

std::vector<ThreadNode> thread_orderedsubject(std::span<const SortMessage> msgs, bool use_uid) {
  const std::vector<Facts> facts = read_all_facts(msgs);
  std::map<std::string, std::vector<Dated>> by_subject;  // folded base subject -> messages
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    std::string subject = message::fold_case(base_subject(field_or_empty(facts[i], "Subject")));
    by_subject[std::move(subject)].push_back(Dated{facts[i].sent_date, msgs[i].seq, i});
  }
  std::vector<std::vector<Dated>> threads;
  threads.reserve(by_subject.size());
  for (auto& [subject, members] : by_subject) {
    std::sort(members.begin(), members.end());
    threads.push_back(std::move(members));
  }
  std::sort(threads.begin(), threads.end(),
            [](const auto& a, const auto& b) { return a.front() < b.front(); });
  std::vector<ThreadNode> roots;
  roots.reserve(threads.size());
  for (const auto& t : threads) {
    ThreadNode root(id_of(msgs[t.front().index], use_uid));
    // The second and later messages are all children of the first: no grandchildren.
    for (std::size_t k = 1; k < t.size(); ++k) root.children.emplace_back(id_of(msgs[t[k].index], use_uid));
    roots.push_back(std::move(root));
  }
  return roots;
}

// ---- REFERENCES ---------------------------------------------------------------------------

namespace {

// A normalized msg-id from `s` starting at the '<' at `pos`: quotes, quoted-pairs, comments
// and white space removed (RFC 5256 §3 "normalize any msg-id"). Valid when it is
// left "@" right with both sides non-empty. `pos` is left after the '>' (or at the next
// '<' when the id was cut short).
std::optional<std::string> read_msg_id(std::string_view s, std::size_t& pos) {
  MAIL_ASSERT(pos < s.size());
  MAIL_ASSERT(s[pos] == '<');
  std::string id;
  std::size_t i = pos + 1;
  bool quoted = false;
  int comment = 0;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\' && (quoted || comment > 0)) {
      if (i + 1 < s.size()) {
        ++i;
        if (quoted) id.push_back(s[i]);
      }
      continue;
    }
    if (comment > 0) {
      if (c == '(') ++comment;
      if (c == ')') --comment;
      continue;
    }
    if (quoted) {
      if (c == '"') quoted = false; else if (c != '\r' && c != '\n') id.push_back(c);
      continue;
    }
    if (c == '"') { quoted = true; continue; }
    if (c == '(') { comment = 1; continue; }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '<') { pos = i; return std::nullopt; }  // restart at this '<'
    if (c == '>') break;
    id.push_back(c);
  }
  if (i >= s.size()) { pos = s.size(); return std::nullopt; }
  pos = i + 1;
  const std::size_t at = id.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 == id.size()) return std::nullopt;
  return id;
}

// Every valid msg-id of a field body, in order (at most `max`).
std::vector<std::string> msg_ids(std::string_view s, std::size_t max) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (out.size() < max) {
    pos = s.find('<', pos);
    if (pos == std::string_view::npos) break;
    if (auto id = read_msg_id(s, pos)) out.push_back(std::move(*id));
  }
  return out;
}

constexpr std::size_t kReferencesMax = 1000;  // ids read from one References field
constexpr int kNone = -1;

struct Container {
  int message = kNone;  // index into msgs; kNone for a dummy
  int parent = kNone;
  std::vector<int> children;
};

class Threader {
 public:
  Threader(std::span<const SortMessage> msgs, bool use_uid)
      : msgs_(msgs), use_uid_(use_uid), facts_(read_all_facts(msgs)) {
    subjects_.reserve(msgs.size());
    for (const Facts& f : facts_) subjects_.push_back(extract_base_subject(field_or_empty(f, "Subject")));
  }

  std::vector<ThreadNode> run() {
    link_references();                       // step 1
    std::vector<int> roots = gather_roots();  // step 2
    roots = prune(roots);                     // step 3
    sort_root(roots);                         // step 4
    roots = merge_subjects(roots);            // step 5
    sort_all(roots);                          // step 6
    return build(roots);
  }

 private:
  int new_container(int message) {
    c_.push_back(Container{message, kNone, {}});
    return static_cast<int>(c_.size() - 1);
  }
  bool is_dummy(int c) const { return c_[c].message == kNone; }

  // True when `a` is `b` or a descendant of it.
  bool is_within(int a, int b) const {
    for (int x = a; x != kNone; x = c_[x].parent)
      if (x == b) return true;
    return false;
  }
  void unlink(int child) {
    const int p = c_[child].parent;
    MAIL_ASSERT(p != kNone);
    auto& kids = c_[p].children;
    kids.erase(std::find(kids.begin(), kids.end(), child));
    c_[child].parent = kNone;
  }
  // Makes `child` (which has no parent) a child of `parent` unless that makes a loop.
  void link(int parent, int child) {
    MAIL_ASSERT(c_[child].parent == kNone);
    if (is_within(parent, child)) return;
    c_[child].parent = parent;
    c_[parent].children.push_back(child);
  }
  int container_for_id(const std::string& id) {
    const auto it = by_id_.find(id);
    if (it != by_id_.end()) return it->second;
    const int c = new_container(kNone);  // a dummy until (unless) its message turns up
    by_id_.emplace(id, c);
    return c;
  }

  // Step 1: containers for messages (first by sequence number wins a Message-ID) and
  // parent/child links from References (else the first In-Reply-To id).
  void link_references() {
    std::vector<std::size_t> by_seq(msgs_.size());
    std::iota(by_seq.begin(), by_seq.end(), std::size_t{0});
    std::sort(by_seq.begin(), by_seq.end(), [&](std::size_t a, std::size_t b) {
      return std::tie(msgs_[a].seq, a) < std::tie(msgs_[b].seq, b);
    });
    for (const std::size_t i : by_seq) {
      const Facts& f = facts_[i];
      const auto own = msg_ids(field_or_empty(f, "Message-ID"), 1);
      int self = kNone;
      if (!own.empty()) {
        const auto it = by_id_.find(own.front());
        if (it == by_id_.end()) {
          self = new_container(static_cast<int>(i));
          by_id_.emplace(own.front(), self);
        } else if (is_dummy(it->second)) {
          self = it->second;
          c_[self].message = static_cast<int>(i);
        }
      }
      // No valid Message-ID, or a duplicate: a unique id nobody can reference.
      if (self == kNone) self = new_container(static_cast<int>(i));

      std::vector<std::string> refs = msg_ids(field_or_empty(f, "References"), kReferencesMax);
      if (refs.empty()) refs = msg_ids(field_or_empty(f, "In-Reply-To"), 1);
      std::vector<int> chain;
      chain.reserve(refs.size());
      for (const std::string& r : refs) chain.push_back(container_for_id(r));
      // (A) Each reference the parent of the next, keeping existing parents.
      for (std::size_t k = 0; k + 1 < chain.size(); ++k)
        if (c_[chain[k + 1]].parent == kNone) link(chain[k], chain[k + 1]);
      // (B) The last reference becomes the parent of this message, replacing any parent
      // (a truncated References seen earlier); no references leaves it without one.
      if (c_[self].parent != kNone) unlink(self);
      if (!chain.empty()) link(chain.back(), self);
    }
  }

  // Step 2.
  std::vector<int> gather_roots() const {
    std::vector<int> roots;
    for (std::size_t c = 0; c < c_.size(); ++c)
      if (c_[c].parent == kNone) roots.push_back(static_cast<int>(c));
    return roots;
  }

  // Step 3, bottom-up (post-order with an explicit stack): a dummy without children goes;
  // a dummy with children is replaced by them, except at the root level where it stays
  // when it has more than one. Pruning a subtree first gives the same result as the
  // RFC's top-down walk, since promoted children are pruned in either order.
  std::vector<int> prune(const std::vector<int>& roots) {
    struct Frame { int node; bool expanded; };
    std::vector<Frame> stack;
    for (auto it = roots.rbegin(); it != roots.rend(); ++it) stack.push_back({*it, false});
    while (!stack.empty()) {
      Frame& fr = stack.back();
      if (!fr.expanded) {
        fr.expanded = true;
        const int n = fr.node;  // `fr` may dangle after the pushes below
        for (const int k : c_[n].children) stack.push_back({k, false});
        continue;
      }
      const int n = fr.node;
      stack.pop_back();
      std::vector<int> kept;
      for (const int k : c_[n].children) {
        if (!is_dummy(k)) { kept.push_back(k); continue; }
        for (const int g : c_[k].children) { c_[g].parent = n; kept.push_back(g); }
        c_[k].children.clear();
        c_[k].parent = kNone;
      }
      c_[n].children = std::move(kept);
    }
    std::vector<int> out;
    for (const int r : roots) {
      if (!is_dummy(r)) { out.push_back(r); continue; }
      auto& kids = c_[r].children;
      if (kids.size() >= 2) { out.push_back(r); continue; }
      for (const int g : kids) { c_[g].parent = kNone; out.push_back(g); }
      kids.clear();
    }
    return out;
  }

  // The sent date of a container: its message's, or a dummy's first child's (§3 steps 4, 6).
  Dated date_key(int c) const {
    while (is_dummy(c)) {
      MAIL_ASSERT(!c_[c].children.empty());
      c = c_[c].children.front();
    }
    const auto i = static_cast<std::size_t>(c_[c].message);
    return Dated{facts_[i].sent_date, msgs_[i].seq, i};
  }
  void sort_siblings(std::vector<int>& list) const {
    std::stable_sort(list.begin(), list.end(), [&](int a, int b) { return date_key(a) < date_key(b); });
  }

  // Step 4: top-level siblings by sent date (a dummy's children sorted first).
  void sort_root(std::vector<int>& roots) {
    for (const int r : roots)
      if (is_dummy(r)) sort_siblings(c_[r].children);
    sort_siblings(roots);
  }

  // The thread subject (step 5.B.i): the base subject of the message or of a dummy's first
  // child, case-folded for comparison.
  std::string thread_subject(int c) const {
    if (is_dummy(c)) {
      MAIL_ASSERT(!c_[c].children.empty());
      c = c_[c].children.front();
    }
    if (is_dummy(c)) return {};
    return message::fold_case(subjects_[static_cast<std::size_t>(c_[c].message)].text);
  }
  bool is_reply(int c) const {
    return !is_dummy(c) && subjects_[static_cast<std::size_t>(c_[c].message)].reply_or_forward;
  }
  void adopt(int parent, int child) {
    c_[child].parent = parent;
    c_[parent].children.push_back(child);
  }

  // Step 5: merge root-level threads with the same base subject.
  std::vector<int> merge_subjects(std::vector<int> roots) {
    std::map<std::string, int> table;  // (A)
    for (const int r : roots) {        // (B)
      std::string subject = thread_subject(r);
      if (subject.empty()) continue;
      const auto it = table.find(subject);
      if (it == table.end()) {
        table.emplace(std::move(subject), r);
      } else if (!is_dummy(it->second) && (is_dummy(r) || (is_reply(it->second) && !is_reply(r)))) {
        it->second = r;
      }
    }
    std::vector<bool> gone(c_.size(), false);
    std::map<int, std::size_t> slot;  // root container -> its index in `roots`
    for (std::size_t k = 0; k < roots.size(); ++k) slot[roots[k]] = k;
    for (std::size_t k = 0; k < roots.size(); ++k) {  // (C)
      const int cur = roots[k];
      if (gone[static_cast<std::size_t>(cur)]) continue;
      const std::string subject = thread_subject(cur);
      if (subject.empty()) continue;
      const auto it = table.find(subject);
      MAIL_ASSERT(it != table.end());
      const int other = it->second;
      if (other == cur) continue;
      if (is_dummy(cur) && is_dummy(other)) {
        for (const int g : c_[cur].children) adopt(other, g);
        c_[cur].children.clear();
      } else if (is_dummy(other) || (is_reply(cur) && !is_reply(other))) {
        adopt(other, cur);
      } else {
        // A new dummy over both, taking the table message's place at the root level.
        const int dummy = new_container(kNone);
        gone.push_back(false);
        const std::size_t other_slot = slot.at(other);
        adopt(dummy, other);
        adopt(dummy, cur);
        roots[other_slot] = dummy;
        slot.erase(other);
        slot[dummy] = other_slot;
        it->second = dummy;
      }
      gone[static_cast<std::size_t>(cur)] = true;
      slot.erase(cur);
    }
    std::vector<int> out;
    for (const int r : roots)
      if (!gone[static_cast<std::size_t>(r)]) out.push_back(r);
    return out;
  }

  // Step 6: every sibling set by sent date, children before their parents (post-order), so
  // a dummy's first child is its earliest when the dummy itself is placed.
  void sort_all(std::vector<int>& roots) {
    std::vector<int> order;  // pre-order; reversed it visits children before parents
    std::vector<int> stack(roots.rbegin(), roots.rend());
    while (!stack.empty()) {
      const int n = stack.back();
      stack.pop_back();
      order.push_back(n);
      for (const int k : c_[n].children) stack.push_back(k);
    }
    for (auto it = order.rbegin(); it != order.rend(); ++it) sort_siblings(c_[*it].children);
    sort_siblings(roots);
  }

  std::vector<ThreadNode> build(const std::vector<int>& roots) const {
    std::vector<ThreadNode> out(roots.size());
    struct Frame { int container; ThreadNode* node; };
    std::vector<Frame> stack;
    for (std::size_t k = 0; k < roots.size(); ++k) stack.push_back({roots[k], &out[k]});
    std::size_t emitted = 0;
    while (!stack.empty()) {
      const Frame fr = stack.back();
      stack.pop_back();
      const Container& c = c_[fr.container];
      if (c.message != kNone) {
        fr.node->id = id_of(msgs_[static_cast<std::size_t>(c.message)], use_uid_);
        ++emitted;
      }
      // Sized once before any pointer into it is taken, so the pointers stay valid.
      fr.node->children.resize(c.children.size());
      for (std::size_t k = 0; k < c.children.size(); ++k) stack.push_back({c.children[k], &fr.node->children[k]});
    }
    MAIL_ASSERT(emitted == msgs_.size());
    return out;
  }

  std::span<const SortMessage> msgs_;
  bool use_uid_;
  std::vector<Facts> facts_;
  std::vector<BaseSubject> subjects_;
  std::vector<Container> c_;
  std::map<std::string, int> by_id_;
};

}  // namespace

std::vector<ThreadNode> thread_references(std::span<const SortMessage> msgs, bool use_uid) {
  return Threader(msgs, use_uid).run();
}

// ---- THREAD response (RFC 5256 §4, thread-list grammar §5) ---------------------------------

void append_thread_response(std::string& out, std::span<const ThreadNode> roots) {
  struct Frame { std::span<const ThreadNode> kids; std::size_t next; };
  std::vector<Frame> stack;
  for (const ThreadNode& root : roots) {
    if (root.id == 0 && root.children.empty()) continue;  // an empty dummy has no members
    out.push_back('(');
    const ThreadNode* cur = &root;
    bool first = true;  // nothing written yet in the current thread-list
    while (cur != nullptr) {
      // Follow a chain of single children flat: "3 6".
      for (;;) {
        if (cur->id != 0) {
          if (!first) out.push_back(' ');
          out += std::to_string(cur->id);
          first = false;
        }
        if (cur->children.size() == 1) { cur = &cur->children.front(); continue; }
        if (cur->children.size() >= 2) {
          if (!first) out.push_back(' ');
          stack.push_back(Frame{cur->children, 0});
        }
        break;
      }
      cur = nullptr;
      // Close the finished sub-thread and open the next sibling's, if any.
      while (!stack.empty()) {
        Frame& f = stack.back();
        if (f.next > 0) out.push_back(')');
        if (f.next == f.kids.size()) { stack.pop_back(); continue; }
        out.push_back('(');
        cur = &f.kids[f.next++];
        first = true;
        break;
      }
    }
    out.push_back(')');
  }
}

}  // namespace mail::node::imapsrv
