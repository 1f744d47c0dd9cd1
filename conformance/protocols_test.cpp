// Runner tests for IMAP, POP3 and TLS: response framing (IMAP literals, POP3 dot-stuffing),
// unordered untagged responses, captures reused in later commands and regexes, and a
// `tls:` upgrade against an in-process SMTP toy that runs a real server-side TlsEngine —
// one that discards pipelined plaintext and one that executes it (CVE-2011-0411), which
// the suite's STARTTLS case must flag.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "conformance/imap_run.h"
#include "conformance/runner.h"
#include "conformance/toy_test_util.h"
#include "conformance/transcript.h"
#include "tls/context.h"
#include "tls/engine.h"
#include "tls/self_signed.h"

namespace mail::conformance {
namespace {

// A line-based toy server: greets, then answers each CRLF line with `answer(line)`.
class ScriptTarget final : public test::LineToyServer {
 public:
  ScriptTarget(std::string greeting, test::LineToyConnection::Answer a)
      : LineToyServer("script", std::move(greeting), std::move(a)) {}
};

Suite parse(std::string_view text) { return test::parse_ok(text, "t/proto.md"); }

RunOptions quick() {
  RunOptions o;
  o.reply_timeout = std::chrono::milliseconds(20);
  o.capabilities_known = true;
  return o;
}

// ------------------------------------------------------------------ IMAP

TEST(Imap, ResponseFramingFoldsLiterals) {
  std::string buf = "* 1 FETCH (BODY[] {5}\r\nab\r\nc)\r\n* 2 EXISTS\r\na1 OK done\r\n+ go\r\n";
  ImapResponse r;
  std::string error;
  ASSERT_EQ(take_imap_response(buf, r, error), 1);
  EXPECT_EQ(r.kind, ImapResponse::Kind::untagged);
  EXPECT_EQ(r.text, "* 1 FETCH (BODY[] {5}\r\nab\r\nc)");
  ASSERT_EQ(take_imap_response(buf, r, error), 1);
  EXPECT_EQ(r.text, "* 2 EXISTS");
  ASSERT_EQ(take_imap_response(buf, r, error), 1);
  EXPECT_EQ(r.kind, ImapResponse::Kind::tagged);
  EXPECT_EQ(r.tag, "a1");
  ASSERT_EQ(take_imap_response(buf, r, error), 1);
  EXPECT_EQ(r.kind, ImapResponse::Kind::continuation);
  buf = "* 1 FETCH (BODY[] {10}\r\nabc";
  EXPECT_EQ(take_imap_response(buf, r, error), 0);  // literal incomplete
  buf = "* OK bare\n";
  EXPECT_EQ(take_imap_response(buf, r, error), -1);
}

// Answers SELECT with its untagged data in a fixed order; FETCH with a literal.
std::string toy_imap(const std::string& line) {
  const std::string tag = line.substr(0, line.find(' '));
  if (line.find(" SELECT ") != std::string::npos)
    return "* OK [UIDVALIDITY 42] ok\r\n* 3 EXISTS\r\n* FLAGS (\\Seen)\r\n" + tag + " OK [READ-WRITE] done\r\n";
  if (line.find(" FETCH ") != std::string::npos) return "* 1 FETCH (UID 7 BODY[] {4}\r\nab\r\n)\r\n" + tag + " OK done\r\n";
  if (line.find(" UID ") != std::string::npos) return "* 1 FETCH (UID 7 FLAGS ())\r\n" + tag + " OK done\r\n";
  return tag + " BAD what\r\n";
}

TEST(Imap, UnorderedCapturesAndLiterals) {
  const Suite s = parse(R"(
## case: unordered
rfc: 9051 §6.3.2
level: MUST
```imap
s: * OK
c: a1 SELECT INBOX
u: * FLAGS (
u: * 3 EXISTS
u: * OK [UIDVALIDITY
s: a1 OK [READ-WRITE]
capture: V /UIDVALIDITY (\d+)/
c: a2 SELECT INBOX
u: * OK [UIDVALIDITY {{V}}]
s: a2 OK
```

## case: literal-and-uid
rfc: 9051 §7.5.2
level: MUST
```imap
s: * OK
c: a1 FETCH 1 (UID BODY[])
s: * 1 FETCH /BODY\[\] \{4\}\r\nab\r\n/
s: a1 OK
capture: UID /UID (\d+)/
c: a2 UID FETCH {{UID}} (FLAGS)
s: * 1 FETCH /UID {{UID}} /
s: a2 OK
```

## case: missing-untagged
rfc: 9051 §6.3.2
level: MUST
```imap
s: * OK
c: a1 SELECT INBOX
u: * FLAGS (
u: * 9 RECENT
s: a1 OK
```

## case: wrong-status
rfc: 9051 §7.1
level: MUST
```imap
s: * OK
c: a1 FROB
s: a1 OK
```
)");
  ScriptTarget t("* OK toy ready\r\n", toy_imap);
  const auto r = run_suite(s, Protocol::imap, t, quick());
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].verdict, Verdict::pass) << r[0].reason << " " << r[0].got;
  EXPECT_EQ(r[1].verdict, Verdict::pass) << r[1].reason << " " << r[1].got;
  EXPECT_EQ(r[2].verdict, Verdict::fail);
  EXPECT_NE(r[2].got.find("no such untagged response"), std::string::npos) << r[2].got;
  EXPECT_EQ(r[3].verdict, Verdict::fail);
  EXPECT_NE(r[3].got.find("status BAD"), std::string::npos) << r[3].got;
}

