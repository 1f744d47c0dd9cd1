// Runner unit tests: expectation syntax, reply framing and matching, captures, any-of,
// regex, not-applicable cases, the transcript parser's errors, and proof that the cases can
// fail: a deliberately non-conformant toy server ("250 to everything") must be flagged.
#include <gtest/gtest.h>

#include <deque>
#include <sstream>

#include "conformance/conformance_main.h"
#include "conformance/runner.h"
#include "conformance/targets.h"
#include "conformance/toy_test_util.h"
#include "conformance/transcript.h"

namespace mail::conformance {
namespace {

using test::parse_ok;

// ------------------------------------------------------------------ toy targets

// Answers every complete line with `answer(line)`; greets with 220. The classic
// non-conformant server: "250 ok" to everything, DATA included.
class ToyTarget final : public test::LineToyServer {
 public:
  using Answer = std::string (*)(const std::string& line);
  explicit ToyTarget(Answer a, std::string caps = "250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n")
      : LineToyServer("toy", "220 toy.test ESMTP toy\r\n", [a, caps = std::move(caps)](const std::string& line) {
          if (line.rfind("EHLO", 0) == 0 || line.rfind("ehlo", 0) == 0) {
            std::string out = "250-toy.test\r\n";
            out += caps;
            out += "250 8BITMIME\r\n";
            return out;
          }
          return a(line);
        }) {}
};

std::string accept_all(const std::string&) { return "250 2.0.0 ok\r\n"; }

RunOptions opts(Target& t) {
  RunOptions o;
  o.reply_timeout = std::chrono::milliseconds(50);
  std::string error;
  o.capabilities_known = probe_smtp_capabilities(t, o.reply_timeout, o.capabilities, error);
  EXPECT_TRUE(o.capabilities_known) << error;
  return o;
}

// ------------------------------------------------------------------ expectations

TEST(Expect, Syntax) {
  std::string error;
  auto e = parse_smtp_expect("250 2.1.0 /ok/i", error);
  ASSERT_TRUE(e) << error;
  EXPECT_EQ(e->codes, std::vector<std::string>{"250"});
  EXPECT_EQ(e->enhanced, "2.1.0");
  EXPECT_EQ(e->regex, "ok");
  EXPECT_TRUE(e->icase);
  e = parse_smtp_expect("any-of 501 553 5xx", error);
  ASSERT_TRUE(e) << error;
  EXPECT_EQ(e->codes.size(), 3u);
  e = parse_smtp_expect("multiline 250", error);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->multiline);
  e = parse_smtp_expect("none 200", error);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, SmtpExpect::Kind::none);
  EXPECT_EQ(e->none_ms, 200);
  EXPECT_EQ(parse_smtp_expect("close", error)->kind, SmtpExpect::Kind::close);
  EXPECT_FALSE(parse_smtp_expect("hello", error));
  EXPECT_FALSE(parse_smtp_expect("250 501", error));  // two codes need any-of
  EXPECT_FALSE(parse_smtp_expect("250 /unterminated", error));
  EXPECT_FALSE(parse_smtp_expect("250 /(/", error));
  EXPECT_FALSE(parse_smtp_expect("650", error));
  EXPECT_FALSE(parse_smtp_expect("multiline single 250", error));
}

TEST(Reply, FramingIsStrict) {
  std::string buf = "250-mx\r\n250-PIPELINING\r\n250 SIZE 10\r\n354 go\r\n";
  SmtpReply r;
  std::string error;
  ASSERT_EQ(take_smtp_reply(buf, r, error), 1);
  EXPECT_EQ(r.code, 250);
  EXPECT_EQ(r.texts, (std::vector<std::string>{"mx", "PIPELINING", "SIZE 10"}));
  ASSERT_EQ(take_smtp_reply(buf, r, error), 1);
  EXPECT_EQ(r.code, 354);
  EXPECT_TRUE(buf.empty());

  buf = "250-partial\r\n250 la";
  EXPECT_EQ(take_smtp_reply(buf, r, error), 0);
  buf = "250 bare lf\n";
  EXPECT_EQ(take_smtp_reply(buf, r, error), -1);
  buf = "250-a\r\n251 b\r\n";
  EXPECT_EQ(take_smtp_reply(buf, r, error), -1);
  buf = "25 x\r\n";
  EXPECT_EQ(take_smtp_reply(buf, r, error), -1);
  buf = "250\r\n";  // a bare code is a complete reply
  ASSERT_EQ(take_smtp_reply(buf, r, error), 1);
  EXPECT_EQ(r.texts, std::vector<std::string>{""});
}

