// Verdict tests (issue 18): the level `advice` never counts as a MUST/SHOULD/MAY failure,
// `s: not` and `s: if` (a precondition: n/a when it does not hold), positive controls
// (`control:`: a refusal passes only when the valid form passed too) and prerequisites
// (`needs:`), a setup that cannot run is an ERROR and never a FAIL, a greeting slower than
// --timeout is an ERROR of the run, failures grouped by cause, and the real suite against a
// server whose EHLO reply is one line and against one that refuses everything.
#include <gtest/gtest.h>

#include <sstream>

#include "conformance/runner.h"
#include "conformance/targets.h"
#include "conformance/toy_test_util.h"
#include "conformance/transcript.h"

namespace mail::conformance {
namespace {

using test::parse_ok;

// Greets (unless `silent`), answers EHLO with one line, and every other line with answer().
class LineToyTarget final : public test::LineToyServer {
 public:
  using Answer = std::string (*)(const std::string& line);
  explicit LineToyTarget(Answer a, bool silent = false)
      : LineToyServer("line toy", silent ? "" : "220 toy.test ESMTP\r\n", [a](const std::string& line) {
          return line.rfind("EHLO", 0) == 0 ? std::string("250 toy.test\r\n") : a(line);
        }) {}
};

// Our in-process session, except that its multiline EHLO reply reaches the runner as one
// line ("250 mx.example.test"): a server that offers no extension (RFC 5321 §4.1.1.1).
class OneLineEhlo final : public Connection {
 public:
  explicit OneLineEhlo(std::unique_ptr<Connection> inner) : inner_(std::move(inner)) {}
  bool send(std::string_view bytes, std::string& error) override { return inner_->send(bytes, error); }
  Recv recv(std::string& buf, std::chrono::milliseconds timeout) override {
    const Recv rc = inner_->recv(raw_, timeout);
    for (std::size_t eol; (eol = raw_.find("\r\n")) != std::string::npos;) {
      const std::string line = raw_.substr(0, eol + 2);
      raw_.erase(0, eol + 2);
      if (!in_ehlo_ && line.rfind("250-mx.example.test", 0) == 0) {
        in_ehlo_ = true;
        buf += "250 mx.example.test\r\n";
      } else if (in_ehlo_) {
        in_ehlo_ = line.rfind("250-", 0) == 0;  // the keyword lines are dropped
      } else {
        buf += line;
      }
    }
    return rc == Recv::data && buf.empty() ? Recv::timeout : rc;
  }

 private:
  std::unique_ptr<Connection> inner_;
  std::string raw_;
  bool in_ehlo_ = false;
};

class OneLineEhloTarget final : public Target {
 public:
  OneLineEhloTarget() : inner_(make_inproc_smtp_target()) {}
  std::string describe() const override { return "inproc, one-line EHLO"; }
  std::unique_ptr<Connection> connect(std::string& error) override {
    auto c = inner_->connect(error);
    return c ? std::make_unique<OneLineEhlo>(std::move(c)) : nullptr;
  }