// `s: a2 OK|CLOSE` holds when the server closes instead of answering, and the case ends
// there as passed; a plain `s: a2 OK` fails on the same close. `s-lacks: /re/` fails when a
// response since the last command matches, holds when none does (captures expanded).
std::string toy_imap_closing(const std::string& line) {
  const std::string tag = line.substr(0, line.find(' '));
  if (line.find(" BIG") != std::string::npos) return tag + " NO [TOOBIG] too big\r\n";
  if (line.find(" BYE") != std::string::npos) return "* BYE going\r\n" + std::string(test::kToyClose);
  if (line.find(" LIST") != std::string::npos) return "* LIST () \"/\" box-7\r\n" + tag + " OK listed\r\n";
  return tag + " OK fine\r\n";
}

TEST(Imap, OkOrCloseAndLacksRegex) {
  const Suite s = parse(R"(
## case: close-allowed
rfc: 9051 §7.6
level: advice
```imap
s: * OK
c: a1 BIG
s: a1 NO|BAD /TOOBIG/
c: a2 BYE
s: a2 OK|CLOSE
c: a3 NOOP
s: a3 OK
```

## case: close-not-allowed
rfc: 9051 §7.6
level: advice
```imap
s: * OK
c: a2 BYE
s: a2 OK
```

## case: ok-when-open
rfc: 9051 §7.6
level: advice
```imap
s: * OK
c: a2 NOOP
s: a2 OK|CLOSE
c: a3 NOOP
s: a3 OK
```

## case: lacks-holds
rfc: 9051 §6.3.9
level: advice
```imap
s: * OK
c: a1 LIST "" "*"
s: a1 OK
capture: N /box-(\d)/
c: a2 NOOP
s: a2 OK
s-lacks: /^\* LIST/
s-lacks: /box-{{N}}/
```

## case: lacks-fails
rfc: 9051 §6.3.9
level: advice
```imap
s: * OK
c: a1 LIST "" "*"
s: a1 OK
capture: N /box-(\d)/
s-lacks: /box-{{N}}$/
```
)");
  ScriptTarget t("* OK toy ready\r\n", toy_imap_closing);
  const auto r = run_suite(s, Protocol::imap, t, quick());
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0].verdict, Verdict::pass) << r[0].reason << " " << r[0].got;
  EXPECT_EQ(r[1].verdict, Verdict::fail);
  EXPECT_NE(r[1].got.find("connection closed"), std::string::npos) << r[1].got;
  EXPECT_EQ(r[2].verdict, Verdict::pass) << r[2].reason << " " << r[2].got;
  EXPECT_EQ(r[3].verdict, Verdict::pass) << r[3].reason << " " << r[3].got;
  EXPECT_EQ(r[4].verdict, Verdict::fail);
  EXPECT_NE(r[4].expected.find("no response with"), std::string::npos) << r[4].expected;
}

// ------------------------------------------------------------------ POP3

TEST(Pop3, MultilineUnstuffsDots) {
  std::string buf = "+OK 2 messages\r\n1 10\r\n..dotted\r\n.\r\n-ERR no\r\n";
  Pop3Response r;
  std::string error;
  ASSERT_EQ(take_pop3_response(buf, true, r, error), 1);
  EXPECT_EQ(r.status, "+OK 2 messages");
  EXPECT_EQ(r.lines, (std::vector<std::string>{"1 10", ".dotted"}));
  ASSERT_EQ(take_pop3_response(buf, true, r, error), 1);  // -ERR has no body
  EXPECT_EQ(r.status, "-ERR no");
  EXPECT_TRUE(r.lines.empty());
  buf = "+OK\r\nline\r\n";
  EXPECT_EQ(take_pop3_response(buf, true, r, error), 0);
}

