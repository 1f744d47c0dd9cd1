// The typed AST of IMAP client commands: every command of RFC 9051 (IMAP4rev2) and RFC 3501
// (IMAP4rev1) plus ENABLE (RFC 5161), ID (2971), IDLE (2177), UIDPLUS (4315), MOVE (6851),
// UNSELECT (3691), NAMESPACE (2342), ESEARCH (4731), SEARCHRES (5182), CONDSTORE/QRESYNC
// (7162), SORT/THREAD (5256), LIST-EXTENDED (5258), LIST-STATUS (5819), STATUS=SIZE (8438),
// COMPRESS (4978), QUOTA (9208), SASL-IR (4959), SPECIAL-USE (6154), UTF8 APPEND (6855).
// Plain data, no behaviour beyond small helpers: strings are raw bytes as sent (mailbox
// names are not decoded from modified UTF-7; the caller does that), so nothing is lost.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace mail::imap {

// ---- sequence sets (RFC 9051 §9 sequence-set, RFC 5182 "$") ---------------------------

inline constexpr std::uint32_t kStar = 0;  // "*" in a sequence set: the largest number in use

// One seq-number or seq-range as sent: lo may exceed hi ("4:2" == "2:4", RFC 9051 §9),
// either may be kStar.
struct SeqRange {
  std::uint32_t lo = 1;
  std::uint32_t hi = 1;
  friend bool operator==(const SeqRange&, const SeqRange&) = default;
};

struct SequenceSet {
  std::vector<SeqRange> ranges;  // empty iff saved
  bool saved = false;            // "$": the result saved by SEARCH RETURN (SAVE) (RFC 5182 §2.1)
  friend bool operator==(const SequenceSet&, const SequenceSet&) = default;
};

// ---- dates (RFC 9051 §9 date, date-time) ------------------------------------------------

struct Date {
  std::uint16_t year = 1970;
  std::uint8_t month = 1;  // 1..12
  std::uint8_t day = 1;    // 1..31 (checked against the month)
  friend bool operator==(const Date&, const Date&) = default;
};

struct DateTime {
  Date date;
  std::uint8_t hour = 0, minute = 0, second = 0;
  std::int16_t zone_minutes = 0;  // "+0130" == 90, "-0800" == -480
  friend bool operator==(const DateTime&, const DateTime&) = default;
};

// ---- SEARCH (RFC 9051 §6.4.4, RFC 3501 §6.4.4, RFC 7162 §3.1.5, RFC 5182) --------------

enum class SearchKeyKind : std::uint8_t {
  all, answered, deleted, draft, flagged, seen, recent, new_, old,        // no argument
  unanswered, undeleted, undraft, unflagged, unseen,
  bcc, body, cc, from, subject, text, to,                                  // str
  keyword, unkeyword,                                                      // str = flag keyword
  header,                                                                  // str = field, str2 = value
  before, on, since, sentbefore, senton, sentsince,                        // date
  larger, smaller,                                                         // number
  sequence_set, uid,                                                       // set (may be "$")
  modseq,                                                                  // number; optional entry
  not_,                                                                    // children[0]
  or_,                                                                     // children[0], children[1]
  and_,                                                                    // children (parenthesized list, and the top level)
};

enum class ModseqEntryType : std::uint8_t { priv, shared, all };  // RFC 7162 §3.1.5 entry-type-req

struct SearchKey {
  SearchKeyKind kind = SearchKeyKind::all;
  std::string str;   // string argument (raw bytes; charset per Search::charset), header field name
  std::string str2;  // HEADER value
  std::uint64_t number = 0;  // LARGER / SMALLER size, MODSEQ mod-sequence-valzer
  Date date;
  SequenceSet set;
  std::optional<std::pair<std::string, ModseqEntryType>> modseq_entry;  // MODSEQ "/flags/\\draft" all
  std::vector<SearchKey> children;
};

// ESEARCH return options (RFC 4731 §3.1, RFC 9051 §6.4.4, RFC 5182 SAVE).
struct SearchReturn {
  bool min = false, max = false, all = false, count = false, save = false;
  friend bool operator==(const SearchReturn&, const SearchReturn&) = default;
};

