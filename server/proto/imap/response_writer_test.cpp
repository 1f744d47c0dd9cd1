// Tests for the IMAP response syntax writers (RFC 9051 §4.3 strings, §9 date-time,
// sequence-set rendering).
#include "proto/imap/response_writer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mail::imap {
namespace {

using namespace std::string_literals;

template <class F>
std::string w(F&& f) {
  std::string out;
  f(out);
  return out;
}

TEST(ImapResponseWriter, StringsQuotedOrLiteral_Rfc9051_4_3) {
  EXPECT_EQ(w([](std::string& o) { append_string(o, "hello"); }), "\"hello\"");
  EXPECT_EQ(w([](std::string& o) { append_string(o, "a\"b\\c"); }), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(w([](std::string& o) { append_string(o, "two\r\nlines"); }), "{10}\r\ntwo\r\nlines");
  EXPECT_EQ(w([](std::string& o) { append_string(o, "caf\xc3\xa9"); }), "{5}\r\ncaf\xc3\xa9");
  EXPECT_EQ(w([](std::string& o) { append_string(o, "caf\xc3\xa9", true); }), "\"caf\xc3\xa9\"");
  EXPECT_EQ(w([](std::string& o) { append_string(o, std::string(kQuotedBytesMax + 1, 'x')); }).substr(0, 7), "{1025}\r");
  EXPECT_EQ(w([](std::string& o) { append_string(o, ""); }), "\"\"");
}

TEST(ImapResponseWriter, NstringAstringBinary_Rfc9051_9_Rfc3516) {
  EXPECT_EQ(w([](std::string& o) { append_nstring(o, std::optional<std::string_view>()); }), "NIL");
  EXPECT_EQ(w([](std::string& o) { append_nstring(o, std::string_view("x")); }), "\"x\"");
  EXPECT_EQ(w([](std::string& o) { append_astring(o, "INBOX"); }), "INBOX");
  EXPECT_EQ(w([](std::string& o) { append_astring(o, "a]b"); }), "a]b");
  EXPECT_EQ(w([](std::string& o) { append_astring(o, "Sent Items"); }), "\"Sent Items\"");
  EXPECT_EQ(w([](std::string& o) { append_astring(o, "nil"); }), "\"nil\"");
  EXPECT_EQ(w([](std::string& o) { append_astring(o, ""); }), "\"\"");
  EXPECT_EQ(w([](std::string& o) { append_binary(o, "ab"); }), "{2}\r\nab");
  EXPECT_EQ(w([](std::string& o) { append_binary(o, "a\0b"s); }), "~{3}\r\na\0b"s);
}

TEST(ImapResponseWriter, FlagList_Rfc9051_9) {
  const std::vector<std::string> flags = {"\\Seen", "$Junk"};
  EXPECT_EQ(w([&](std::string& o) { append_flag_list(o, flags); }), "(\\Seen $Junk)");
  EXPECT_EQ(w([](std::string& o) { append_flag_list(o, {}); }), "()");
}

TEST(ImapResponseWriter, SequenceSetCompression) {
  const std::vector<std::uint32_t> uids = {1, 2, 3, 5, 7, 8, 9, 4294967295u};
  EXPECT_EQ(w([&](std::string& o) { append_sequence_set(o, uids); }), "1:3,5,7:9,4294967295");
  EXPECT_EQ(w([](std::string& o) { append_sequence_set(o, std::span<const std::uint32_t>{}); }), "");
  const std::vector<UidRange> r = {{1, 1}, {4, 10}};
  EXPECT_EQ(w([&](std::string& o) { append_ranges(o, r); }), "1,4:10");
  EXPECT_EQ(w([](std::string& o) { append_sequence_set(o, *parse_sequence_set("4:2,*,1:*")); }), "4:2,*,1:*");
  EXPECT_EQ(w([](std::string& o) { append_sequence_set(o, *parse_sequence_set("$")); }), "$");
}

TEST(ImapResponseWriter, DateTime_Rfc9051_9) {
  DateTime dt;
  dt.date = Date{1996, 7, 7};
  dt.hour = 2;
  dt.minute = 44;
  dt.second = 25;
  dt.zone_minutes = -420;
  EXPECT_EQ(w([&](std::string& o) { append_date_time(o, dt); }), "\" 7-Jul-1996 02:44:25 -0700\"");
  EXPECT_EQ(parse_date_time("\" 7-Jul-1996 02:44:25 -0700\""), dt);
  EXPECT_EQ(w([](std::string& o) { append_date(o, Date{1994, 2, 1}); }), "1-Feb-1994");
}

TEST(ImapResponseWriter, UnixTimeConversionsBothWays) {
  const DateTime epoch = date_time_from_unix(0);
  EXPECT_EQ(epoch.date, (Date{1970, 1, 1}));
  EXPECT_EQ(to_unix(epoch), 0);
  // 1996-07-17 02:44:25 -0700 == 1996-07-17 09:44:25 UTC == 837596665.
  const DateTime dt = *parse_date_time("\"17-Jul-1996 02:44:25 -0700\"");
  EXPECT_EQ(to_unix(dt), 837596665);
  EXPECT_EQ(date_time_from_unix(837596665, -420), dt);
  const DateTime leap = date_time_from_unix(951782400);  // 2000-02-29 00:00:00 UTC
  EXPECT_EQ(leap.date, (Date{2000, 2, 29}));
  const DateTime before = date_time_from_unix(-1);
  EXPECT_EQ(before.date, (Date{1969, 12, 31}));
  EXPECT_EQ(before.second, 59);
}

}  // namespace
}  // namespace mail::imap