std::string toy_pop3(const std::string& line) {
  if (line == "UIDL 1") return "+OK 1 uid-abc\r\n";
  if (line == "UIDL") return "+OK\r\n1 uid-abc\r\n2 uid-def\r\n.\r\n";
  if (line == "RETR 1") return "+OK\r\nSubject: x\r\n\r\n.leading\r\n.\r\n";  // NOT stuffed: a bug
  return "-ERR unknown\r\n";
}

TEST(Pop3, CapturesLinesAndStuffing) {
  const Suite s = parse(R"(
## case: uidl
rfc: 1939 §7
level: MUST
```pop3
s: +OK
c: UIDL 1
s: +OK
capture: UID /^\+OK 1 (\S+)/
c: UIDL
s: multiline +OK
s-line: /^1 {{UID}}$/
s-lacks: 3
```

## case: retr-stuffed
rfc: 1939 §3
level: MUST
```pop3
s: +OK
c: RETR 1
s: multiline +OK
s-line: /^\.leading$/
```
)");
  ScriptTarget t("+OK toy\r\n", toy_pop3);
  const auto r = run_suite(s, Protocol::pop3, t, quick());
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].verdict, Verdict::pass) << r[0].reason << " " << r[0].got;
  // The toy forgot to byte-stuff ".leading", which the client then reads as "leading".
  EXPECT_EQ(r[1].verdict, Verdict::fail);
}

// RFC 1939 §4: "After returning a negative status indicator, the server may close the
// connection." `-ERR|close` makes such a close n/a (not a FAIL); a plain `-ERR` still fails
// on it, and `|close` does not excuse a wrong answer on an open connection.
TEST(Pop3, OrCloseMakesACloseAfterARefusedLoginNotApplicable) {
  const std::string steps = R"(
s: +OK
c: USER u
s: +OK
c: PASS wrong
s: -ERR
c: STAT
)";
  const Suite s = parse("## case: lenient\nrfc: 1939 §3\nlevel: MUST\n```pop3" + steps + "s: -ERR|close\n```\n\n" +
                        "## case: strict\nrfc: 1939 §3\nlevel: MUST\n```pop3" + steps + "s: -ERR\n```\n");
  // After the refused PASS the toy closes and answers nothing more (USER starts afresh:
  // each case is a new connection).
  auto closed = std::make_shared<bool>(false);
  ScriptTarget closes("+OK toy\r\n", [closed](const std::string& line) {
    if (line.starts_with("USER")) *closed = false;
    if (line.starts_with("PASS")) {
      *closed = true;
      return "-ERR no\r\n" + std::string(test::kToyClose);
    }
    return *closed ? std::string() : std::string("+OK\r\n");
  });
  const auto r = run_suite(s, Protocol::pop3, closes, quick());
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].verdict, Verdict::not_applicable) << r[0].reason << " " << r[0].got;
  EXPECT_EQ(r[1].verdict, Verdict::fail);
  // Open, but STAT answered in AUTHORIZATION: a FAIL whatever |close allows.
  ScriptTarget wrong("+OK toy\r\n", [](const std::string& line) {
    return line.starts_with("PASS") ? std::string("-ERR no\r\n") : std::string("+OK\r\n");
  });
  const auto w = run_suite(s, Protocol::pop3, wrong, quick());
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].verdict, Verdict::fail);
  EXPECT_EQ(w[1].verdict, Verdict::fail);
}