TEST(Reply, Matching) {
  std::string error, why;
  SmtpReply r{550, {"5.1.1 <unknown@example.test>: User unknown"}, ""};
  EXPECT_TRUE(match_smtp_reply(*parse_smtp_expect("550", error), r, true, why));
  EXPECT_TRUE(match_smtp_reply(*parse_smtp_expect("5xx", error), r, true, why));
  EXPECT_TRUE(match_smtp_reply(*parse_smtp_expect("55x 5.1.x", error), r, true, why));
  EXPECT_FALSE(match_smtp_reply(*parse_smtp_expect("4xx", error), r, true, why));
  EXPECT_EQ(why, "code 550");
  EXPECT_TRUE(match_smtp_reply(*parse_smtp_expect("any-of 501 550", error), r, true, why));
  EXPECT_FALSE(match_smtp_reply(*parse_smtp_expect("any-of 501 553", error), r, true, why));
  EXPECT_FALSE(match_smtp_reply(*parse_smtp_expect("550 5.1.2", error), r, true, why));
  EXPECT_EQ(why, "enhanced code");
  // Without ENHANCEDSTATUSCODES the enhanced part is not checked.
  EXPECT_TRUE(match_smtp_reply(*parse_smtp_expect("550 5.1.2", error), r, false, why));
  EXPECT_TRUE(match_smtp_reply(*parse_smtp_expect("550 /user UNKNOWN/i", error), r, true, why));
  EXPECT_FALSE(match_smtp_reply(*parse_smtp_expect("550 /user UNKNOWN/", error), r, true, why));
  EXPECT_FALSE(match_smtp_reply(*parse_smtp_expect("multiline 550", error), r, true, why));
  EXPECT_TRUE(match_smtp_reply(*parse_smtp_expect("single 550", error), r, true, why));
  SmtpReply no_enh{250, {"Ok"}, ""};
  EXPECT_FALSE(match_smtp_reply(*parse_smtp_expect("250 2.0.0", error), no_enh, true, why));
}

TEST(ClientText, EscapesAndTemplates) {
  std::string error;
  std::map<std::string, std::string> caps{{"ID", "Q123"}};
  EXPECT_EQ(*expand_client_text("a\\r\\nb\\x00\\\\", caps, error), std::string("a\r\nb\0\\", 6));
  EXPECT_EQ(*expand_client_text("x{{repeat 3 ab}}y", caps, error), "xabababy");
  EXPECT_EQ(*expand_client_text("{{repeat 2 \\r\\n}}", caps, error), "\r\n\r\n");
  EXPECT_EQ(*expand_client_text("id {{ID}}", caps, error), "id Q123");
  EXPECT_FALSE(expand_client_text("{{NOPE}}", caps, error));
  EXPECT_FALSE(expand_client_text("\\q", caps, error));
  EXPECT_FALSE(expand_client_text("\\x4", caps, error));
  EXPECT_FALSE(expand_client_text("{{repeat x y}}", caps, error));
  EXPECT_FALSE(expand_client_text("{{open", caps, error));
}

// ------------------------------------------------------------------ parser