// ---- FETCH (RFC 9051 §6.4.5, RFC 3501 §6.4.5, RFC 3516, RFC 7162 §3.1.4) --------------

enum class SectionText : std::uint8_t {
  none,               // BODY[] / BODY[1.2]: the whole part
  header,             // HEADER
  header_fields,      // HEADER.FIELDS (a b)
  header_fields_not,  // HEADER.FIELDS.NOT (a b)
  text,               // TEXT
  mime,               // MIME (only after a part number)
};

struct Section {
  std::vector<std::uint32_t> part;  // "1.2.3"; empty: the top-level message
  SectionText text = SectionText::none;
  std::vector<std::string> fields;  // header-list, as sent (field names, case kept)
  friend bool operator==(const Section&, const Section&) = default;
};

struct Partial {
  std::uint32_t offset = 0;
  std::uint32_t length = 0;  // nz-number
  friend bool operator==(const Partial&, const Partial&) = default;
};

enum class FetchKind : std::uint8_t {
  envelope, flags, internaldate, rfc822, rfc822_header, rfc822_size, rfc822_text,
  body,            // BODY with no section: the non-extensible BODYSTRUCTURE
  bodystructure,
  uid,
  body_section,    // BODY[section]<partial> / BODY.PEEK[...]
  binary,          // BINARY[section-binary]<partial> / BINARY.PEEK[...] (RFC 3516 §4.2, 9051)
  binary_size,     // BINARY.SIZE[section-binary]
  modseq,          // RFC 7162 §3.1.4.1
};

struct FetchAtt {
  FetchKind kind = FetchKind::flags;
  bool peek = false;               // BODY.PEEK / BINARY.PEEK
  Section section;                 // body_section; binary*: part only
  std::optional<Partial> partial;  // <offset.length>
  friend bool operator==(const FetchAtt&, const FetchAtt&) = default;
};

// ---- STATUS items (RFC 9051 §6.3.11, RFC 8438, RFC 7889, RFC 7162 §3.1.9) --------------

enum class StatusItem : std::uint8_t {
  messages, recent, uidnext, uidvalidity, unseen, deleted, size, appendlimit, highestmodseq,
};

// ---- the commands -------------------------------------------------------------------------