// A POP3 toy whose connections share one maildrop of two messages: DELE marks, QUIT in
// TRANSACTION removes what is marked. `buggy`: a dropped connection (the Connection
// destroyed without QUIT) removes the marked messages too, against RFC 1939 §6.
struct ToyMaildrop {
  int count = 2;
  bool buggy = false;
};
class Pop3DropConnection final : public Connection {
 public:
  explicit Pop3DropConnection(std::shared_ptr<ToyMaildrop> m) : m_(std::move(m)) { out_ = "+OK toy\r\n"; }
  ~Pop3DropConnection() override {
    if (!quit_ && m_->buggy) m_->count -= marked_;
  }
  Pop3DropConnection(const Pop3DropConnection&) = delete;
  Pop3DropConnection& operator=(const Pop3DropConnection&) = delete;
  bool send(std::string_view bytes, std::string&) override {
    in_ += bytes;
    for (std::size_t eol; (eol = in_.find("\r\n")) != std::string::npos;) {
      const std::string line = in_.substr(0, eol);
      in_.erase(0, eol + 2);
      if (line == "STAT") out_ += "+OK " + std::to_string(m_->count - marked_) + " 100\r\n";
      else if (line == "DELE 1") {
        marked_ = 1;
        out_ += "+OK\r\n";
      } else if (line == "QUIT") {
        quit_ = true;
        m_->count -= marked_;
        out_ += "+OK bye\r\n";
      } else out_ += "+OK\r\n";  // USER, PASS
    }
    return true;
  }
  Recv recv(std::string& buf, std::chrono::milliseconds) override {
    if (out_.empty()) return quit_ ? Recv::eof : Recv::timeout;
    buf += out_;
    out_.clear();
    return Recv::data;
  }

 private:
  std::shared_ptr<ToyMaildrop> m_;
  std::string in_, out_;
  int marked_ = 0;
  bool quit_ = false;
};
class Pop3DropTarget final : public Target {
 public:
  explicit Pop3DropTarget(bool buggy) : m_(std::make_shared<ToyMaildrop>()) { m_->buggy = buggy; }
  std::string describe() const override { return "pop3 drop toy"; }
  std::unique_ptr<Connection> connect(std::string&) override {
    ++connects;
    return std::make_unique<Pop3DropConnection>(m_);
  }
  int connects = 0;

 private:
  std::shared_ptr<ToyMaildrop> m_;
};

// RFC 1939 §6: `reconnect:` drops the connection without QUIT and opens a new one to the
// same target; the captured drop listing carries over. Only the toy that deletes on a drop
// fails.
TEST(Pop3, ReconnectSeesWhatADroppedConnectionDeleted) {
  const Suite s = parse(R"(
## case: dropped-connection-deletes-nothing
rfc: 1939 §6
level: MUST
```pop3
s: +OK
c: USER u
s: +OK
c: PASS p
s: +OK
c: STAT
s: +OK
capture: DROP /^\+OK (\d+ \d+)/
c: DELE 1
s: +OK
reconnect: 0
s: +OK
c: USER u
s: +OK
c: PASS p
s: +OK
c: STAT
s: +OK /^\+OK {{DROP}}$/
```
)");
  Pop3DropTarget good(false), buggy(true);
  const auto ok = run_suite(s, Protocol::pop3, good, quick());
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].verdict, Verdict::pass) << ok[0].reason << " " << ok[0].got;
  EXPECT_EQ(good.connects, 2);
  const auto bad = run_suite(s, Protocol::pop3, buggy, quick());
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0].verdict, Verdict::fail);
  EXPECT_NE(bad[0].got.find("+OK 1 100"), std::string::npos) << bad[0].got;
}

TEST(Pop3, ReconnectArgumentIsMilliseconds) {
  Suite s;
  std::vector<LoadError> errors;
  EXPECT_FALSE(parse_transcript("## case: x\nrfc: 1939 §6\nlevel: MUST\n```pop3\nreconnect: soon\n```\n", "t/x.md", s, errors));
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors[0].message.find("reconnect: [MILLISECONDS]"), std::string::npos) << errors[0].message;
  const Suite ok = parse("## case: y\nrfc: 1939 §6\nlevel: MUST\n```pop3\nreconnect: 15\nreconnect:\n```\n");
  ASSERT_EQ(ok.cases.size(), 1u);
  ASSERT_EQ(ok.cases[0].steps.size(), 2u);
  EXPECT_EQ(ok.cases[0].steps[0].wait_ms, 15);
  EXPECT_EQ(ok.cases[0].steps[1].wait_ms, 200);
}

// ------------------------------------------------------------------ TLS upgrade

// An SMTP toy with STARTTLS over a real server-side TlsEngine (self-signed certificate).
// `vulnerable`: plaintext pipelined after STARTTLS is kept and executed inside TLS.
class TlsToyConnection final : public Connection {
 public:
  TlsToyConnection(tls::TlsContext& ctx, bool vulnerable) : ctx_(ctx), vulnerable_(vulnerable) {
    out_ = "220 toy ESMTP\r\n";
  }
  bool send(std::string_view bytes, std::string&) override {
    if (!engine_) {
      plain_in_ += bytes;
      lines();
      return true;
    }
    (void)engine_->feed_ciphertext(bytes);
    pump();
    return true;
  }
  Recv recv(std::string& buf, std::chrono::milliseconds) override {
    if (out_.empty()) return closed_ ? Recv::eof : Recv::timeout;
    buf += out_;
    out_.clear();
    return Recv::data;
  }