TEST(Parser, CasesMetadataAndSetups) {
  const Suite s = parse_ok(R"(# Toy
Prose with a colon: not metadata.

## setup: hello
```smtp
s: 220
c: EHLO me
s: 250
```

## case: one
rfc: 5321 §4.1.4, 2920 §3.1
level: MUST NOT
requires: PIPELINING !STARTTLS
setup: hello
summary: a summary

```smtp
# a comment
c: NOOP
s: 250 /ok/
s-contains: ok
capture: X /(o)k/
c-raw: {{X}}\r\n
```

## case: imap-one
rfc: 9051 §6.3.1
level: MUST
```imap
c: a1 SELECT INBOX
u: * 3 EXISTS
u: * FLAGS /\(.*\)/
s: * OK /UIDVALIDITY (\d+)/
s: a1 OK
```

## case: pop-one
rfc: 1939 §5
level: SHOULD
```pop3
c: LIST
s: multiline +OK
s-line: /^1 \d+$/
```
)");
  ASSERT_EQ(s.cases.size(), 3u);
  const Case& c = s.cases[0];
  EXPECT_EQ(c.full_id(), "toy/one");
  EXPECT_EQ(c.rfc_numbers, (std::vector<std::string>{"5321", "2920"}));
  EXPECT_EQ(c.level, Level::must);
  EXPECT_EQ(c.level_text, "MUST NOT");
  EXPECT_EQ(c.requires_caps, (std::vector<std::string>{"PIPELINING", "!STARTTLS"}));
  EXPECT_EQ(c.setups, std::vector<std::string>{"hello"});
  EXPECT_EQ(c.steps.size(), 5u);
  EXPECT_EQ(s.setups.at("hello").size(), 3u);
  EXPECT_EQ(s.cases[1].protocol, Protocol::imap);
  EXPECT_EQ(s.cases[1].steps[1].kind, Step::Kind::unordered);
  EXPECT_EQ(s.cases[2].protocol, Protocol::pop3);
  EXPECT_EQ(s.cases[2].level, Level::should);
}

TEST(Parser, ErrorsNameTheLine) {
  Suite s;
  std::vector<LoadError> errors;
  EXPECT_FALSE(parse_transcript("## case: a\nrfc: 5321 §1\nlevel: MUST\n```smtp\ns: 250 nonsense\n```\n", "x.md", s, errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, 5);
  errors.clear();
  EXPECT_FALSE(parse_transcript("## case: b\nlevel: MUST\n```smtp\nc: X\n```\n", "x.md", s, errors));  // no rfc:
  errors.clear();
  EXPECT_FALSE(parse_transcript("## case: c\nrfc: 5321\nlevel: OFTEN\n```smtp\nc: X\n```\n", "x.md", s, errors));
  errors.clear();
  EXPECT_FALSE(parse_transcript("## case: d\nrfc: 5321\nlevel: MAY\n```smtp\nu: * 1 EXISTS\n```\n", "x.md", s, errors));
  errors.clear();
  EXPECT_FALSE(parse_transcript("## case: e\nrfc: 5321\nlevel: MAY\n```smtp\nc: X\n", "x.md", s, errors));  // open fence
}

// Regression (fuzz/conformance_transcript): a malformed `rfc:` line was reported, yet the
// case was kept with no RFC number, which the reports index cases by.
TEST(Parser, CaseWithoutAnRfcNumberIsNotKept) {
  Suite s;
  std::vector<LoadError> errors;
  EXPECT_FALSE(parse_transcript("## case: f\nrfc: see below\nlevel: MUST\n```smtp\nc: X\n```\n", "x.md", s, errors));
  EXPECT_EQ(errors.size(), 2u);  // the rfc: line, and the case that has none
  EXPECT_TRUE(s.cases.empty());
}

// ------------------------------------------------------------------ running

constexpr std::string_view kToySuite = R"(
## setup: ehlo
```smtp
s: 220
c: EHLO client.test
s: multiline 250
```

## case: noop
rfc: 5321 §4.1.1.9
level: MUST
setup: ehlo
```smtp
c: NOOP
s: 250
```

## case: data-354
rfc: 5321 §4.1.1.4
level: MUST
setup: ehlo
```smtp
c: MAIL FROM:<a@example.test>
s: 250
c: RCPT TO:<b@example.test>
s: 250
c: DATA
s: 354
```

## case: rcpt-without-mail
rfc: 5321 §4.1.4
level: MUST
setup: ehlo
```smtp
c: RCPT TO:<b@example.test>
s: 503
```

## case: chunking-only
rfc: 3030 §2
level: MUST
requires: CHUNKING
setup: ehlo
```smtp
c: BDAT 0 LAST
s: 503
```

## case: should-thing
rfc: 5321 §4.1.1.5
level: SHOULD
setup: ehlo
```smtp
c: RSET
s: any-of 250 251
capture: TEXT /(\S+)$/
c: NOOP {{TEXT}}
s: 250
s: none 10
```
)";

