// RFC 6409 §8.2 (Date) and §8.3 (Message-ID) submission fix-ups, and the RFC 5322 §2.2
// header scan under them: case-insensitive names, folding, the empty line, bare LF, and a
// RapidCheck property over generated header sections (a Date is found iff one was generated;
// fix-ups + content has exactly one Date and one Message-ID when the content had at most one).
#include "proto/message/submission_headers.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/ascii.h"

namespace mail::message {
namespace {

// 2026-11-26 10:31:10 UTC, the example of proto/smtp/received.h.
constexpr WallTime kNow{1'795'689'070'000'000};

TEST(ScanHeaderFields, FindsFieldsCaseInsensitively_Rfc5322Section1_2_2) {
  const HeaderScan s = scan_header_fields("dAtE: x\r\nmessage-id: <a@b>\r\nFROM: u@v\r\n\r\nbody\r\n");
  EXPECT_TRUE(s.has_date);
  EXPECT_TRUE(s.has_message_id);
  EXPECT_TRUE(s.has_from);
  EXPECT_EQ(s.header_bytes, std::string_view("dAtE: x\r\nmessage-id: <a@b>\r\nFROM: u@v\r\n\r\n").size());
}

TEST(ScanHeaderFields, StopsAtTheFirstEmptyLine_Rfc5322Section2_1) {
  const HeaderScan s = scan_header_fields("Subject: hi\r\n\r\nDate: in the body\r\nMessage-ID: <x@y>\r\n");
  EXPECT_FALSE(s.has_date);
  EXPECT_FALSE(s.has_message_id);
  EXPECT_EQ(s.header_bytes, 15u);
  const HeaderScan empty_header = scan_header_fields("\r\nDate: body\r\n");
  EXPECT_FALSE(empty_header.has_date);
  EXPECT_EQ(empty_header.header_bytes, 2u);
}

TEST(ScanHeaderFields, NoEmptyLineMeansAllHeader) {
  const std::string_view c = "Subject: a\r\nDate: b\r\n";
  const HeaderScan s = scan_header_fields(c);
  EXPECT_TRUE(s.has_date);
  EXPECT_EQ(s.header_bytes, c.size());
  const HeaderScan unterminated = scan_header_fields("Subject: a\r\nMessage-ID: <b@c>");
  EXPECT_TRUE(unterminated.has_message_id);
  EXPECT_EQ(unterminated.header_bytes, 29u);
  EXPECT_EQ(scan_header_fields("").header_bytes, 0u);
}

TEST(ScanHeaderFields, FoldedLinesAreNotFields_Rfc5322Section2_2_3) {
  const HeaderScan s = scan_header_fields("Subject: a\r\n Date: folded\r\n\tMessage-ID: <x@y>\r\n\r\n");
  EXPECT_FALSE(s.has_date);
  EXPECT_FALSE(s.has_message_id);
  EXPECT_TRUE(scan_header_fields("Date:\r\n Thu, 26 Nov 2026 10:31:10 +0000\r\n\r\n").has_date);
}

TEST(ScanHeaderFields, OtherNamesDoNotCount) {
  const HeaderScan s =
      scan_header_fields("Resent-Date: x\r\nX-Date: y\r\nDates: z\r\nMessage-IDs: w\r\nResent-From: v\r\n\r\n");
  EXPECT_FALSE(s.has_date);
  EXPECT_FALSE(s.has_message_id);
  EXPECT_FALSE(s.has_from);
  EXPECT_FALSE(scan_header_fields("Date without colon\r\n\r\n").has_date);
}

TEST(ScanHeaderFields, ObsoleteWhiteSpaceBeforeColon_Rfc5322Section4_5) {
  EXPECT_TRUE(scan_header_fields("Date : x\r\n\r\n").has_date);
  EXPECT_TRUE(scan_header_fields("Message-ID\t: <a@b>\r\n\r\n").has_message_id);
}

TEST(ScanHeaderFields, BareLfEndsALine) {
  const HeaderScan s = scan_header_fields("Subject: a\nDate: b\n\nbody");
  EXPECT_TRUE(s.has_date);
  EXPECT_EQ(s.header_bytes, 20u);
}

TEST(SubmissionFixups, AddsDateAndMessageIdWhenMissing_Rfc6409Sections8_2_8_3) {
  EXPECT_EQ(submission_fixups("Subject: hi\r\n\r\nbody\r\n", kNow, "Q1.abc", "mx.example"),
            "Date: Thu, 26 Nov 2026 10:31:10 +0000\r\nMessage-ID: <Q1.abc@mx.example>\r\n");
}

TEST(SubmissionFixups, AddsOnlyWhatIsMissing) {
  EXPECT_EQ(submission_fixups("Date: x\r\n\r\n", kNow, "q", "h"), "Message-ID: <q@h>\r\n");
  EXPECT_EQ(submission_fixups("Message-Id: <a@b>\r\n\r\n", kNow, "q", "h"),
            "Date: Thu, 26 Nov 2026 10:31:10 +0000\r\n");
  EXPECT_EQ(submission_fixups("Date: x\r\nMessage-ID: <a@b>\r\n\r\nbody", kNow, "q", "h"), "");
}

TEST(SubmissionFixups, EmptyContentAndLiteralHostname) {
  EXPECT_EQ(submission_fixups("", kNow, "q", "[192.0.2.1]"),
            "Date: Thu, 26 Nov 2026 10:31:10 +0000\r\nMessage-ID: <q@[192.0.2.1]>\r\n");
}

// A header section as a list of fields, some folded, then optionally a body that may itself
// hold header-looking lines.
struct Generated {
  std::string content;
  int dates = 0;
  int message_ids = 0;
};

rc::Gen<Generated> gen_message() {
  static const std::vector<std::string> kNames = {"Date",     "date",       "DATE",    "Message-ID", "message-id",
                                                  "Message-Id", "From",     "Subject", "X-Date",     "Resent-Date",
                                                  "Received", "Message-IDs"};
  return rc::gen::exec([] {
    Generated g;
    const auto fields = *rc::gen::container<std::vector<std::pair<std::size_t, std::string>>>(
        rc::gen::pair(rc::gen::inRange<std::size_t>(0, kNames.size()),
                      rc::gen::container<std::string>(rc::gen::inRange('!', '~'))));
    for (const auto& [i, value] : fields) {
      const std::string& name = kNames[i];
      if (name == "Date" || name == "date" || name == "DATE") ++g.dates;
      if (name == "Message-ID" || name == "message-id" || name == "Message-Id") ++g.message_ids;
      g.content.append(name).append(": ").append(value).append("\r\n");
      if (*rc::gen::inRange(0, 4) == 0) {
        // A folded continuation that looks like a field: never counted.
        g.content.append(*rc::gen::element<std::string>(" ", "\t")).append(kNames[0]).append(": folded\r\n");
      }
    }
    if (*rc::gen::arbitrary<bool>()) {
      g.content.append("\r\nDate: in the body\r\nMessage-ID: <body@x>\r\n");
    }
    return g;
  });
}

int count_named(std::string_view header, std::string_view name) {
  int n = 0;
  std::size_t pos = 0;
  while (pos < header.size()) {
    const std::size_t end = header.find("\r\n", pos);
    const std::string_view line = header.substr(pos, end - pos);
    if (line.size() > name.size() && line[name.size()] == ':' && iequals(line.substr(0, name.size()), name)) ++n;
    if (end == std::string_view::npos) break;
    pos = end + 2;
  }
  return n;
}

RC_GTEST_PROP(SubmissionHeadersProperty, ScanFindsWhatWasGeneratedAndFixupsCompleteIt, ()) {
  const Generated g = *gen_message();
  const HeaderScan s = scan_header_fields(g.content);
  RC_ASSERT(s.has_date == (g.dates > 0));
  RC_ASSERT(s.has_message_id == (g.message_ids > 0));

  const std::string fix = submission_fixups(g.content, kNow, "Q1.r4nd", "mx.example");
  // The fix-up lines are whole fields with no empty line, so they join the header section.
  const HeaderScan fs = scan_header_fields(fix);
  RC_ASSERT(fs.header_bytes == fix.size());
  RC_ASSERT(count_named(fix, "Date") == (g.dates > 0 ? 0 : 1));
  RC_ASSERT(count_named(fix, "Message-ID") == (g.message_ids > 0 ? 0 : 1));

  const std::string whole = fix + g.content;
  const HeaderScan ws = scan_header_fields(whole);
  RC_ASSERT(ws.has_date);
  RC_ASSERT(ws.has_message_id);
  RC_ASSERT(ws.header_bytes == fix.size() + s.header_bytes);
  const std::string_view header = std::string_view(whole).substr(0, ws.header_bytes);
  RC_ASSERT(count_named(header, "Date") == std::max(1, g.dates));
  RC_ASSERT(count_named(header, "Message-ID") == std::max(1, g.message_ids));
  // Applying the fix-ups again adds nothing.
  RC_ASSERT(submission_fixups(whole, kNow, "Q2", "mx.example").empty());
}

}  // namespace
}  // namespace mail::message
