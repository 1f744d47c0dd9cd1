// Small writers for IMAP response syntax (RFC 9051 §9, §4): the string form for a value
// (atom / quoted / literal / literal8), nstring, astring, flag lists, sequence sets from
// sorted numbers, and date-time in both directions. Pure: each appends to the caller's
// buffer, never allocates beyond it, never writes CR/LF except inside a literal's prefix.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/imap/command.h"
#include "proto/imap/parser.h"

namespace mail::imap {

// Quoted strings longer than this are sent as literals (Dovecot uses a similar bound).
inline constexpr std::size_t kQuotedBytesMax = 1024;

// string (RFC 9051 §4.3): quoted when every octet may appear in a quoted string (no
// CR/LF/NUL; 8-bit only with utf8 = UTF8=ACCEPT enabled) and it is at most
// kQuotedBytesMax long, else a synchronising-form literal "{n}\r\n" + bytes (NULs dropped).
void append_string(std::string& out, std::string_view s, bool utf8 = false);
// True when append_string() would write `s` quoted.
bool quotable_string(std::string_view s, bool utf8 = false) noexcept;
// nstring: NIL for nullopt.
void append_nstring(std::string& out, const std::optional<std::string_view>& s, bool utf8 = false);
void append_nstring(std::string& out, const std::optional<std::string>& s, bool utf8 = false);
// astring: the bare atom when possible (1*ASTRING-CHAR, not "NIL"), else a string.
void append_astring(std::string& out, std::string_view s, bool utf8 = false);
// For BINARY[] bodies (RFC 3516 §4.3): literal8 "~{n}\r\n" when `s` holds NUL, else a literal.
void append_binary(std::string& out, std::string_view s);
// flag-list: "(" flag *(SP flag) ")"; flags are written as they are (atoms, "\Seen").
void append_flag_list(std::string& out, std::span<const std::string> flags);
// A number in decimal (number / nz-number / mod-sequence-value, RFC 9051 §9).
void append_number(std::string& out, std::uint64_t n);
// sequence-set from strictly increasing numbers: "1:3,5,7:9". Empty input writes nothing.
void append_sequence_set(std::string& out, std::span<const std::uint32_t> sorted);
// sequence-set from normalised ranges (parser.h normalize()).
void append_ranges(std::string& out, std::span<const UidRange> ranges);
// A SequenceSet as sent ("$", "*", "4:2" kept).
void append_sequence_set(std::string& out, const SequenceSet& set);
// date-time (RFC 9051 §9): "\"dd-Mon-yyyy hh:mm:ss +zzzz\"" with the quotes, day space-padded.
void append_date_time(std::string& out, const DateTime& dt);
// date-text as used by SEARCH: "1-Feb-1994".
void append_date(std::string& out, const Date& d);

// Seconds since the Unix epoch <-> DateTime in the given zone (minutes east of UTC).
DateTime date_time_from_unix(std::int64_t seconds, std::int16_t zone_minutes = 0);
std::int64_t to_unix(const DateTime& dt) noexcept;

}  // namespace mail::imap
