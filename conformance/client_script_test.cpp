// Unit tests of the smtp-client suite's case format and judge (client_script.h,
// client_runner.h): parsing, malformed lines as load errors, the verbatim RFC quotes of
// every case in conformance/smtp-client/, and expectations that must fail on a recorded
// session that breaks them.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <thread>

#include "conformance/client_runner.h"
#include "conformance/client_script.h"
#include "conformance/client_under_test.h"

namespace mail::conformance {
namespace {

constexpr std::string_view kCase = R"(# prose
## case: helo-fallback
rfc: 5321 §3.2
level: SHOULD
quote: For a particular connection attempt, if the server returns a "command not recognized" response to EHLO, the client SHOULD be able to fall back and send HELO.
summary: EHLO refused, HELO follows.
```smtp-client
EHLO: 502 5.5.1 no
RCPT#2: 250-first
RCPT#2: !pause 100
RCPT#2: 250 last
DOT: !close
hold: 50
to: a@example.test
to: b@example.test
content: Subject: x
content:
content-raw: body\x20
mail-param: BODY=8BITMIME
expect: next EHLO HELO
expect: outcome 2 transient
expect: content /body/
```
)";

TEST(ClientScript, ParsesRepliesMessageAndExpectations) {
  ClientSuite suite;
  std::vector<LoadError> errors;
  ASSERT_TRUE(parse_client_transcript(kCase, "dir/session.md", suite, errors)) << errors.front().message;
  ASSERT_EQ(suite.cases.size(), 1u);
  const ClientCase& c = suite.cases[0];
  EXPECT_EQ(c.c.full_id(), "session/helo-fallback");
  EXPECT_EQ(c.c.level, Level::should);
  EXPECT_EQ(c.hold_ms, 50);
  ASSERT_EQ(c.replies.at("RCPT#2").size(), 3u);
  EXPECT_EQ(c.replies.at("RCPT#2")[1].kind, ReplyItem::Kind::pause);
  EXPECT_EQ(c.replies.at("RCPT#2")[1].ms, 100);
  EXPECT_EQ(c.replies.at("DOT")[0].kind, ReplyItem::Kind::close);
  EXPECT_EQ(c.message.to, (std::vector<std::string>{"a@example.test", "b@example.test"}));
  EXPECT_EQ(c.message.content, "Subject: x\r\n\r\nbody ");
  ASSERT_EQ(c.expects.size(), 3u);
  EXPECT_EQ(c.expects[0].kind, ClientExpect::Kind::next);
  EXPECT_EQ(c.expects[0].choices, std::vector<std::string>{"HELO"});
  EXPECT_EQ(c.expects[1].recipient, 2);
  EXPECT_FALSE(c.expects[1].wire());
  // The stage lookup: RCPT#2 has its own script, RCPT#1 the default.
  ReplyScript scratch;
  EXPECT_EQ(reply_for(c, "RCPT", 2, scratch).size(), 3u);
  EXPECT_EQ(reply_for(c, "RCPT", 1, scratch).front().bytes, "250 2.1.5 ok");
}

TEST(ClientScript, MalformedLinesAreLoadErrors) {
  const std::string bad = R"(## case: x
rfc: 5321 §3.2
level: MUST
quote: q
```smtp-client
RCTP: 250 typo
EHLO: !explode
expect: waits
expect: outcome 1 delivered-ish
expect: content no-slashes
```
## case: y
rfc: 5321 §3.2
level: MUST
```smtp-client
expect: sent MAIL
```
)";
  ClientSuite suite;
  std::vector<LoadError> errors;
  EXPECT_FALSE(parse_client_transcript(bad, "t.md", suite, errors));
  std::string all;
  for (const auto& e : errors) all += std::to_string(e.line) + ": " + e.message + "\n";
  EXPECT_NE(all.find("6: unknown key 'RCTP'"), std::string::npos) << all;
  EXPECT_NE(all.find("7: unknown action"), std::string::npos) << all;
  EXPECT_NE(all.find("8: waits wants"), std::string::npos) << all;
  EXPECT_NE(all.find("9: outcome wants"), std::string::npos) << all;
  EXPECT_NE(all.find("10: content: wants /regex/"), std::string::npos) << all;
  EXPECT_NE(all.find("has no quote"), std::string::npos) << all;
}

