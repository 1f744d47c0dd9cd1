// Tests for the SEARCH / FTS text (RFC 9051 §6.4.4): decoded headers, transfer- and
// charset-decoded text parts, non-text parts skipped, the byte budget, and case folding.
#include "proto/message/search_text.h"

#include <gtest/gtest.h>

#include <string>

namespace mail::message {
namespace {

const std::string kMsg =
    "Subject: =?utf-8?q?Caf=C3=A9?= menu\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    "w4lU w6k=\r\n"
    "--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    "na=EFve=\r\n text\r\n"
    "--b\r\nContent-Type: application/octet-stream\r\n\r\nSECRETBINARY\r\n"
    "--b--\r\n";

TEST(SearchTextRfc9051_S6_4_4, DecodedHeadersAndTextParts) {
  const SearchText st = searchable_text(kMsg, parse_mime(kMsg));
  EXPECT_NE(st.headers.find("Subject: Caf\xC3\xA9 menu\n"), std::string::npos);
  EXPECT_EQ(st.body, "\xC3\x89T\xC3\xA9\nna\xC3\xAFve text");
  EXPECT_FALSE(st.truncated);
  EXPECT_EQ(st.body.find("SECRETBINARY"), std::string::npos);
}

TEST(SearchTextRfc9051_S6_4_4, BudgetCutsAtCharacterBoundary) {
  const SearchText st = searchable_text(kMsg, parse_mime(kMsg), 2);
  EXPECT_TRUE(st.truncated);
  EXPECT_EQ(st.body, "\xC3\x89");
  const SearchText st1 = searchable_text(kMsg, parse_mime(kMsg), 1);
  EXPECT_EQ(st1.body, "");  // half of É would not be UTF-8
}

TEST(SearchCaseFolding, AsciiAndUnicodeSimpleFolding) {
  EXPECT_EQ(fold_case("HeLLo"), "hello");
  EXPECT_EQ(fold_case("\xC3\x89"), "\xC3\xA9");                      // É -> é
  EXPECT_EQ(fold_case("\xCE\xA3\xCF\x82"), "\xCF\x83\xCF\x83");      // Σς -> σσ
  EXPECT_EQ(fold_case("\xD0\x9F\xD0\x81"), "\xD0\xBF\xD1\x91");      // ПЁ -> пё
  EXPECT_EQ(fold_case("\xC5\x81\xC5\xB8"), "\xC5\x82\xC3\xBF");      // ŁŸ -> łÿ
  EXPECT_EQ(fold_case("\xC3\x9F"), "\xC3\x9F");                      // ß: no simple folding
  EXPECT_EQ(fold_case("a\xFF"), "a\xEF\xBF\xBD");
  EXPECT_TRUE(search_contains("Das ist CAF\xC3\x89!", "caf\xC3\xA9"));
  EXPECT_TRUE(search_contains("\xD0\x9F\xD0\xA0\xD0\x98\xD0\x92\xD0\x95\xD0\xA2", "\xD0\xB8\xD0\xB2"));
  EXPECT_TRUE(search_contains("anything", ""));
  EXPECT_FALSE(search_contains("cafe", "caf\xC3\xA9"));
  EXPECT_FALSE(search_contains("abc", "abcd"));
}

}  // namespace
}  // namespace mail::message
