// SMTP smuggling (SECURITY.md §1; SEC Consult 2023, CVE-2023-51764/5/6) against the whole
// session: every published end-of-data variant, fed at once and byte by byte, in DATA and
// in BDAT. Pass rule: at most one message, never one from smuggled@, never a smuggled
// MAIL executed; the tainted message itself is refused with 554 5.6.0 (RFC 5321 §2.3.8).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proto/smtp/server_session.h"
#include "proto/smtp/session_harness.h"

namespace mail::smtp {
namespace {

using testing::codes;
using testing::Harness;

const std::vector<std::string>& variants() {
  static const std::vector<std::string> v = {
      "\n.\n",   "\n.\r",   "\r.\n",     "\r.\r",       "\n.\r\n",
      "\r.\r\n", std::string("\r\n\0.\r\n", 6), "\r\n.\n", "\r\n.\r", "\r\n.\r\r\n",
      "\r\r\n.\r\r\n",
  };
  return v;
}

std::string smuggle_tail() {
  return "MAIL FROM:<smuggled@sender.test>\r\nRCPT TO:<victim@mx.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n";
}

void expect_not_smuggled(const Harness& h, const std::string& v) {
  const auto name = ::testing::PrintToString(v);
  EXPECT_LE(h.messages(), 1u) << name;
  for (const auto& m : h.all<ev::MailFrom>()) EXPECT_NE(m.path.to_string(), "<smuggled@sender.test>") << name;
  for (const auto& m : h.all<ev::Message>()) EXPECT_NE(m.envelope.mail_from.to_string(), "<smuggled@sender.test>");
}

// SECURITY.md §1 test 1: the 9 inbound variants plus the CR-CR-LF forms (test 3) and NUL
// (test 4). We take the strict road for the message (b: read to the real end, then refuse).
TEST(Security_1_1, InboundEndOfDataVariantsNeverSmuggle) {
  for (const std::string& v : variants()) {
    Harness h;
    h.feed("EHLO a\r\nMAIL FROM:<t@sender.test>\r\nRCPT TO:<victim@mx.test>\r\nDATA\r\n");
    h.take();
    h.feed("Subject: t\r\n\r\nbody" + v + smuggle_tail());
    expect_not_smuggled(h, v);
    EXPECT_EQ(h.messages(), 0u) << ::testing::PrintToString(v);
    const bool nul = v.find('\0') != std::string::npos;
    EXPECT_EQ(h.out, nul ? "554 5.6.0 Message contains NUL characters (RFC 2045 section 2.8)\r\n"
                         : "554 5.6.0 Message contains bare CR or LF characters (RFC 5321 section 2.3.8)\r\n")
        << ::testing::PrintToString(v);
    EXPECT_EQ(h.session.state(), State::ready);
    EXPECT_EQ(h.all<ev::MailFrom>().size(), 1u);
  }
}

TEST(Security_1_1, VariantsFedByteByByte) {
  for (const std::string& v : variants()) {
    Harness h;
    const std::string all = "EHLO a\r\nMAIL FROM:<t@sender.test>\r\nRCPT TO:<victim@mx.test>\r\nDATA\r\nSubject: t\r\n\r\nbody" +
                            v + smuggle_tail() + "QUIT\r\n";
    for (char c : all) h.feed(std::string(1, c));
    expect_not_smuggled(h, v);
    EXPECT_EQ(h.messages(), 0u);
    EXPECT_EQ(codes(h.out), (std::vector<int>{220, 250, 250, 250, 354, 554, 221}));
  }
}

TEST(Security_1_1, VariantsInBdatTextContent) {
  for (const std::string& v : variants()) {
    Harness h;
    const std::string body = "Subject: t\r\n\r\nbody" + v + smuggle_tail();
    h.feed("EHLO a\r\nMAIL FROM:<t@sender.test>\r\nRCPT TO:<victim@mx.test>\r\nBDAT " + std::to_string(body.size()) +
           " LAST\r\n" + body);
    expect_not_smuggled(h, v);
    EXPECT_EQ(h.messages(), 0u);
    EXPECT_EQ(codes(h.out).back(), 554);
  }
}

TEST(Security_1_2, BareLfInCommandPhaseNeverSplitsCommands) {
  Harness h;
  h.feed("EHLO a\r\nMAIL FROM:<a@b.example>\nRCPT TO:<victim@mx.test>\r\n");
  EXPECT_TRUE(h.closed());
  EXPECT_TRUE(h.all<ev::MailFrom>().empty());
  EXPECT_TRUE(h.all<ev::RcptTo>().empty());
}

TEST(Security_1_2, BareCrInCommandPhaseNeverSplitsCommands) {
  Harness h;
  h.feed("EHLO a\r\nMAIL FROM:<a@b.example>\rRCPT TO:<victim@mx.test>\r\n");
  EXPECT_TRUE(h.closed());
  EXPECT_TRUE(h.all<ev::MailFrom>().empty());
}

TEST(Security_1_5, HonestPipelinedMessagesAreFramedSeparately) {
  // The second DATA has its content right behind it: refused by default as improper
  // pipelining (server_session_test.cpp, Security_1_5); framing is what is tested here.
  ServerConfig c = testing::test_config();
  c.reject_pipelined_data = false;
  Harness h(c);
  h.feed("EHLO a\r\nMAIL FROM:<t@sender.test>\r\nRCPT TO:<victim@mx.test>\r\nDATA\r\n");
  h.feed("Subject: t\r\n\r\nbody\r\n.\r\n" + smuggle_tail());
  // Correct framing: the second one is a real, separately acknowledged message.
  ASSERT_EQ(h.messages(), 2u);
  EXPECT_EQ(h.all<ev::Message>()[0].content, "Subject: t\r\n\r\nbody\r\n");
  EXPECT_EQ(h.all<ev::Message>()[1].content, "Subject: smuggled\r\n\r\nx\r\n");
}

TEST(Security_1, SessionStaysUsableAfterRefusal) {
  Harness h;
  h.feed_sync("EHLO a\r\nMAIL FROM:<t@sender.test>\r\nRCPT TO:<victim@mx.test>\r\nDATA\r\nbody\n.\nmore\r\n.\r\n");
  h.feed_sync("MAIL FROM:<t@sender.test>\r\nRCPT TO:<victim@mx.test>\r\nDATA\r\nclean\r\n.\r\n");
  ASSERT_EQ(h.messages(), 1u);
  EXPECT_EQ(h.all<ev::Message>()[0].content, "clean\r\n");
  EXPECT_EQ(h.all<ev::TransactionReset>().size(), 1u);
}

}  // namespace
}  // namespace mail::smtp