 private:
  std::unique_ptr<Target> inner_;
};

RunOptions quick() {
  RunOptions o;
  o.reply_timeout = std::chrono::milliseconds(30);
  return o;
}

const CaseResult& by_id(const std::vector<CaseResult>& results, const std::string& id) {
  for (const auto& r : results)
    if (r.c->id == id) return r;
  ADD_FAILURE() << "no result for " << id;
  return results.front();
}

std::string refuse_literal(const std::string& line) {
  return line.find("[") != std::string::npos ? "553 no literals\r\n" : "250 ok\r\n";
}
std::string refuse_all(const std::string& line) {
  if (line == "QUIT") return "221 bye\r\n";
  return line.rfind("MAIL", 0) == 0 ? "553 no\r\n" : "550 no\r\n";
}
std::string accept_all(const std::string&) { return "250 ok\r\n"; }

constexpr std::string_view kVerdictSuite = R"(
## case: valid-literal
rfc: 5321 §4.1.3
level: advice
quote: x
```smtp
s: 220
c: MAIL FROM:<a@[192.0.2.1]>
s: 250
```

## case: bad-literal
rfc: 5321 §4.1.3
level: advice
quote: x
control: toy/valid-literal
```smtp
s: 220
c: MAIL FROM:<a@[999.1.1.1]>
s: any-of 501 553
```

## case: not-250
rfc: 5321 §3.5.3
level: MUST NOT
control: none -- a test of the parser
```smtp
s: 220
c: VRFY unknown
s: not 250
```

## case: premise
rfc: 5321 §4.1.4
level: MUST
```smtp
s: 220
c: MAIL FROM:<a@example.org
s: if any-of 501 553
c: MAIL FROM:<a@example.org>
s: 250
```

## case: needs-literal
rfc: 5321 §4.1.3
level: MUST
needs: toy/valid-literal
```smtp
s: 220
c: NOOP
s: 252
```

## case: advice-fails
rfc: 5321 §4.1.1.9
level: advice
```smtp
s: 220
c: NOOP
s: 299
```

## case: in-setup
rfc: 5321 §3.3
level: MUST
setup: helo-refused
```smtp
c: NOOP
s: 250
```

## setup: helo-refused
```smtp
s: 220
c: HELO x.test
s: 250
c: MAIL FROM:<>
s: 250
```
)";

TEST(Verdicts, LevelsControlsNeedsAndPreconditions) {
  const Suite s = parse_ok(kVerdictSuite);
  EXPECT_EQ(s.cases[1].controls, std::vector<std::string>{"toy/valid-literal"});
  EXPECT_TRUE(s.cases[2].controls.empty());  // "none -- why"
  EXPECT_EQ(s.cases[5].level, Level::advice);

  // Refuses literals, valid or not: the refusal of [999.1.1.1] proves nothing (n/a), and
  // the case that needs a valid literal accepted does not apply.
  LineToyTarget refuser(refuse_literal);
  auto r = run_suite(s, Protocol::smtp, refuser, quick());
  EXPECT_EQ(by_id(r, "valid-literal").verdict, Verdict::fail);
  EXPECT_EQ(by_id(r, "bad-literal").verdict, Verdict::not_applicable);
  EXPECT_NE(by_id(r, "bad-literal").reason.find("positive control toy/valid-literal"), std::string::npos);
  EXPECT_EQ(by_id(r, "needs-literal").verdict, Verdict::not_applicable);
  EXPECT_EQ(by_id(r, "not-250").verdict, Verdict::fail);  // the toy says 250 to VRFY
  EXPECT_EQ(by_id(r, "premise").verdict, Verdict::not_applicable);  // the malformed path was taken
  EXPECT_NE(by_id(r, "premise").reason.find("precondition"), std::string::npos);
  EXPECT_EQ(by_id(r, "advice-fails").verdict, Verdict::fail);
  // The setup's MAIL <> was answered 250, then NOOP 250: the setup ran, the case passed.
  EXPECT_EQ(by_id(r, "in-setup").verdict, Verdict::pass);
  // FAILs of MUST NOT (not-250) count; an advice FAIL alone would not.
  EXPECT_TRUE(any_must_failed(r));
  std::ostringstream summary;
  print_summary(summary, r);
  EXPECT_NE(summary.str().find("advice"), std::string::npos) << summary.str();

  // Refuses everything (553 to MAIL): the refusal of the bad literal has the right code but
  // is n/a, because the valid literal is refused too; the setup that cannot run makes its
  // case an ERROR, not a FAIL.
  LineToyTarget wall(refuse_all);
  r = run_suite(s, Protocol::smtp, wall, quick());
  EXPECT_EQ(by_id(r, "bad-literal").verdict, Verdict::not_applicable);
  EXPECT_EQ(by_id(r, "not-250").verdict, Verdict::pass);
  EXPECT_EQ(by_id(r, "premise").verdict, Verdict::fail);  // refused as malformed, then the valid MAIL too
  EXPECT_EQ(by_id(r, "in-setup").verdict, Verdict::error);
  EXPECT_NE(by_id(r, "in-setup").reason.find("setup 'helo-refused' could not run"), std::string::npos);
}

TEST(Verdicts, SlowGreetingIsAnErrorOfTheRun) {
  const Suite s = parse_ok(kVerdictSuite);
  LineToyTarget mute(accept_all, /*silent=*/true);
  RunOptions o = quick();
  o.only = "toy/in-setup";
  auto r = run_suite(s, Protocol::smtp, mute, o);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].verdict, Verdict::error);
  EXPECT_NE(r[0].reason.find("no greeting within --timeout (30 ms)"), std::string::npos) << r[0].reason;
  o.only = "toy/not-250";
  r = run_suite(s, Protocol::smtp, mute, o);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].verdict, Verdict::error);
}

TEST(Verdicts, FailuresAreGroupedByCause) {
  const Suite s = parse_ok(R"(
## case: a
rfc: 5321 §4.1.1.5
level: MUST
```smtp
s: 220
c: RSET x
s: 501
```

## case: b
rfc: 5321 §4.1.1.10
level: SHOULD
```smtp
s: 220
c: QUIT x
s: 501
```
)");
  LineToyTarget toy(accept_all);
  const auto r = run_suite(s, Protocol::smtp, toy, quick());
  EXPECT_EQ(cause_of(r[0]), cause_of(r[1]));
  std::ostringstream out;
  print_causes(out, r);
  EXPECT_NE(out.str().find("2 cases: got `250 ok` where 501 was expected: toy/a (MUST), toy/b (SHOULD)"), std::string::npos) << out.str();
}