 private:
  void reply(const std::string& r) {
    if (!engine_) {
      out_ += r;
      return;
    }
    (void)engine_->write_plaintext(r);
    out_ += engine_->poll_ciphertext();
  }
  void lines() {
    for (std::size_t eol; (eol = plain_in_.find("\r\n")) != std::string::npos;) {
      const std::string line = plain_in_.substr(0, eol);
      plain_in_.erase(0, eol + 2);
      if (line.rfind("EHLO", 0) == 0) {
        reply(engine_ ? "250-toy\r\n250 PIPELINING\r\n" : "250-toy\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
      } else if (line == "STARTTLS" && !engine_) {
        reply("220 go ahead\r\n");
        engine_ = std::make_unique<tls::TlsEngine>(ctx_, tls::Role::server);
        if (!vulnerable_) plain_in_.clear();  // what a correct server does
        return;                                 // a vulnerable one keeps it for later
      } else {
        reply("250 ok\r\n");
      }
    }
  }
  void pump() {
    out_ += engine_->poll_ciphertext();
    if (engine_->failed()) {
      closed_ = true;
      return;
    }
    if (engine_->handshake_done() && !started_) {
      started_ = true;
      lines();  // the vulnerable toy now answers what it kept from before the handshake
    }
    plain_in_ += engine_->poll_plaintext();
    if (started_) lines();
    out_ += engine_->poll_ciphertext();
  }

  tls::TlsContext& ctx_;
  bool vulnerable_;
  std::unique_ptr<tls::TlsEngine> engine_;
  bool started_ = false;
  bool closed_ = false;
  std::string plain_in_, out_;
};

class TlsToyTarget final : public Target {
 public:
  explicit TlsToyTarget(bool vulnerable) : vulnerable_(vulnerable) {
    auto pair = tls::generate_self_signed("toy.example.test", WallTime{1'767'225'600'000'000});
    EXPECT_TRUE(pair.ok());
    tls::TlsConfig cfg;
    cfg.cert_chain_pem = pair->cert_pem;
    cfg.key_pem = pair->key_pem;
    auto ctx = tls::TlsContext::create(tls::Role::server, cfg);
    EXPECT_TRUE(ctx.ok());
    ctx_ = std::move(*ctx);
  }
  std::string describe() const override { return "tls toy"; }
  std::unique_ptr<Connection> connect(std::string&) override { return std::make_unique<TlsToyConnection>(*ctx_, vulnerable_); }

 private:
  bool vulnerable_;
  std::unique_ptr<tls::TlsContext> ctx_;
};

constexpr std::string_view kTlsSuite = R"(
## case: upgrade
rfc: 3207 §4.2
level: MUST
requires: STARTTLS
```smtp
s: 220
c: EHLO me
s: multiline 250
c: STARTTLS
s: 220
tls:
c: EHLO me
s: multiline 250
s-lacks: STARTTLS
c: NOOP
s: 250
```

## case: injection
rfc: 3207 §4.2
level: MUST
requires: STARTTLS
```smtp
s: 220
c: EHLO me
s: multiline 250
c-raw: STARTTLS\r\nNOOP\r\n
s: 220
tls: or-close
s: none 50
```
)";

TEST(Tls, UpgradeAndInjection) {
  const Suite s = parse(kTlsSuite);
  RunOptions o = quick();
  o.reply_timeout = std::chrono::milliseconds(200);
  o.capabilities = {"STARTTLS", "PIPELINING"};
  o.tls_server_name = "toy.example.test";
  TlsToyTarget good(false), bad(true);
  const auto r = run_suite(s, Protocol::smtp, good, o);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].verdict, Verdict::pass) << r[0].reason << " " << r[0].expected << " " << r[0].got;
  EXPECT_EQ(r[1].verdict, Verdict::pass) << r[1].reason << " " << r[1].got;
  const auto v = run_suite(s, Protocol::smtp, bad, o);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1].verdict, Verdict::fail);  // the pipelined NOOP is answered inside TLS
  EXPECT_NE(v[1].got.find("250 ok"), std::string::npos) << v[1].got;
}

}  // namespace
}  // namespace mail::conformance