// Any state (RFC 9051 §6.1).
struct Capability {};
struct Noop {};
struct Logout {};
// Not authenticated (RFC 9051 §6.2).
struct StartTls {};
struct Authenticate {
  std::string mechanism;                        // upper-cased
  std::optional<std::string> initial_response;  // SASL-IR (RFC 4959 §3): base64 as sent, "=" = empty
};
struct Login {
  std::string user;
  std::string password;
};
// Authenticated (RFC 9051 §6.3).
struct Enable {
  std::vector<std::string> capabilities;  // as sent (RFC 5161 §3.1)
};
struct QresyncParams {  // RFC 7162 §3.2.5
  std::uint32_t uidvalidity = 0;
  std::uint64_t modseq = 0;
  std::optional<SequenceSet> known_uids;
  // (known-sequence-set known-uid-set)
  std::optional<std::pair<SequenceSet, SequenceSet>> seq_match;
};
struct Select {
  std::string mailbox;
  bool examine = false;  // EXAMINE: read-only (RFC 9051 §6.3.3)
  bool condstore = false;                // (CONDSTORE) RFC 7162 §3.1.8
  std::optional<QresyncParams> qresync;  // (QRESYNC (...)) RFC 7162 §3.2.5
};
struct Create {
  std::string mailbox;
  std::vector<std::string> use;  // (USE (\Sent ...)) RFC 6154 §3
};
struct Delete { std::string mailbox; };
struct Rename { std::string from; std::string to; };
struct Subscribe { std::string mailbox; };
struct Unsubscribe { std::string mailbox; };
struct List {  // RFC 9051 §6.3.9, RFC 5258, RFC 5819, RFC 6154
  // Selection options (RFC 5258 §3.1).
  bool select_subscribed = false, select_remote = false, select_recursivematch = false,
       select_special_use = false;
  std::string reference;
  std::vector<std::string> patterns;  // list-mailbox, raw; at least one
  // Return options (RFC 5258 §3.2, RFC 5819, RFC 6154 §5.1).
  bool return_subscribed = false, return_children = false, return_special_use = false;
  std::optional<std::vector<StatusItem>> return_status;  // RETURN (STATUS (...))
  bool extended = false;  // any LIST-EXTENDED syntax was used (selection, RETURN, pattern list)
};
struct Lsub {  // RFC 3501 §6.3.9 (deprecated in rev2, still accepted)
  std::string reference;
  std::string pattern;
};
struct Namespace {};
struct Status {
  std::string mailbox;
  std::vector<StatusItem> items;
};
struct Append {  // RFC 9051 §6.3.12, RFC 3516 §4.4, RFC 6855 §4
  std::string mailbox;
  std::vector<std::string> flags;
  std::optional<DateTime> date;
  std::string message;  // the literal's bytes
  bool binary = false;  // sent as literal8 ~{n}
  bool utf8 = false;    // UTF8 (~{n}) of RFC 6855 §4
};
struct Idle {};
struct Id {  // RFC 2971 §3.1: NIL or a list of field/value pairs
  std::optional<std::vector<std::pair<std::string, std::optional<std::string>>>> params;
};
struct GetQuota { std::string root; };           // RFC 9208 §4.2
struct GetQuotaRoot { std::string mailbox; };    // RFC 9208 §4.3
struct SetQuota {                                // RFC 9208 §4.4
  std::string root;
  std::vector<std::pair<std::string, std::uint64_t>> limits;  // resource name (upper-cased), limit
};
struct Compress { std::string mechanism; };      // RFC 4978 §3, upper-cased
// Selected (RFC 9051 §6.4).
struct Check {};
struct Close {};
struct Unselect {};
struct Expunge {
  std::optional<SequenceSet> uids;  // UID EXPUNGE set (RFC 4315 §2.1)
};
struct Search {
  bool uid = false;
  std::optional<SearchReturn> ret;  // RETURN (...) given: answer with ESEARCH
  std::optional<std::string> charset;
  SearchKey key;  // kind and_ over the top-level keys
};
struct Fetch {
  bool uid = false;
  SequenceSet set;
  std::vector<FetchAtt> items;  // macros ALL / FAST / FULL expanded (RFC 9051 §6.4.5)
  std::optional<std::uint64_t> changedsince;  // RFC 7162 §3.1.4.1
  bool vanished = false;                      // RFC 7162 §3.2.6 (UID FETCH only)
};
enum class StoreMode : std::uint8_t { replace, add, remove };
struct Store {
  bool uid = false;
  SequenceSet set;
  std::optional<std::uint64_t> unchangedsince;  // RFC 7162 §3.1.3
  StoreMode mode = StoreMode::replace;
  bool silent = false;
  std::vector<std::string> flags;
};
struct Copy {
  bool uid = false;
  SequenceSet set;
  std::string mailbox;
};
struct Move {  // RFC 6851 §3
  bool uid = false;
  SequenceSet set;
  std::string mailbox;
};
enum class SortKey : std::uint8_t { arrival, cc, date, from, size, subject, to, display_from, display_to };
struct SortCriterion {
  SortKey key = SortKey::arrival;
  bool reverse = false;
  friend bool operator==(const SortCriterion&, const SortCriterion&) = default;
};
struct Sort {  // RFC 5256 §3
  bool uid = false;
  std::vector<SortCriterion> criteria;
  std::string charset;
  SearchKey key;
};
enum class ThreadAlgorithm : std::uint8_t { orderedsubject, references };
struct Thread {  // RFC 5256 §3
  bool uid = false;
  ThreadAlgorithm algorithm = ThreadAlgorithm::references;
  std::string charset;
  SearchKey key;
};

using CommandBody =
    std::variant<Capability, Noop, Logout, StartTls, Authenticate, Login, Enable, Select, Create, Delete,
                 Rename, Subscribe, Unsubscribe, List, Lsub, Namespace, Status, Append, Idle, Id, GetQuota,
                 GetQuotaRoot, SetQuota, Compress, Check, Close, Unselect, Expunge, Search, Fetch, Store, Copy,
                 Move, Sort, Thread>;

struct Command {
  std::string tag;
  CommandBody body;
};

}  // namespace mail::imap