// One defect, one line: a 503 naming a different parameter in each case, where each case
// allows other refusal codes, is one cause; an acceptance where a refusal was due is not
// lumped with it.
TEST(Verdicts, RefusalsWithTheWrongCodeAreOneCause) {
  Case a, b, c;
  a.id = "a";
  b.id = "b";
  c.id = "c";
  auto failed = [](const Case& k, std::string expected, std::string got) {
    CaseResult r;
    r.c = &k;
    r.verdict = Verdict::fail;
    r.expected = std::move(expected);
    r.got = std::move(got);
    return r;
  };
  const auto ra = failed(a, "any of 501 504 555", "503 5.5.4 Unsupported option BODY=9BIT\\r\\n (code 503)");
  const auto rb = failed(b, "any of 501 552 555", "503 5.5.4 Unsupported option SIZE\\r\\n (code 503)");
  const auto rc = failed(c, "any of 501 555", "250 2.0.0 Ok\\r\\n (code 250)");
  EXPECT_EQ(cause_of(ra), cause_of(rb));
  EXPECT_EQ(cause_of(ra), "got `503 5.5.4 Unsupported option X` where another refusal code was expected");
  EXPECT_NE(cause_of(ra), cause_of(rc));
  EXPECT_EQ(cause_of(rc), "got `250 2.0.0 Ok` where any of 501 555 was expected");
  // Smuggling: the reply to the smuggled message names a different queue id each time.
  const auto rd = failed(a, "no reply", "got 250 2.0.0 Ok: queued as 15B2C4A2\\r\\n");
  const auto re = failed(b, "no reply", "got 250 2.0.0 Ok: queued as 90DF3A2\\r\\n");
  EXPECT_EQ(cause_of(rd), cause_of(re));
  EXPECT_EQ(cause_of(rd), "got `250 2.0.0 Ok: queued as ID` where no reply was expected");
}

Suite real_suite() {
  Suite s;
  std::vector<LoadError> errors;
  EXPECT_TRUE(load_suite_dir(std::string(MAIL_CONFORMANCE_DIR) + "/smtp", s, errors))
      << (errors.empty() ? "" : errors[0].file + ":" + std::to_string(errors[0].line) + ": " + errors[0].message);
  return s;
}

// RFC 5321 §4.1.1.1 allows a one-line EHLO reply. Our session with its EHLO cut to one line
// offers no extension: every extension case is n/a, and nothing fails or errs on a setup.
TEST(Verdicts, RealSuiteOnAOneLineEhloServer) {
  const Suite s = real_suite();
  OneLineEhloTarget target;
  RunOptions o;
  o.reply_timeout = std::chrono::milliseconds(0);
  std::string error;
  o.capabilities_known = probe_smtp_capabilities(target, o.reply_timeout, o.capabilities, error);
  ASSERT_TRUE(o.capabilities_known) << error;
  EXPECT_TRUE(o.capabilities.empty());
  const auto r = run_suite(s, Protocol::smtp, target, o);
  std::ostringstream table;
  print_table(table, r);
  int errors = 0, passes = 0;
  for (const auto& x : r) {
    errors += x.verdict == Verdict::error;
    passes += x.verdict == Verdict::pass;
    EXPECT_EQ(x.reason.find("setup"), std::string::npos) << x.c->full_id() << ": " << x.reason;
  }
  EXPECT_EQ(errors, 0) << table.str();
  EXPECT_GT(passes, 150);
  EXPECT_FALSE(any_must_failed(r)) << table.str();
}

// A server that refuses every command but QUIT: no refusal case with a positive control
// passes, so "refuses everything" is never conformance.
TEST(Verdicts, RealSuiteNeverCreditsAServerThatRefusesEverything) {
  const Suite s = real_suite();
  LineToyTarget wall(refuse_all);
  RunOptions o = quick();
  std::string error;
  o.capabilities_known = probe_smtp_capabilities(wall, o.reply_timeout, o.capabilities, error);
  const auto r = run_suite(s, Protocol::smtp, wall, o);
  int controlled = 0;
  for (const auto& x : r) {
    if (x.c->controls.empty()) continue;
    ++controlled;
    EXPECT_NE(x.verdict, Verdict::pass) << x.c->full_id();
  }
  EXPECT_GT(controlled, 50);
}

}  // namespace
}  // namespace mail::conformance
