// Tests for the RFC 5322 header scanner: §2.1 header/body split, §2.2 fields, §2.2.3
// unfolding, §4.5 obsolete white space before the colon, bare LF, 8-bit, limits.
#include "proto/message/header.h"

#include <gtest/gtest.h>

#include <string>

namespace mail::message {
namespace {

TEST(HeaderRfc5322_S2_1, BodyOffsetAfterEmptyLine) {
  EXPECT_EQ(body_offset("A: 1\r\nB: 2\r\n\r\nbody\r\n"), 14u);
  EXPECT_EQ(body_offset("A: 1\nB: 2\n\nbody\n"), 11u);
  EXPECT_EQ(body_offset("\r\nbody"), 2u);       // no fields at all
  EXPECT_EQ(body_offset("A: 1\r\nB: 2"), 10u);  // no empty line: all header
  EXPECT_EQ(body_offset(""), 0u);
  EXPECT_EQ(body_offset("A: 1\r\n\r\n"), 8u);
}

TEST(HeaderRfc5322_S2_2, FieldsWithRawRanges) {
  const std::string block = "Subject: hi\r\n there\r\nFrom : a@b.test\nX-8: caf\xC3\xA9\r\n\r\n";
  const HeaderFields hf = parse_header_fields(block);
  ASSERT_EQ(hf.fields.size(), 3u);
  EXPECT_FALSE(hf.truncated);
  EXPECT_EQ(hf.fields[0].name, "Subject");
  EXPECT_EQ(hf.fields[0].value, " hi\r\n there");
  EXPECT_EQ(block.substr(hf.fields[0].begin, hf.fields[0].end - hf.fields[0].begin), "Subject: hi\r\n there\r\n");
  EXPECT_EQ(hf.fields[1].name, "From");  // §4.5 obs: WSP before the colon
  EXPECT_EQ(hf.fields[1].value, " a@b.test");
  EXPECT_EQ(hf.fields[2].value, " caf\xC3\xA9");
}

TEST(HeaderRfc5322_S2_2, NonFieldLinesAndStrayContinuationsSkipped) {
  const HeaderFields hf = parse_header_fields(" stray\r\nnot a field\r\n: empty name\r\nA: 1\r\n");
  ASSERT_EQ(hf.fields.size(), 1u);
  EXPECT_EQ(hf.fields[0].name, "A");
}

TEST(HeaderRfc5322_S2_2_3, UnfoldRemovesLineEndsBeforeWsp) {
  EXPECT_EQ(unfold(" a\r\n b\n\tc  "), "a b\tc");
  EXPECT_EQ(unfold("x\r\ny"), "x\r\ny");  // not followed by WSP: not a fold
  EXPECT_EQ(unfold(""), "");
}

TEST(HeaderRfc5322_S1_2_2, LookupIsCaseInsensitive) {
  const HeaderFields hf = parse_header_fields("content-TYPE: text/html\r\nSubject: a\r\nsubject: b\r\n");
  ASSERT_NE(find_field(hf.fields, "Content-Type"), nullptr);
  EXPECT_EQ(field_value(hf.fields, "SUBJECT"), "a");  // the first one
  EXPECT_EQ(field_value(hf.fields, "To"), std::nullopt);
}

TEST(HeaderLimits, FieldsBeyondTheBudgetAreNotListed) {
  std::string block;
  for (int i = 0; i < 10; ++i) block += "F" + std::to_string(i) + ": v\r\n";
  HeaderLimits limits;
  limits.fields_max = 4;
  const HeaderFields hf = parse_header_fields(block, limits);
  EXPECT_EQ(hf.fields.size(), 4u);
  EXPECT_TRUE(hf.truncated);
  limits = HeaderLimits{};
  limits.header_block_bytes_max = 20;
  const HeaderFields hb = parse_header_fields(block, limits);
  EXPECT_EQ(hb.fields.size(), 3u);  // 7 octets each: fields starting before offset 20
  EXPECT_TRUE(hb.truncated);
}

}  // namespace
}  // namespace mail::message
