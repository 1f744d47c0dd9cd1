// SEARCH evaluation (see header). Must not: do I/O or keep state beyond one message.
#include "node/imap/search_eval.h"

#include <algorithm>
#include <cctype>

#include "core/assert.h"
#include "proto/imap/parser.h"
#include "proto/message/encoded_word.h"
#include "proto/message/header.h"
#include "proto/message/mime.h"
#include "proto/message/search_text.h"

namespace mail::node::imapsrv {

namespace im = mail::imap;
using K = im::SearchKeyKind;

namespace {

bool is_text_key(K k) noexcept { return k == K::body || k == K::text; }

bool is_header_key(K k) noexcept {
  switch (k) {
    case K::bcc: case K::cc: case K::from: case K::subject: case K::to: case K::header:
    case K::sentbefore: case K::senton: case K::sentsince: return true;
    default: return false;
  }
}

std::int64_t day_of(const im::Date& d) noexcept { return days_from_civil(d.year, d.month, d.day); }

bool has_flag(const store::MessageInfo& info, std::uint8_t bit) noexcept { return (info.flags.system & bit) != 0; }

bool has_keyword(const store::MessageInfo& info, std::string_view kw) {
  return std::any_of(info.flags.keywords.begin(), info.flags.keywords.end(), [&](const std::string& k) {
    return k.size() == kw.size() &&
           std::equal(k.begin(), k.end(), kw.begin(), [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)); });
  });
}

}  // namespace

std::int64_t days_from_civil(int y, unsigned m, unsigned d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<std::int64_t> rfc5322_day(std::string_view v) {
  // Tokens: [day-name ","] day month year time zone. Find "<1-2 digits> <Mon> <2-4 digits>".
  static constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                 "jul", "aug", "sep", "oct", "nov", "dec"};
  std::vector<std::string_view> tokens;
  std::size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t' || v[i] == ',' || v[i] == '\r' || v[i] == '\n' || v[i] == '-')) ++i;
    std::size_t j = i;
    while (j < v.size() && !(v[j] == ' ' || v[j] == '\t' || v[j] == ',' || v[j] == '\r' || v[j] == '\n' || v[j] == '-')) ++j;
    if (j > i) tokens.push_back(v.substr(i, j - i));
    i = j;
  }
  auto number = [](std::string_view t) -> std::optional<int> {
    if (t.empty() || t.size() > 4) return std::nullopt;
    int n = 0;
    for (char c : t) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + (c - '0');
    }
    return n;
  };
  for (std::size_t t = 0; t + 2 < tokens.size(); ++t) {
    auto day = number(tokens[t]);
    if (!day || *day < 1 || *day > 31 || tokens[t + 1].size() < 3) continue;
    int month = 0;
    for (int mo = 0; mo < 12; ++mo) {
      std::string_view name = tokens[t + 1].substr(0, 3);
      if (std::equal(name.begin(), name.end(), kMonths[mo].begin(),
                     [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; }))
        month = mo + 1;
    }
    auto year = number(tokens[t + 2]);
    if (month == 0 || !year) continue;
    int y = *year;
    if (tokens[t + 2].size() <= 2) y += y < 50 ? 2000 : 1900;  // RFC 5322 §4.3
    else if (tokens[t + 2].size() == 3) y += 1900;
    return days_from_civil(y, static_cast<unsigned>(month), static_cast<unsigned>(*day));
  }
  return std::nullopt;
}

SearchNeed search_need(const im::SearchKey& key) noexcept {
  if (is_text_key(key.kind)) return SearchNeed::content;
  SearchNeed need = is_header_key(key.kind) ? SearchNeed::headers : SearchNeed::metadata;
  for (const auto& c : key.children) {
    auto n = search_need(c);
    if (static_cast<int>(n) > static_cast<int>(need)) need = n;
  }
  return need;
}

std::vector<std::string> required_text_terms(const im::SearchKey& key) {
  std::vector<std::string> terms;
  const bool string_header_key = key.kind == K::bcc || key.kind == K::cc || key.kind == K::from ||
                                 key.kind == K::subject || key.kind == K::to || key.kind == K::header;
  if (key.kind == K::header) {
    terms.push_back(key.str2);  // the value (str is the field name)
  } else if (is_text_key(key.kind) || string_header_key) {
    terms.push_back(key.str);
  } else if (key.kind == K::and_) {
    for (const auto& c : key.children) {
      auto sub = required_text_terms(c);
      terms.insert(terms.end(), sub.begin(), sub.end());
    }
  }
  return terms;
}

bool has_text_keys(const im::SearchKey& key) noexcept {
  if (is_text_key(key.kind)) return true;
  return std::any_of(key.children.begin(), key.children.end(), [](const auto& c) { return has_text_keys(c); });
}

const std::string& SearchEvaluator::header_text() {
  if (!header_text_) {
    MAIL_ASSERT(m_.headers || m_.content);
    std::string_view block = m_.headers ? *m_.headers : m_.content->substr(0, message::body_offset(*m_.content));
    auto fields = message::parse_header_fields(block);
    std::string text;
    for (const auto& f : fields.fields) {
      text += f.name;
      text += ": ";
      text += message::decode_encoded_words(message::unfold(f.value));
      text += '\n';
    }
    header_text_ = std::move(text);
  }
  return *header_text_;
}