// Regression (fuzz/conformance_transcript): an incomplete case was reported and still kept,
// with no RFC number for the reports to index it by. Only complete cases are kept.
TEST(ClientScript, IncompleteCasesAreNotKept) {
  const std::string text =
      "## case: no-rfc\nlevel: MUST\nquote: q\n```smtp-client\nexpect: sent MAIL\n```\n"
      "## case: good\nrfc: 5321 §3.2\nlevel: MUST\nquote: q\n```smtp-client\nexpect: sent MAIL\n```\n";
  ClientSuite suite;
  std::vector<LoadError> errors;
  EXPECT_FALSE(parse_client_transcript(text, "t.md", suite, errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("has no rfc: line"), std::string::npos) << errors[0].message;
  ASSERT_EQ(suite.cases.size(), 1u);
  EXPECT_EQ(suite.cases[0].c.id, "good");
  EXPECT_EQ(suite.cases[0].c.rfc_numbers.front(), "5321");
}

ClientCase one_case(std::string_view expects) {
  ClientSuite suite;
  std::vector<LoadError> errors;
  const std::string text = "## case: t\nrfc: 5321 §3.2\nlevel: MUST\nquote: q\n```smtp-client\n" + std::string(expects) + "```\n";
  EXPECT_TRUE(parse_client_transcript(text, "t.md", suite, errors));
  return suite.cases.at(0);
}

ClientSessionRecord record_of(const std::vector<std::string>& lines) {
  ClientSessionRecord rec;
  rec.connected = true;
  for (const auto& l : lines) {
    if (l == "CLOSE") {
      rec.events.push_back({ClientEventRec::Kind::client_close, "CLOSE", ""});
      continue;
    }
    if (l.starts_with("CONTENT ")) {
      rec.events.push_back({ClientEventRec::Kind::content, "CONTENT", l.substr(8)});
      rec.content += l.substr(8);
      rec.content_by_data = true;
      rec.client_bytes += l.substr(8);
      continue;
    }
    rec.events.push_back({ClientEventRec::Kind::command, l.substr(0, l.find_first_of(" :")), l});
    rec.command_lines.push_back(l + "\r\n");
    rec.client_bytes += l + "\r\n";
  }
  return rec;
}

bool holds(std::string_view expects, const ClientSessionRecord& rec, const ClientOutcome& outcome = {}) {
  std::string expected, got;
  return judge_client_case(one_case(expects), rec, outcome, expected, got);
}

TEST(ClientJudge, SequenceChecksCanFail) {
  const auto good = record_of({"EHLO c", "HELO c", "MAIL FROM:<a@b>", "QUIT", "CLOSE"});
  const auto bad = record_of({"EHLO c", "MAIL FROM:<a@b>", "QUIT"});
  EXPECT_TRUE(holds("expect: next EHLO HELO\n", good));
  EXPECT_FALSE(holds("expect: next EHLO HELO\n", bad));
  EXPECT_TRUE(holds("expect: next QUIT CLOSE|NOTHING\n", bad));
  EXPECT_FALSE(holds("expect: next QUIT CLOSE\n", bad));
  EXPECT_TRUE(holds("expect: first EHLO|HELO\n", bad));
  EXPECT_FALSE(holds("expect: first HELO\n", bad));
  EXPECT_FALSE(holds("expect: sent DATA\n", bad));
  EXPECT_TRUE(holds("expect: not-sent DATA\n", bad));
  EXPECT_TRUE(holds("expect: last CLOSE\n", good));
  EXPECT_FALSE(holds("expect: last CLOSE\n", bad));
}

TEST(ClientJudge, WireChecksCanFail) {
  auto rec = record_of({"EHLO c", "MAIL FROM:<a@b> SIZE=10", "DATA", "CONTENT ..x\r\n12345678901\r\n", "QUIT"});
  EXPECT_FALSE(holds("expect: size-covers\n", rec));  // 17 octets unstuffed
  auto small = record_of({"EHLO c", "MAIL FROM:<a@b> SIZE=17", "DATA", "CONTENT ..x\r\n12345678901\r\n", "QUIT"});
  EXPECT_TRUE(holds("expect: size-covers\n", small));
  EXPECT_TRUE(holds("expect: content /^\\.\\.x\\r\\n/\n", rec));
  EXPECT_FALSE(holds("expect: content-lacks /x/\n", rec));
  EXPECT_TRUE(holds("expect: content-lines-max 13\n", rec));   // "..x\r\n" counts 4, "12345678901\r\n" 13
  EXPECT_FALSE(holds("expect: content-lines-max 12\n", rec));
  EXPECT_FALSE(holds("expect: lines-max 20\n", rec));  // the MAIL line is 25 octets
  EXPECT_TRUE(holds("expect: ascii\n", rec));
  EXPECT_TRUE(holds("expect: crlf-only\n", rec));
  rec.client_bytes += "caf\xc3\xa9\n";
  EXPECT_FALSE(holds("expect: ascii\n", rec));
  EXPECT_FALSE(holds("expect: crlf-only\n", rec));
  rec.early.push_back("DATA#1");
  EXPECT_FALSE(holds("expect: waits DATA\n", rec));
  EXPECT_TRUE(holds("expect: waits MAIL\n", rec));
  EXPECT_FALSE(holds("expect: waits all\n", rec));
}

TEST(ClientJudge, OutcomeChecksUseTheReportedOutcome) {
  const auto rec = record_of({"EHLO c", "QUIT"});
  ClientOutcome o;
  o.known = true;
  o.recipients = {"delivered", "transient"};
  EXPECT_TRUE(holds("expect: outcome 1 delivered\n", rec, o));
  EXPECT_FALSE(holds("expect: outcome 2 permanent\n", rec, o));
  EXPECT_TRUE(holds("expect: outcome 2 failed\n", rec, o));
  EXPECT_FALSE(holds("expect: outcome all delivered\n", rec, o));
  EXPECT_TRUE(holds("expect: outcome all delivered\n", rec, ClientOutcome{}));  // unknown: not judged here
}

TEST(ClientScript, NormalisesRfcPageBreaks) {
  const std::string text =
      "   the sender-\n   SMTP SHOULD be\n   able to\n\n\n\nKlensin                     Standards Track                    [Page 49]\n"
      "\f\nRFC 5321                          SMTP                      October 2008\n\n\n   fall back.\n";
  EXPECT_EQ(normalise_rfc_text(text), "the sender-SMTP SHOULD be able to fall back.");
}

// Every case of the suite: at least 30, each quote verbatim in its RFC with its key word.
TEST(ClientSuite, EveryQuoteIsVerbatimInItsRfc) {
  ClientSuite suite;
  std::vector<LoadError> errors;
  ASSERT_TRUE(load_client_suite_dir(std::string(MAIL_CONFORMANCE_DIR) + "/smtp-client", suite, errors))
      << errors.front().file << ":" << errors.front().line << ": " << errors.front().message;
  EXPECT_GE(suite.cases.size(), 30u);
  const std::string rfc_dir = MAIL_RFC_DIR;
  if (!std::filesystem::exists(rfc_dir + "/rfc5321.txt")) GTEST_SKIP() << "no RFC texts at " << rfc_dir;
  int procedures = 0;
  for (const auto& c : suite.cases) {
    EXPECT_EQ(check_quote(c, rfc_dir), "") << c.c.full_id();
    procedures += c.procedure;
  }
  EXPECT_LE(procedures, 2);  // only the transparency procedure has no key word
  // The check itself can fail: a changed word, and a quote without its level's key word.
  ClientCase changed = suite.cases.front();
  changed.quote += " and more";
  EXPECT_NE(check_quote(changed, rfc_dir), "");
  ClientCase weak = one_case("expect: sent MAIL\n");
  weak.quote = "The QUIT command may be issued at any time.";
  EXPECT_NE(check_quote(weak, rfc_dir).find("key word MUST"), std::string::npos);
}

// A client that never reads: it writes a whole session at once (no waiting for any reply,
// content neither stuffed nor CRLF-clean) and hangs up without QUIT.
class BlindClient final : public ClientUnderTest {
 public:
  std::string describe() const override { return "blind toy"; }
  bool reports_outcome() const override { return false; }
  bool start(std::uint16_t port, const ClientCase&, std::string&) override {
    thread_ = std::thread([port] {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(port);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        const std::string all =
            "MAIL FROM:<toy@example.org>\r\nRCPT TO:<postmaster@example.test>\r\nDATA\r\n"
            "Subject: toy\r\n\r\n.hidden\r\nbare\nlf\r\n.\r\n";
        (void)!::send(fd, all.data(), all.size(), MSG_NOSIGNAL);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      ::close(fd);
    });
    return true;
  }
  ClientOutcome finish(std::chrono::milliseconds) override {
    thread_.join();
    return {};
  }

 private:
  std::thread thread_;
};

// The suite can fail: against the blind toy, many MUST cases fail, none passes by accident
// where the toy plainly breaks the clause, and clauses about unused extensions are n/a.
TEST(ClientSuite, RealSuiteFlagsABlindClient) {
  ClientSuite suite;
  std::vector<LoadError> errors;
  ASSERT_TRUE(load_client_suite_dir(std::string(MAIL_CONFORMANCE_DIR) + "/smtp-client", suite, errors));
  std::string error;
  auto tls = make_scripted_server_tls(error);
  ASSERT_TRUE(tls) << error;
  BlindClient toy;
  const auto results = run_client_suite(suite, toy, *tls, ClientRunOptions{});
  std::map<std::string, Verdict> by_id;
  int must_failed = 0;
  for (const auto& r : results) {
    by_id[r.c->full_id()] = r.verdict;
    must_failed += r.c->level == Level::must && r.verdict == Verdict::fail;
  }
  EXPECT_GE(must_failed, 10);
  EXPECT_EQ(by_id.at("session/hello-before-mail"), Verdict::fail);
  EXPECT_EQ(by_id.at("session/lockstep-without-pipelining"), Verdict::fail);
  EXPECT_EQ(by_id.at("session/quit-last"), Verdict::fail);
  EXPECT_EQ(by_id.at("transaction/waits-for-354"), Verdict::fail);
  EXPECT_EQ(by_id.at("data/dot-stuffing"), Verdict::fail);
  EXPECT_EQ(by_id.at("data/no-bare-lf"), Verdict::fail);
  EXPECT_EQ(by_id.at("tls/handshake-right-after-220"), Verdict::not_applicable);
  EXPECT_EQ(by_id.at("session/timeout-silent-mail"), Verdict::not_applicable);  // client: ours
  EXPECT_TRUE(any_must_failed(results));
}

}  // namespace
}  // namespace mail::conformance
