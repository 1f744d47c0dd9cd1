// Tests for ENVELOPE (RFC 9051 §7.5.2): the RFC's own FETCH example, RFC 5322 §3.4 groups
// (Appendix A.1.3), §4.4 obsolete routes, comments as names, raw (undecoded) encoded words,
// 8-bit names as literals, NIL versus "" (§7.5.2), and the string writer (§4.3).
#include "proto/imap/envelope.h"

#include <gtest/gtest.h>

#include <string>

#include "proto/imap/response_writer.h"

namespace mail::imap {
namespace {

TEST(ImapStringRfc9051_S4_3, QuotedOrLiteral) {
  std::string out;
  append_string(out, "a \"b\" \\c");
  EXPECT_EQ(out, "\"a \\\"b\\\" \\\\c\"");
  out.clear();
  append_string(out, "two\r\nlines");
  EXPECT_EQ(out, "{10}\r\ntwo\r\nlines");
  out.clear();
  append_string(out, std::string_view("\xC3\xA9\0x", 4));
  EXPECT_EQ(out, "{3}\r\n\xC3\xA9x");  // 8-bit: literal; NUL dropped
  out.clear();
  append_nstring(out, std::optional<std::string>{});
  append_nstring(out, std::optional<std::string>{""});
  EXPECT_EQ(out, "NIL\"\"");
  EXPECT_FALSE(quotable_string(std::string(1025, 'a')));
  EXPECT_TRUE(quotable_string(std::string(1024, 'a')));
}

TEST(EnvelopeRfc9051_S7_5_2, TheRfcFetchExample) {
  const std::string header =
      "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
      "From: Terry Gray <gray@cac.washington.edu>\r\n"
      "Subject: IMAP4rev2 WG mtg summary and minutes\r\n"
      "To: imap@cac.washington.edu\r\n"
      "cc: minutes@CNRI.Reston.VA.US,\r\n John Klensin <KLENSIN@MIT.EDU>\r\n"
      "Message-Id: <B27397-0100000@cac.washington.edu>\r\n"
      "MIME-Version: 1.0\r\n\r\n";
  // The RFC shows the list across lines; the grammar (env-cc = "(" 1*address ")") has no SP.
  EXPECT_EQ(envelope(header),
            "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev2 WG mtg summary and minutes\" "
            "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
            "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
            "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
            "((NIL NIL \"imap\" \"cac.washington.edu\")) "
            "((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) "
            "NIL NIL \"<B27397-0100000@cac.washington.edu>\")");
}

std::string list(std::string_view value) {
  std::string out;
  for (const auto& a : parse_address_list(value)) {
    out += "(";
    append_nstring(out, a.name);
    out += " ";
    append_nstring(out, a.adl);
    out += " ";
    append_nstring(out, a.mailbox);
    out += " ";
    append_nstring(out, a.host);
    out += ")";
  }
  return out;
}

TEST(EnvelopeRfc5322_S3_4, GroupsRoutesAndComments) {
  // RFC 5322 Appendix A.1.3.
  EXPECT_EQ(list("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;"),
            "(NIL NIL \"A Group\" NIL)(\"Ed Jones\" NIL \"c\" \"a.test\")(NIL NIL \"joe\" \"where.test\")"
            "(\"John\" NIL \"jdoe\" \"one.test\")(NIL NIL NIL NIL)");
  EXPECT_EQ(list("Undisclosed recipients:;"), "(NIL NIL \"Undisclosed recipients\" NIL)(NIL NIL NIL NIL)");
  EXPECT_EQ(list("Unclosed:a@b"), "(NIL NIL \"Unclosed\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL NIL NIL)");
  // §4.4 obs-route, RFC 5322 A.6.1-style.
  EXPECT_EQ(list("Joe <@route1,@route2:joe@x.test>"), "(\"Joe\" \"@route1,@route2\" \"joe\" \"x.test\")");
  EXPECT_EQ(list("joe@x.test (Joe Q. Public)"), "(\"Joe Q. Public\" NIL \"joe\" \"x.test\")");
  EXPECT_EQ(list("\"Giant; \\\"Big\\\" Box\" <sysservices@example.net>"),
            "(\"Giant; \\\"Big\\\" Box\" NIL \"sysservices\" \"example.net\")");
  EXPECT_EQ(list("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>"),
            "(\"Pete\" NIL \"pete\" \"silly.test\")");
  EXPECT_EQ(list("postmaster"), "(NIL NIL \"postmaster\" \"MISSING_DOMAIN\")");
  EXPECT_EQ(list("<>"), "(NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")");
  EXPECT_EQ(list("x@[192.0.2.1]"), "(NIL NIL \"x\" \"[192.0.2.1]\")");
  EXPECT_EQ(list(""), "");
  EXPECT_EQ(list(",,;<"), "(NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")");
}

TEST(EnvelopeRfc9051_S7_5_2, RawHeaderTextNilAndEmpty) {
  const std::string header =
      "Subject:\r\nFrom: =?utf-8?q?J=C3=B6?= <j@x.test>\r\nSender: \r\nTo: J\xC3\xB6 <k@x.test>\r\n"
      "In-Reply-To: <a@b>\r\n\r\n";
  EXPECT_EQ(envelope(header),
            "(NIL \"\" ((\"=?utf-8?q?J=C3=B6?=\" NIL \"j\" \"x.test\")) ((\"=?utf-8?q?J=C3=B6?=\" NIL \"j\" "
            "\"x.test\")) ((\"=?utf-8?q?J=C3=B6?=\" NIL \"j\" \"x.test\")) (({3}\r\nJ\xC3\xB6 NIL \"k\" "
            "\"x.test\")) NIL NIL \"<a@b>\" NIL)");
}

}  // namespace
}  // namespace mail::imap
