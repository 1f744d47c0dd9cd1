// RFC 8621 §5 SearchSnippet: HTML escaping, <mark> around case-insensitive matches, null
// when nothing matches, the 255-octet preview bound.
#include "jmap/search_snippet.h"

#include <gtest/gtest.h>

namespace mail::jmap {
namespace {

TEST(JmapSearchSnippet, Rfc8621_5_SubjectMarkedAndEscaped) {
  const std::string msg =
      "Subject: =?utf-8?q?Caf=C3=A9_<menu>_&_CAFÉ?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
      "Nothing here.\r\n";
  const SearchSnippet s = search_snippet(msg, {"café"});
  ASSERT_TRUE(s.subject);
  EXPECT_EQ(*s.subject, "<mark>Café</mark> &lt;menu&gt; &amp; <mark>CAFÉ</mark>");
  EXPECT_FALSE(s.preview);
}

TEST(JmapSearchSnippet, Rfc8621_5_PreviewAroundFirstMatchWithin255Octets) {
  std::string body;
  for (int i = 0; i < 60; ++i) body += "filler words ";
  body += "the NEEDLE & <thread> ";
  for (int i = 0; i < 60; ++i) body += "more text ";
  const std::string msg = "Subject: other\r\n\r\n" + body;
  const SearchSnippet s = search_snippet(msg, {"needle", "thread", ""});
  EXPECT_FALSE(s.subject);
  ASSERT_TRUE(s.preview);
  EXPECT_LE(s.preview->size(), kSnippetPreviewOctetsMax);
  EXPECT_NE(s.preview->find("the <mark>NEEDLE</mark> &amp; &lt;<mark>thread</mark>&gt; more"), std::string::npos)
      << *s.preview;
  EXPECT_TRUE(s.preview->starts_with("filler") || s.preview->starts_with("words")) << *s.preview;
}

TEST(JmapSearchSnippet, Rfc8621_5_HtmlBodyAsTextAndNoMatch) {
  const std::string msg = "Content-Type: text/html\r\n\r\n<p>Hello <b>W&ouml;rld</b> &lt;x&gt;</p>";
  const SearchSnippet s = search_snippet(msg, {"hello"});
  ASSERT_TRUE(s.preview);
  EXPECT_EQ(*s.preview, "<mark>Hello</mark> Wörld &lt;x&gt;");
  EXPECT_FALSE(search_snippet(msg, {"absent"}).preview);
  EXPECT_FALSE(search_snippet(msg, {}).preview);
}

TEST(JmapSearchSnippet, MarkNeverCutsCharactersOrMarks) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "é";
  text += "x";
  const auto m = mark_matches(text, {"éx"}, 20);
  ASSERT_TRUE(m);
  EXPECT_LE(m->size(), 20u);
  // The lead context filled the budget: the mark does not fit and is left out whole.
  EXPECT_EQ(m->find("<mark"), std::string::npos);
  EXPECT_EQ(m->size() % 2, 0u);  // whole two-octet characters only
  const auto overlapping = mark_matches("abcabc", {"abc", "bca", "ABCABC"}, 0);
  ASSERT_TRUE(overlapping);
  EXPECT_EQ(*overlapping, "<mark>abcabc</mark>");
}

}  // namespace
}  // namespace mail::jmap
