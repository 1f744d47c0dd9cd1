// IMAP command parser: RawCommand (from CommandReader) -> typed Command (command.h), per
// the ABNF of RFC 9051 §9 and RFC 3501 §9 plus the extensions listed in command.h. Pure
// functions: no I/O, no state; allocations only for the AST itself. Errors come back as a
// short text the session puts after "<tag> BAD" (RFC 9051 §7.1.5). Keywords are matched
// case-insensitively (RFC 9051 §9 note 5); strings keep their raw bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/imap/command.h"
#include "proto/imap/command_reader.h"

namespace mail::imap {

struct ParseResult {
  std::string tag;                 // the tag if it was parsable, else empty (answer "* BAD")
  std::optional<Command> command;  // set on success
  std::string error;               // on failure: text for "BAD", no CR/LF
};

// Parses one complete command. Literals are taken from raw.literals in order.
ParseResult parse_command(const RawCommand& raw);

// Before a synchronising literal is accepted (RFC 9051 §4.3: the server may answer line by
// line, the client sends the octets only after "+"): the BAD text when the command so far
// cannot be valid whatever the literal holds (unknown verb, a bad APPEND date), nullopt
// when it may be. `partial` is the reader's pending command: its last literal announced,
// unread.
std::optional<std::string> check_command_prefix(const RawCommand& partial);

// Pieces, exposed for the session (AUTHENTICATE lines are raw) and for fuzzers/tests.
// Each parses all of `in` (no trailing bytes) and returns nullopt on any error.
std::optional<SequenceSet> parse_sequence_set(std::string_view in);
std::optional<SearchKey> parse_search_keys(std::string_view in);  // a top-level and_ list
std::optional<std::vector<FetchAtt>> parse_fetch_items(std::string_view in);  // att, (att ...) or macro
std::optional<Date> parse_date(std::string_view in);           // "1-Feb-1994" / "01-Feb-1994" (also quoted)
std::optional<DateTime> parse_date_time(std::string_view in);  // "dd-Mon-yyyy hh:mm:ss +zzzz" with quotes

// One range after normalisation: lo <= hi, both >= 1.
struct UidRange {
  std::uint32_t lo = 1;
  std::uint32_t hi = 1;
  friend bool operator==(const UidRange&, const UidRange&) = default;
};

// Resolves `*` to `star` and orders every range, then sorts and merges overlapping and
// adjacent ranges. Never materialises members (1:4294967295 is one range). `set` must
// not be "$" (the session substitutes the saved result first). With star == 0 (empty
// mailbox) "*" resolves to 0 and ranges then cover [lo, hi] with 0 dropped.
// Returns sorted, disjoint, non-adjacent ranges.
std::vector<UidRange> normalize(const SequenceSet& set, std::uint32_t star);
// Clips normalised ranges to [1, max].
std::vector<UidRange> clip(std::vector<UidRange> ranges, std::uint32_t max);
// True when every member of the normalised set is <= max (RFC 9051 §9: a message
// sequence number beyond the mailbox is an error).
bool within(const std::vector<UidRange>& ranges, std::uint32_t max) noexcept;
// Count of members of normalised ranges (64-bit: 1:4294967295 has 2^32-1).
std::uint64_t count(const std::vector<UidRange>& ranges) noexcept;

}  // namespace mail::imap
