// core/ascii.h: the classes and folding are ASCII-only and locale-free.
#include "core/ascii.h"

#include <gtest/gtest.h>

namespace mail {
namespace {

TEST(Ascii, FoldsOnlyAsciiLetters) {
  EXPECT_EQ(ascii_lower("MX1.Example.TEST"), "mx1.example.test");
  EXPECT_EQ(ascii_upper("scram-sha-256"), "SCRAM-SHA-256");
  EXPECT_EQ(ascii_lower("D\xC3\x8BMO@[::FFFF:1.2.3.4]"), "d\xC3\x8Bmo@[::ffff:1.2.3.4]");  // UTF-8 octets unchanged
  EXPECT_EQ(ascii_lower(std::string_view("@[`{")), "@[`{");  // the neighbours of A-Z and a-z
  EXPECT_EQ(ascii_lower('Z'), 'z');
  EXPECT_EQ(ascii_upper('a'), 'A');
}

TEST(Ascii, CaseInsensitiveComparison) {
  static_assert(iequals("EHLO", "ehlo"));
  static_assert(!iequals("EHLO", "EHL"));
  static_assert(!iequals("\xC3\x8B", "\xC3\xAB"));  // never folds beyond ASCII
  static_assert(istarts_with("* OK [CAPABILITY", "* ok"));
  static_assert(!istarts_with("* O", "* OK"));
  EXPECT_TRUE(iequals("", ""));
}

TEST(Ascii, Classes) {
  static_assert(is_blank(' ') && is_blank('\t') && !is_blank('\r'));
  static_assert(is_alpha('a') && is_alpha('Z') && !is_alpha('@') && !is_alpha('['));
  static_assert(is_digit('0') && is_digit('9') && !is_digit('/') && !is_digit(':'));
  static_assert(is_hex('f') && is_hex('F') && !is_hex('g'));
  EXPECT_FALSE(is_alpha(0xC3));
}

}  // namespace
}  // namespace mail