TEST(Run, AcceptAllToyIsFlagged) {
  const Suite s = parse_ok(kToySuite);
  ToyTarget toy(accept_all);
  const auto results = run_suite(s, Protocol::smtp, toy, opts(toy));
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[0].verdict, Verdict::pass);            // noop
  EXPECT_EQ(results[1].verdict, Verdict::fail);            // DATA answered 250, not 354
  EXPECT_EQ(results[1].expected, "354");
  EXPECT_NE(results[1].got.find("250 2.0.0 ok"), std::string::npos);
  EXPECT_FALSE(results[1].transcript.empty());
  EXPECT_EQ(results[2].verdict, Verdict::fail);            // RCPT without MAIL accepted
  EXPECT_EQ(results[3].verdict, Verdict::not_applicable);  // no CHUNKING advertised
  EXPECT_EQ(results[4].verdict, Verdict::pass);            // any-of, capture, template, none
  EXPECT_TRUE(any_must_failed(results));

  std::ostringstream table, summary, junit, json;
  print_table(table, results);
  print_summary(summary, results);
  write_junit(junit, results, "conformance.smtp");
  write_json(json, results, "toy");
  EXPECT_NE(table.str().find("FAIL    toy/data-354"), std::string::npos) << table.str();
  EXPECT_NE(summary.str().find("RFC 5321: 1/3 MUST, 1/1 SHOULD"), std::string::npos) << summary.str();
  EXPECT_NE(summary.str().find("RFC 3030: 1 n/a"), std::string::npos) << summary.str();
  EXPECT_NE(junit.str().find("failures=\"2\""), std::string::npos) << junit.str();
  EXPECT_NE(junit.str().find("<skipped"), std::string::npos);
  EXPECT_NE(json.str().find("\"verdict\": \"FAIL\""), std::string::npos);
}

TEST(Run, NoneAndCloseAreChecked) {
  const Suite s = parse_ok(R"(
## case: none-but-reply
rfc: 5321 §4.1.1.9
level: MUST
```smtp
s: 220
c: NOOP
s: none 10
```

## case: close-but-open
rfc: 5321 §4.1.1.10
level: MUST
```smtp
s: 220
c: QUIT
s: 221
s: close
```
)");
  ToyTarget toy([](const std::string& l) -> std::string { return l == "QUIT" ? "221 bye\r\n" : "250 ok\r\n"; });
  RunOptions o = opts(toy);
  const auto results = run_suite(s, Protocol::smtp, toy, o);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].verdict, Verdict::fail);
  EXPECT_EQ(results[1].verdict, Verdict::fail);  // the toy never hangs up after 221
  EXPECT_EQ(results[1].got, "the connection stays open");
}

TEST(Run, OnlySelectsByGlobOrSubstring) {
  const Suite s = parse_ok(kToySuite);
  ToyTarget toy(accept_all);
  RunOptions o = opts(toy);
  o.only = "toy/data*";
  EXPECT_EQ(run_suite(s, Protocol::smtp, toy, o).size(), 1u);
  o.only = "rcpt";
  EXPECT_EQ(run_suite(s, Protocol::smtp, toy, o).size(), 1u);
}

// The real SMTP suite against the toy: many MUSTs must fail (the suite can fail), and the
// same suite against our session in-process passes every MUST.
TEST(Run, RealSuiteFlagsTheToyAndPassesInproc) {
  Suite s;
  std::vector<LoadError> errors;
  ASSERT_TRUE(load_suite_dir(std::string(MAIL_CONFORMANCE_DIR) + "/smtp", s, errors))
      << (errors.empty() ? "" : errors[0].file + ":" + std::to_string(errors[0].line) + ": " + errors[0].message);
  ToyTarget toy(accept_all);
  const auto bad = run_suite(s, Protocol::smtp, toy, opts(toy));
  int must_failed = 0;
  for (const auto& r : bad) must_failed += r.c->level == Level::must && r.verdict == Verdict::fail;
  EXPECT_GE(must_failed, 20);
  EXPECT_TRUE(any_must_failed(bad));

  auto inproc = make_inproc_smtp_target();
  RunOptions o = opts(*inproc);
  o.reply_timeout = std::chrono::milliseconds(0);
  const auto good = run_suite(s, Protocol::smtp, *inproc, o);
  std::ostringstream table;
  print_table(table, good);
  EXPECT_FALSE(any_must_failed(good)) << table.str();
}

