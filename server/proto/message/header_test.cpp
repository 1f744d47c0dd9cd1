// Tests for the RFC 5322 header scanner: §2.1 header/body split, §2.2 fields, §2.2.3
// unfolding, §4.5 obsolete white space before the colon, bare LF, 8-bit, limits.
#include "proto/message/header.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <utility>
#include <vector>

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

// Generated fields, folded at random blanks with CRLF or bare LF, list back in order with
// their names and unfolded values (§2.2, §2.2.3); the body starts after the empty line.
RC_GTEST_PROP(HeaderPropertyRfc5322_S2_2, GeneratedFieldsListBack, ()) {
  const auto name_gen = rc::gen::nonEmpty(rc::gen::container<std::string>(rc::gen::element('A', 'b', '-', '1', 'X')));
  const auto word_gen = rc::gen::nonEmpty(rc::gen::container<std::string>(rc::gen::element('v', '=', ';', '\xc3', '(')));
  const auto fields = *rc::gen::container<std::vector<std::pair<std::string, std::vector<std::string>>>>(
      rc::gen::pair(name_gen, rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(word_gen))));
  std::string text;
  std::vector<std::string> expect;
  for (const auto& [name, words] : fields) {
    text += name;
    text += ':';
    std::string value;
    for (const auto& w : words) {
      // A blank, or a fold (CRLF or bare LF, then the blank that stays after unfolding).
      const int how = *rc::gen::inRange(0, 3);
      const char blank = how == 2 ? '\t' : ' ';
      if (how == 1) text += "\r\n";
      if (how == 2) text += '\n';
      text += blank;
      text += w;
      if (!value.empty()) value += blank;
      value += w;
    }
    text += "\r\n";
    expect.push_back(value);
  }
  text += "\r\nbody";
  const std::size_t body = body_offset(text);
  RC_ASSERT(text.substr(body) == "body");
  const HeaderFields got = parse_header_fields(std::string_view(text).substr(0, body));
  RC_ASSERT(!got.truncated);
  RC_ASSERT(got.fields.size() == fields.size());
  for (std::size_t i = 0; i < fields.size(); ++i) {
    RC_ASSERT(got.fields[i].name == fields[i].first);
    const std::string unfolded = unfold(got.fields[i].value);
    // Unfolding removes the line break only, so a fold keeps its one blank.
    RC_ASSERT(unfolded == expect[i]);
  }
}

}  // namespace
}  // namespace mail::message