const std::string& SearchEvaluator::body_text() {
  if (!body_text_) {
    MAIL_ASSERT(m_.content.has_value());
    auto tree = message::parse_mime(*m_.content);
    body_text_ = message::searchable_text(*m_.content, tree).body;
  }
  return *body_text_;
}

std::optional<std::string> SearchEvaluator::field(std::string_view name) {
  MAIL_ASSERT(m_.headers || m_.content);
  std::string_view block = m_.headers ? *m_.headers : m_.content->substr(0, message::body_offset(*m_.content));
  auto fields = message::parse_header_fields(block);
  // Every field of that name counts (RFC 9051 §6.4.4 HEADER: "has a header field with
  // the specified field-name"): join them.
  std::optional<std::string> out;
  for (const auto& f : fields.fields) {
    if (f.name.size() != name.size() ||
        !std::equal(f.name.begin(), f.name.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        }))
      continue;
    if (!out) out.emplace();
    else *out += '\n';
    *out += message::decode_encoded_words(message::unfold(f.value));
  }
  return out;
}

std::optional<std::int64_t> SearchEvaluator::sent_day() {
  if (!sent_day_done_) {
    sent_day_done_ = true;
    if (auto v = field("Date")) sent_day_ = rfc5322_day(*v);
  }
  return sent_day_;
}

bool SearchEvaluator::in_set(const im::SequenceSet& set, bool uid) const {
  const std::uint32_t value = uid ? m_.info->uid : m_.seq;
  if (set.saved) {
    if (m_.saved == nullptr) return false;
    return std::binary_search(m_.saved->begin(), m_.saved->end(), m_.info->uid) ;
  }
  const auto ranges = im::normalize(set, uid ? m_.max_uid : m_.max_seq);
  return std::any_of(ranges.begin(), ranges.end(), [&](const im::UidRange& r) { return value >= r.lo && value <= r.hi; });
}

bool SearchEvaluator::matches(const im::SearchKey& key) {
  const store::MessageInfo& info = *m_.info;
  const std::int64_t internal_day = info.internal_date >= 0 ? info.internal_date / 86400
                                                            : (info.internal_date - 86399) / 86400;
  switch (key.kind) {
    case K::all: return true;
    case K::answered: return has_flag(info, store::flag_answered);
    case K::deleted: return has_flag(info, store::flag_deleted);
    case K::draft: return has_flag(info, store::flag_draft);
    case K::flagged: return has_flag(info, store::flag_flagged);
    case K::seen: return has_flag(info, store::flag_seen);
    case K::recent: return m_.recent;
    case K::new_: return m_.recent && !has_flag(info, store::flag_seen);
    case K::old: return !m_.recent;
    case K::unanswered: return !has_flag(info, store::flag_answered);
    case K::undeleted: return !has_flag(info, store::flag_deleted);
    case K::undraft: return !has_flag(info, store::flag_draft);
    case K::unflagged: return !has_flag(info, store::flag_flagged);
    case K::unseen: return !has_flag(info, store::flag_seen);
    case K::keyword: return has_keyword(info, key.str);
    case K::unkeyword: return !has_keyword(info, key.str);
    case K::bcc: case K::cc: case K::from: case K::subject: case K::to: {
      std::string_view name = key.kind == K::bcc ? "Bcc" : key.kind == K::cc ? "Cc" : key.kind == K::from ? "From"
                              : key.kind == K::subject ? "Subject" : "To";
      auto v = field(name);
      return v && message::search_contains(*v, key.str);
    }
    case K::header: {
      auto v = field(key.str);
      return v && message::search_contains(*v, key.str2);
    }
    case K::body: return message::search_contains(body_text(), key.str);
    case K::text: return message::search_contains(header_text(), key.str) || message::search_contains(body_text(), key.str);
    case K::before: return internal_day < day_of(key.date);
    case K::on: return internal_day == day_of(key.date);
    case K::since: return internal_day >= day_of(key.date);
    case K::sentbefore: { auto d = sent_day(); return d && *d < day_of(key.date); }
    case K::senton: { auto d = sent_day(); return d && *d == day_of(key.date); }
    case K::sentsince: { auto d = sent_day(); return d && *d >= day_of(key.date); }
    case K::larger: return info.size > key.number;
    case K::smaller: return info.size < key.number;
    case K::sequence_set: return in_set(key.set, false);
    case K::uid: return in_set(key.set, true);
    case K::modseq: return info.modseq >= key.number;
    case K::not_: return !key.children.empty() && !matches(key.children[0]);
    case K::or_: return key.children.size() == 2 && (matches(key.children[0]) || matches(key.children[1]));
    case K::and_:
      return std::all_of(key.children.begin(), key.children.end(), [&](const auto& c) { return matches(c); });
  }
  return false;
}

}  // namespace mail::node::imapsrv