TEST(Targets, TcpRefusesNonLoopback) {
  std::string error;
  EXPECT_EQ(make_tcp_target("192.0.2.1:25", false, error), nullptr);
  EXPECT_NE(error.find("loopback"), std::string::npos);
  EXPECT_NE(make_tcp_target("127.0.0.1:25", false, error), nullptr);
  EXPECT_NE(make_tcp_target("[::1]:25", false, error), nullptr);
  EXPECT_NE(make_tcp_target("192.0.2.1:25", true, error), nullptr);
  EXPECT_EQ(make_tcp_target("nonsense", false, error), nullptr);
}

// ------------------------------------------------------------------ command line

std::string args_error(std::vector<std::string_view> args) {
  auto r = parse_conformance_args(args);
  return r ? "ok" : r.error().detail;
}

TEST(ConformanceArgs, Parsed) {
  auto r = parse_conformance_args({"--suite", "smtp", "--target", "inproc", "--timeout", "250", "--quiet"});
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->suite, "smtp");
  EXPECT_EQ(r->target, "inproc");
  EXPECT_EQ(r->timeout_ms, 250);
  EXPECT_TRUE(r->quiet);
  EXPECT_TRUE(parse_conformance_args({"--suite", "imap", "--list"}).ok());  // --list needs no target
  EXPECT_TRUE(parse_conformance_args({"--help"})->help);
}

// Each usage error is one line naming what is missing or wrong, not the whole usage.
TEST(ConformanceArgs, ErrorsNameWhatIsMissing) {
  EXPECT_EQ(args_error({"--suite", "smtp"}),
            "--target is missing (inproc, sim, or HOST:PORT; see `cloudsdial conformance --help`)");
  EXPECT_NE(args_error({"--suite", "all"}).find("--target is missing (smtp=HOST:PORT,"), std::string::npos);
  EXPECT_EQ(args_error({"--target", "inproc"}),
            "--suite is missing (smtp, imap, pop3 or all; see `cloudsdial conformance --help`)");
  EXPECT_EQ(args_error({}), "--suite is missing (smtp, imap, pop3 or all; see `cloudsdial conformance --help`)");
  EXPECT_EQ(args_error({"--suite", "smpt", "--target", "inproc"}),
            "--suite: unknown suite 'smpt': did you mean 'smtp'? (smtp, imap, pop3 or all)");
  EXPECT_EQ(args_error({"--suite", "smtp", "--tagret", "inproc"}),
            "unknown option '--tagret' (did you mean '--target'?); see `cloudsdial conformance --help`");
  EXPECT_EQ(args_error({"--suite", "smtp", "--target"}),
            "--target needs a value (see `cloudsdial conformance --help`)");
  EXPECT_EQ(args_error({"--suite", "smtp", "--target", "inproc", "--timeout", "0"}),
            "--timeout: 0 is smaller than 1; it wants milliseconds, 1..599999");
  EXPECT_EQ(args_error({"--suite", "smtp", "--target", "inproc", "--timeout", "5s"}),
            "--timeout: '5s' is not a number (decimal, or hex with 0x); it wants milliseconds, 1..599999");
  EXPECT_EQ(args_error({"--suite", "smtp", "--target", "inproc", "--user", "u"}),
            "--password is missing (--user goes with --password)");
  EXPECT_EQ(args_error({"--suite", "smtp", "--target", "inproc", "--tls", "--starttls"}),
            "--tls and --starttls exclude each other");
}

}  // namespace
}  // namespace mail::conformance
