// Tests of the DSN renderer (dsn.h): every RFC 3464 §2.2 / §2.3 field we emit, the RFC 3461
// §6 rules (ENVID, ORCPT, RET), the RFC 6522 multipart/report shape, RFC 6533 §3
// utf-8-addr-xtext, folding and sanitising of peer text; an independent check with Python's
// email package (tests/tools/check_dsn.py); and a RapidCheck property over hostile input.
#include "proto/message/dsn.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "proto/smtp/received.h"

using namespace mail;
using namespace mail::message;

namespace {

constexpr std::int64_t kArrival = 1'796'000'000'000'000;  // 2026-11-30 (microseconds)

DsnRecipientReport failed_rcpt() {
  DsnRecipientReport r;
  r.final_recipient = "bob@b.test";
  r.action = DsnAction::failed;
  r.status = "5.1.1";
  r.remote_mta = "mx.b.test";
  r.diagnostic = "550 5.1.1 <bob@b.test>: Recipient address rejected: User unknown";
  r.last_attempt = WallTime{kArrival + 60'000'000};
  return r;
}

DsnInput sample() {
  DsnInput in;
  in.reporting_mta = "mx.a.test";
  in.to = "alice@a.test";
  in.received_from = "client.a.test ([192.0.2.7])";
  in.arrival = WallTime{kArrival};
  in.now = WallTime{kArrival + 120'000'000};
  in.recipients = {failed_rcpt()};
  in.original =
      "From: alice@a.test\r\nTo: bob@b.test\r\nSubject: hello\r\nMessage-ID: <m1@a.test>\r\n\r\n"
      "The body line.\r\nSecond body line.\r\n";
  in.message_id = "dsn.1@mx.a.test";
  in.boundary = "dsn-boundary-1";
  return in;
}

// --- a tiny MIME reader, independent of the renderer ---------------------------------

using Fields = std::vector<std::pair<std::string, std::string>>;

// Header-like block -> fields, unfolded (RFC 5322 §2.2.3: remove CRLF before WSP).
Fields parse_fields(std::string_view block) {
  Fields out;
  std::size_t pos = 0;
  while (pos < block.size()) {
    std::size_t eol = block.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = block.size();
    const std::string_view line = block.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.empty()) continue;
    if ((line[0] == ' ' || line[0] == '\t') && !out.empty()) {
      out.back().second.append(line);
      continue;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      out.emplace_back("<garbage>", std::string(line));
      continue;
    }
    std::string value(line.substr(colon + 1));
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    out.emplace_back(std::string(line.substr(0, colon)), value);
  }
  return out;
}

std::optional<std::string> field(const Fields& f, std::string_view name) {
  for (const auto& [n, v] : f) {
    if (n == name) return v;
  }
  return std::nullopt;
}

int count(const Fields& f, std::string_view name) {
  int c = 0;
  for (const auto& [n, v] : f) c += n == name ? 1 : 0;
  return c;
}

struct Part {
  Fields headers;
  std::string body;
};

struct Dsn {
  Fields headers;
  std::vector<Part> parts;
  Fields per_message;
  std::vector<Fields> per_recipient;
};

Part split_entity(std::string_view e) {
  Part p;
  const std::size_t blank = e.find("\r\n\r\n");
  if (blank == std::string_view::npos) {
    p.headers = parse_fields(e);
    return p;
  }
  p.headers = parse_fields(e.substr(0, blank + 2));
  p.body = std::string(e.substr(blank + 4));
  return p;
}

Dsn parse(std::string_view msg) {
  Dsn d;
  const Part top = split_entity(msg);
  d.headers = top.headers;
  const std::string ct = field(top.headers, "Content-Type").value_or("");
  const std::size_t b = ct.find("boundary=\"");
  if (b == std::string::npos) return d;
  const std::string boundary = ct.substr(b + 10, ct.find('"', b + 10) - (b + 10));
  const std::string delim = "\r\n--" + boundary;
  std::string body = "\r\n" + top.body;
  std::size_t pos = body.find(delim);
  while (pos != std::string::npos) {
    std::size_t start = pos + delim.size();
    if (body.compare(start, 2, "--") == 0) break;
    start += 2;  // CRLF after the delimiter
    const std::size_t next = body.find(delim, start);
    if (next == std::string::npos) break;
    d.parts.push_back(split_entity(std::string_view(body).substr(start, next - start)));
    pos = next;
  }
  if (d.parts.size() >= 2) {
    // message/delivery-status: groups separated by blank lines (RFC 3464 §2.1).
    const std::string& s = d.parts[1].body;
    std::size_t p = 0;
    std::vector<Fields> groups;
    while (p < s.size()) {
      std::size_t end = s.find("\r\n\r\n", p);
      if (end == std::string::npos) end = s.size();
      else end += 2;
      const auto f = parse_fields(std::string_view(s).substr(p, end - p));
      if (!f.empty()) groups.push_back(f);
      p = end + (end < s.size() ? 2 : 0);
    }
    if (!groups.empty()) {
      d.per_message = groups.front();
      d.per_recipient.assign(groups.begin() + 1, groups.end());
    }
  }
  return d;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t eol = s.find("\r\n", pos);
    if (eol == std::string::npos) eol = s.size();
    out.push_back(s.substr(pos, eol - pos));
    pos = eol + 2;
  }
  return out;
}

// Every line end is CRLF (no bare CR or LF) and no line exceeds 998 octets.
::testing::AssertionResult wire_clean(const std::string& s) {
  if (s.size() < 2 || s.compare(s.size() - 2, 2, "\r\n") != 0) return ::testing::AssertionFailure() << "no final CRLF";
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      if (i + 1 >= s.size() || s[i + 1] != '\n') return ::testing::AssertionFailure() << "bare CR at " << i;
      ++i;
      run = 0;
    } else if (s[i] == '\n') {
      return ::testing::AssertionFailure() << "bare LF at " << i;
    } else if (++run > 998) {
      return ::testing::AssertionFailure() << "line over 998 at " << i;
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace

// --- headers --------------------------------------------------------------------------

TEST(Rfc6522_3, TopLevelHeadersOfAFailureReport) {
  const std::string out = render_dsn(sample());
  const Dsn d = parse(out);
  EXPECT_EQ(field(d.headers, "From"), "Mail Delivery System <MAILER-DAEMON@mx.a.test>");
  EXPECT_EQ(field(d.headers, "To"), "<alice@a.test>");
  EXPECT_EQ(field(d.headers, "Subject"), "Undelivered Mail Returned to Sender");
  EXPECT_EQ(field(d.headers, "Date"), smtp::format_date_time(WallTime{kArrival + 120'000'000}));
  EXPECT_EQ(field(d.headers, "Message-ID"), "<dsn.1@mx.a.test>");
  EXPECT_EQ(field(d.headers, "Auto-Submitted"), "auto-replied");  // RFC 3834 §5
  EXPECT_EQ(field(d.headers, "MIME-Version"), "1.0");
  EXPECT_EQ(field(d.headers, "Content-Type"),
            "multipart/report; report-type=delivery-status;\tboundary=\"dsn-boundary-1\"");
  EXPECT_EQ(field(d.headers, "Content-Transfer-Encoding"), "7bit");
  ASSERT_EQ(d.parts.size(), 3u);
  EXPECT_EQ(field(d.parts[0].headers, "Content-Type"), "text/plain; charset=us-ascii");
  EXPECT_EQ(field(d.parts[1].headers, "Content-Type"), "message/delivery-status");
  EXPECT_EQ(field(d.parts[2].headers, "Content-Type"), "text/rfc822-headers");
  EXPECT_TRUE(wire_clean(out));
}

TEST(Rfc6522_3, SubjectFollowsTheWorstAction) {
  DsnInput in = sample();
  in.recipients[0].action = DsnAction::delayed;
  in.recipients[0].status = "4.4.1";
  EXPECT_EQ(field(parse(render_dsn(in)).headers, "Subject"), "Delayed Mail (still being retried)");
  in.recipients[0].action = DsnAction::delivered;
  in.recipients[0].status = "2.0.0";
  EXPECT_EQ(field(parse(render_dsn(in)).headers, "Subject"), "Successful Mail Delivery Report");
  in.recipients.push_back(failed_rcpt());
  EXPECT_EQ(field(parse(render_dsn(in)).headers, "Subject"), "Undelivered Mail Returned to Sender");
}

// --- RFC 3464 §2.2 per-message fields --------------------------------------------------

TEST(Rfc3464_2_2, PerMessageFields) {
  const Dsn d = parse(render_dsn(sample()));
  EXPECT_EQ(field(d.per_message, "Reporting-MTA"), "dns; mx.a.test");                        // §2.2.2
  EXPECT_EQ(field(d.per_message, "Received-From-MTA"), "dns; client.a.test ([192.0.2.7])");  // §2.2.4
  EXPECT_EQ(field(d.per_message, "Arrival-Date"), smtp::format_date_time(WallTime{kArrival}));  // §2.2.5
  EXPECT_FALSE(field(d.per_message, "Original-Envelope-Id").has_value());  // RFC 3461 §6.3(a): MUST NOT
  EXPECT_FALSE(field(d.per_message, "DSN-Gateway").has_value());
}

TEST(Rfc3461_6_3_a, EnvidBecomesOriginalEnvelopeId) {
  DsnInput in = sample();
  in.envid = "QQ314159 x=y";  // decoded already: no xtext here (RFC 3461 §6.3(a))
  const Dsn d = parse(render_dsn(in));
  EXPECT_EQ(field(d.per_message, "Original-Envelope-Id"), "QQ314159 x=y");
  EXPECT_EQ(d.per_message.front().first, "Original-Envelope-Id");  // listed first, as in RFC 3464 §2.2
}

TEST(Rfc3464_2_2_4, NoReceivedFromMtaWhenUnknown) {
  DsnInput in = sample();
  in.received_from.clear();
  EXPECT_FALSE(field(parse(render_dsn(in)).per_message, "Received-From-MTA").has_value());
}

// --- RFC 3464 §2.3 per-recipient fields ------------------------------------------------

TEST(Rfc3464_2_3, PerRecipientFieldsOfAFailure) {
  const Dsn d = parse(render_dsn(sample()));
  ASSERT_EQ(d.per_recipient.size(), 1u);
  const Fields& r = d.per_recipient[0];
  EXPECT_FALSE(field(r, "Original-Recipient").has_value());  // RFC 3461 §6.3(d): MUST NOT without ORCPT
  EXPECT_EQ(field(r, "Final-Recipient"), "rfc822; bob@b.test");  // §2.3.2
  EXPECT_EQ(field(r, "Action"), "failed");                        // §2.3.3
  EXPECT_EQ(field(r, "Status"), "5.1.1");                         // §2.3.4
  EXPECT_EQ(field(r, "Remote-MTA"), "dns; mx.b.test");            // §2.3.5
  EXPECT_EQ(field(r, "Diagnostic-Code"),
            "smtp; 550 5.1.1 <bob@b.test>: Recipient address rejected: User unknown");  // §2.3.6
  EXPECT_EQ(field(r, "Last-Attempt-Date"), smtp::format_date_time(WallTime{kArrival + 60'000'000}));  // §2.3.7
  EXPECT_FALSE(field(r, "Will-Retry-Until").has_value());  // §2.3.9: delayed only
}

TEST(Rfc3461_6_3_d, OrcptBecomesOriginalRecipient) {
  DsnInput in = sample();
  in.recipients[0].original_recipient = "rfc822;Bob@B.test";
  const Fields r = parse(render_dsn(in)).per_recipient.at(0);
  EXPECT_EQ(field(r, "Original-Recipient"), "rfc822; Bob@B.test");
  EXPECT_EQ(r.front().first, "Original-Recipient");
}

TEST(Rfc3464_2_3_9, DelayedReportCarriesWillRetryUntil) {
  DsnInput in = sample();
  auto& r = in.recipients[0];
  r.action = DsnAction::delayed;
  r.status = "4.4.1";
  r.diagnostic = "421 4.4.1 try later";
  r.will_retry_until = WallTime{kArrival + 5LL * 86'400'000'000};
  const Fields f = parse(render_dsn(in)).per_recipient.at(0);
  EXPECT_EQ(field(f, "Action"), "delayed");
  EXPECT_EQ(field(f, "Will-Retry-Until"), smtp::format_date_time(*r.will_retry_until));
  // The same time on a failed recipient is not reported (§2.3.9 is for delays).
  r.action = DsnAction::failed;
  EXPECT_FALSE(field(parse(render_dsn(in)).per_recipient.at(0), "Will-Retry-Until").has_value());
}

TEST(Rfc3464_2_3, OptionalFieldsAbsentWhenEmpty) {
  DsnInput in = sample();
  in.recipients[0].remote_mta.clear();
  in.recipients[0].diagnostic.clear();
  in.recipients[0].last_attempt.reset();
  const Fields r = parse(render_dsn(in)).per_recipient.at(0);
  EXPECT_FALSE(field(r, "Remote-MTA").has_value());
  EXPECT_FALSE(field(r, "Diagnostic-Code").has_value());
  EXPECT_FALSE(field(r, "Last-Attempt-Date").has_value());
  EXPECT_EQ(r.size(), 3u);  // Final-Recipient, Action, Status
}

TEST(Rfc3464_2_3, MultipleRecipientsWithDifferentActionsInOrder) {
  DsnInput in = sample();
  DsnRecipientReport delayed = failed_rcpt();
  delayed.final_recipient = "carol@c.test";
  delayed.original_recipient = "rfc822;carol@c.test";
  delayed.action = DsnAction::delayed;
  delayed.status = "4.7.1";
  delayed.remote_mta = "mx.c.test";
  delayed.diagnostic = "450 4.7.1 greylisted";
  DsnRecipientReport delivered;
  delivered.final_recipient = "dave@d.test";
  delivered.action = DsnAction::delivered;
  delivered.status = "2.0.0";
  delivered.remote_mta = "mx.d.test";
  delivered.diagnostic = "250 2.0.0 Ok: queued as 4F1";
  DsnRecipientReport relayed = delivered;
  relayed.final_recipient = "erin@e.test";
  relayed.action = DsnAction::relayed;
  in.recipients = {failed_rcpt(), delayed, delivered, relayed};
  const Dsn d = parse(render_dsn(in));
  ASSERT_EQ(d.per_recipient.size(), 4u);
  const char* want[][3] = {{"rfc822; bob@b.test", "failed", "5.1.1"},
                           {"rfc822; carol@c.test", "delayed", "4.7.1"},
                           {"rfc822; dave@d.test", "delivered", "2.0.0"},
                           {"rfc822; erin@e.test", "relayed", "2.0.0"}};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(field(d.per_recipient[i], "Final-Recipient"), want[i][0]) << i;
    EXPECT_EQ(field(d.per_recipient[i], "Action"), want[i][1]) << i;
    EXPECT_EQ(field(d.per_recipient[i], "Status"), want[i][2]) << i;
  }
  EXPECT_EQ(field(d.per_recipient[1], "Original-Recipient"), "rfc822; carol@c.test");
  EXPECT_FALSE(field(d.per_recipient[0], "Original-Recipient").has_value());
  // The human part names every recipient.
  for (const char* a : {"bob@b.test: delivery failed", "carol@c.test: delivery delayed", "dave@d.test: delivered",
                        "erin@e.test: relayed"}) {
    EXPECT_NE(d.parts[0].body.find(a), std::string::npos) << a;
  }
}

// --- returned content (RFC 3461 §6.2, RFC 6522 §4) -------------------------------------

TEST(Rfc3461_6_2, RetHdrsReturnsTheHeaderSectionOnly) {
  const Dsn d = parse(render_dsn(sample()));
  ASSERT_EQ(d.parts.size(), 3u);
  EXPECT_EQ(field(d.parts[2].headers, "Content-Type"), "text/rfc822-headers");
  EXPECT_EQ(d.parts[2].body, "From: alice@a.test\r\nTo: bob@b.test\r\nSubject: hello\r\nMessage-ID: <m1@a.test>\r\n");
}

TEST(Rfc3461_6_2, RetFullReturnsTheWholeMessageForFailures) {
  DsnInput in = sample();
  in.return_full = true;
  const Dsn d = parse(render_dsn(in));
  EXPECT_EQ(field(d.parts[2].headers, "Content-Type"), "message/rfc822");
  EXPECT_EQ(field(d.parts[2].headers, "Content-Transfer-Encoding"), "7bit");
  EXPECT_EQ(d.parts[2].body, std::string(in.original));
}

TEST(Rfc3461_6_2, RetFullStillReturnsHeadersForDelayAndSuccess) {
  DsnInput in = sample();
  in.return_full = true;
  in.recipients[0].action = DsnAction::delayed;
  in.recipients[0].status = "4.0.0";
  const Dsn d = parse(render_dsn(in));
  EXPECT_EQ(field(d.parts[2].headers, "Content-Type"), "text/rfc822-headers");
  EXPECT_EQ(d.parts[2].body.find("The body line."), std::string::npos);
}

TEST(Rfc3461_6_2, OversizedOriginalIsReturnedAsHeadersAndTheTextSaysSo) {
  DsnInput in = sample();
  in.return_full = true;
  in.max_return_bytes = 20;
  const Dsn d = parse(render_dsn(in));
  EXPECT_EQ(field(d.parts[2].headers, "Content-Type"), "text/rfc822-headers");
  EXPECT_NE(d.parts[0].body.find("too large to return in full"), std::string::npos);
  EXPECT_EQ(parse(render_dsn(sample())).parts[0].body.find("too large"), std::string::npos);
}

TEST(Rfc2046_5_2_1, EightBitOriginalIsLabelled8bit) {
  DsnInput in = sample();
  in.return_full = true;
  const std::string orig = "Subject: caf\xC3\xA9\r\n\r\nna\xC3\xAFve body\r\n";
  in.original = orig;
  const std::string out = render_dsn(in);
  const Dsn d = parse(out);
  EXPECT_EQ(field(d.parts[2].headers, "Content-Transfer-Encoding"), "8bit");
  EXPECT_EQ(field(d.headers, "Content-Transfer-Encoding"), "8bit");  // RFC 2045 §6.4
  EXPECT_EQ(d.parts[2].body, orig);
  // Only the returned part holds 8-bit octets.
  const std::size_t third = out.find("Content-Type: message/rfc822");
  ASSERT_NE(third, std::string::npos);
  for (std::size_t i = 0; i < third; ++i) ASSERT_LT(static_cast<unsigned char>(out[i]), 0x80u) << i;
}

TEST(Rfc6522_4, EmptyOriginalGivesAnEmptyHeadersPart) {
  DsnInput in = sample();
  in.original = {};
  const Dsn d = parse(render_dsn(in));
  ASSERT_EQ(d.parts.size(), 3u);
  EXPECT_EQ(d.parts[2].body, "");
}

TEST(Rfc2046_5_1_1, BoundaryOccurringInTheOriginalIsLengthened) {
  DsnInput in = sample();
  in.return_full = true;
  const std::string orig = "Subject: x\r\n\r\n--dsn-boundary-1\r\n--dsn-boundary-1=_1--\r\n";
  in.original = orig;
  const std::string out = render_dsn(in);
  const Dsn d = parse(out);
  EXPECT_NE(field(d.headers, "Content-Type")->find("boundary=\"dsn-boundary-1=_2\""), std::string::npos);
  ASSERT_EQ(d.parts.size(), 3u);
  EXPECT_EQ(d.parts[2].body, orig);
}

TEST(Rfc5322_2_1_1, BareLineEndsInTheOriginalBecomeCrlf) {
  DsnInput in = sample();
  in.original = "Subject: x\nX-A: y\r\rX-B: z\r\n\r\nbody\n";
  const std::string out = render_dsn(in);
  EXPECT_TRUE(wire_clean(out));
  // A bare CR ends a line too, so "\r\r" is the empty line that ends the header section.
  EXPECT_EQ(parse(out).parts[2].body, "Subject: x\r\nX-A: y\r\n");
}

// --- peer text: folding and sanitising -------------------------------------------------

TEST(Rfc5322_2_1_1, LongDiagnosticIsFoldedWithinLineLimits) {
  DsnInput in = sample();
  std::string diag = "550 5.7.1";
  for (int i = 0; i < 150; ++i) diag.append(" word").append(std::to_string(i));
  in.recipients[0].diagnostic = diag;
  const std::string out = render_dsn(in);
  EXPECT_TRUE(wire_clean(out));
  for (const auto& l : lines_of(out)) EXPECT_LE(l.size(), 78u) << l;
  EXPECT_EQ(field(parse(out).per_recipient.at(0), "Diagnostic-Code"), "smtp; " + diag);
}

TEST(Rfc5322_2_1_1, DiagnosticWithoutSpacesIsCutBelow998) {
  DsnInput in = sample();
  in.recipients[0].diagnostic = std::string("550 ").append(5000, 'x');
  in.recipients[0].remote_mta = std::string(400, 'h');
  const std::string out = render_dsn(in);
  EXPECT_TRUE(wire_clean(out));
  const auto diag = field(parse(out).per_recipient.at(0), "Diagnostic-Code");
  ASSERT_TRUE(diag.has_value());
  EXPECT_LT(diag->size(), 2100u);  // capped at 2000 octets of text
  EXPECT_GT(diag->size(), 1000u);  // but not dropped
}

TEST(Rfc3464_2_3_6, ControlCharactersInADiagnosticCannotInjectFields) {
  DsnInput in = sample();
  static constexpr char kDiag[] = "550 no\r\nAction: delivered\r\n\r\nX-Evil: 1\0\x80\xFF end";
  in.recipients[0].diagnostic = std::string(kDiag, sizeof kDiag - 1);
  const std::string out = render_dsn(in);
  EXPECT_TRUE(wire_clean(out));
  const Dsn d = parse(out);
  ASSERT_EQ(d.per_recipient.size(), 1u);
  EXPECT_EQ(count(d.per_recipient[0], "Action"), 1);
  EXPECT_EQ(field(d.per_recipient[0], "Action"), "failed");
  EXPECT_EQ(count(d.per_recipient[0], "X-Evil"), 0);
  EXPECT_EQ(field(d.per_recipient[0], "Diagnostic-Code"), "smtp; 550 no Action: delivered X-Evil: 1??? end");
}

// --- RFC 6533 §3: non-ASCII addresses stay 7-bit ---------------------------------------

TEST(Rfc6533_3, Utf8AddrXtext) {
  EXPECT_EQ(utf8_addr_xtext("bob@b.test"), "bob@b.test");
  EXPECT_EQ(utf8_addr_xtext("j\xC3\xB6rg@b.test"), "j\\x{F6}rg@b.test");
  EXPECT_EQ(utf8_addr_xtext("a+b=c\\d e@x"), "a\\x{2B}b\\x{3D}c\\x{5C}d\\x{20}e@x");
  EXPECT_EQ(utf8_addr_xtext("\xF0\x9F\x98\x80@x"), "\\x{1F600}@x");
  EXPECT_EQ(utf8_addr_xtext(std::string_view("\r\0", 2)), "\\x{0D}\\x{00}");
  EXPECT_EQ(utf8_addr_xtext("\xC0\xAF@x"), "\\x{FFFD}\\x{FFFD}@x");  // overlong: invalid
  EXPECT_EQ(utf8_addr_xtext("\xE2\x82"), "\\x{FFFD}\\x{FFFD}");       // truncated
}

TEST(Rfc6533_3, NonAsciiRecipientsAndSenderKeepHeadersSevenBit) {
  DsnInput in = sample();
  in.to = "j\xC3\xB6rg@a.test";
  in.recipients[0].final_recipient = "\xE7\x94\xA8\xE6\x88\xB7@b.test";
  in.recipients[0].original_recipient = "utf-8;\xE7\x94\xA8\xE6\x88\xB7@b.test";
  const std::string out = render_dsn(in);
  for (unsigned char c : out) ASSERT_LT(c, 0x80u);
  const Dsn d = parse(out);
  EXPECT_EQ(field(d.headers, "To"), "undisclosed-recipients:;");
  EXPECT_EQ(field(d.per_recipient.at(0), "Final-Recipient"), "utf-8; \\x{7528}\\x{6237}@b.test");
  EXPECT_EQ(field(d.per_recipient.at(0), "Original-Recipient"), "utf-8; \\x{7528}\\x{6237}@b.test");
}

// --- RFC 3463 status codes --------------------------------------------------------------

TEST(Rfc3463_2, StatusSyntax) {
  for (const char* ok : {"2.0.0", "4.4.7", "5.1.1", "5.7.26", "4.999.999", "5.0.10"}) EXPECT_TRUE(is_valid_status(ok)) << ok;
  for (const char* bad : {"", "3.0.0", "5.1", "5.01.1", "5.1.01", "5.1.1000", "5..1", "5.1.1 ", "x.1.1", "55.1.1"}) {
    EXPECT_FALSE(is_valid_status(bad)) << bad;
  }
}

TEST(Rfc3463_3_1, DefaultStatusFromTheReplyClass) {
  EXPECT_EQ(default_status(250), "2.0.0");
  EXPECT_EQ(default_status(451), "4.0.0");
  EXPECT_EQ(default_status(554), "5.0.0");
}

// --- an independent parser: Python's email package ---------------------------------------

TEST(Rfc3464_Interop, PythonEmailPackageParsesRenderedDsns) {
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  const std::string script = std::string(MAIL_SOURCE_DIR) + "/tests/tools/check_dsn.py";
  ASSERT_EQ(::access(script.c_str(), R_OK), 0) << script;

  DsnInput bounce = sample();  // one failure, RET=HDRS
  DsnInput full = sample();    // several recipients, RET=FULL, 8-bit body, ORCPT, ENVID
  full.return_full = true;
  full.envid = "ENV-1";
  full.original = "Subject: caf\xC3\xA9\r\n\r\nna\xC3\xAFve body\r\n";
  DsnRecipientReport second = failed_rcpt();
  second.final_recipient = "\xE7\x94\xA8@b.test";
  second.original_recipient = "rfc822;x@b.test";
  second.action = DsnAction::delayed;
  second.status = "4.4.1";
  second.will_retry_until = WallTime{kArrival + 3'600'000'000};
  full.recipients.push_back(second);
  DsnInput success = sample();  // success report, long diagnostic, no original
  success.original = {};
  success.recipients[0].action = DsnAction::delivered;
  success.recipients[0].status = "2.0.0";
  success.recipients[0].diagnostic = std::string("250 ").append(1500, 'o').append(" done");

  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / ("dsn_check_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string cmd = "/usr/bin/python3 '" + script + "'";
  int n = 0;
  for (const DsnInput* in : {&bounce, &full, &success}) {
    const auto path = dir / ("dsn" + std::to_string(++n) + ".eml");
    std::ofstream(path, std::ios::binary) << render_dsn(*in);
    cmd.append(" '").append(path.string()).append("'");
  }
  const int rc = std::system(cmd.c_str());
  std::filesystem::remove_all(dir);
  ASSERT_NE(rc, -1);
  EXPECT_TRUE(WIFEXITED(rc));
  EXPECT_EQ(WEXITSTATUS(rc), 0) << cmd;
}

// --- property: hostile peer text never breaks the structure ------------------------------

namespace {

rc::Gen<std::string> hostile_text() {
  return rc::gen::container<std::string>(rc::gen::oneOf(
      rc::gen::element<char>('a', 'Z', '5', ' ', ':', ';', '-', '@', '.', '<', '>', '\\', '"', '(', ')'),
      rc::gen::element<char>('\r', '\n', '\0', '\t', '\x7F', '\x1B'),
      rc::gen::map(rc::gen::inRange<int>(0x80, 0x100), [](int c) { return static_cast<char>(c); })));
}

rc::Gen<std::string> status() {
  return rc::gen::map(rc::gen::tuple(rc::gen::element('2', '4', '5'), rc::gen::inRange(0, 8), rc::gen::inRange(0, 30)),
                      [](const std::tuple<char, int, int>& t) {
                        std::string s(1, std::get<0>(t));
                        s.append(".").append(std::to_string(std::get<1>(t))).append(".").append(std::to_string(std::get<2>(t)));
                        return s;
                      });
}

}  // namespace

RC_GTEST_PROP(Rfc3464_Property, HostileRecipientsAndDiagnosticsKeepTheStructure, ()) {
  DsnInput in = sample();
  in.to = *rc::gen::nonEmpty(hostile_text());
  if (in.to == "<>") in.to = "x";  // the caller never reports to <> (asserted)
  in.received_from = *hostile_text();
  if (*rc::gen::arbitrary<bool>()) in.envid = *hostile_text();
  in.return_full = *rc::gen::arbitrary<bool>();
  const std::string original = *hostile_text();
  in.original = original;
  const auto n = *rc::gen::inRange<std::size_t>(1, 6);
  in.recipients.clear();
  for (std::size_t i = 0; i < n; ++i) {
    DsnRecipientReport r;
    r.final_recipient = *hostile_text();
    if (*rc::gen::arbitrary<bool>()) r.original_recipient = *hostile_text();
    r.action = *rc::gen::element(DsnAction::failed, DsnAction::delayed, DsnAction::delivered, DsnAction::relayed,
                                 DsnAction::expanded);
    r.status = *status();
    r.remote_mta = *hostile_text();
    r.diagnostic = *rc::gen::oneOf(hostile_text(), rc::gen::map(rc::gen::inRange<std::size_t>(0, 3000), [](std::size_t k) {
                                                    return std::string(k, 'q') + "\r\n" + std::string(k / 3, ' ') + "x";
                                                  }));
    if (*rc::gen::arbitrary<bool>()) r.will_retry_until = WallTime{kArrival};
    in.recipients.push_back(std::move(r));
  }
  const std::string out = render_dsn(in);
  RC_ASSERT(wire_clean(out));
  const Dsn d = parse(out);
  RC_ASSERT(d.parts.size() == 3u);
  RC_ASSERT(d.per_recipient.size() == n);
  for (std::size_t i = 0; i < n; ++i) {
    RC_ASSERT(count(d.per_recipient[i], "Action") == 1);
    RC_ASSERT(field(d.per_recipient[i], "Action") == std::string(to_string(in.recipients[i].action)));
    RC_ASSERT(field(d.per_recipient[i], "Status") == in.recipients[i].status);
    RC_ASSERT(count(d.per_recipient[i], "Final-Recipient") == 1);
    RC_ASSERT(count(d.per_recipient[i], "<garbage>") == 0);
  }
  RC_ASSERT(count(d.per_message, "Reporting-MTA") == 1);
  RC_ASSERT(count(d.per_message, "<garbage>") == 0);
  // Headers and the first two parts stay 7-bit whatever the input.
  const std::string ct = *field(d.headers, "Content-Type");
  const std::string delim = "\r\n--" + ct.substr(ct.find("boundary=\"") + 10, ct.size() - ct.find("boundary=\"") - 11) + "\r\n";
  std::size_t third = 0;
  for (int k = 0; k < 3; ++k) third = out.find(delim, third + 1);
  RC_ASSERT(third != std::string::npos);
  for (std::size_t i = 0; i < third; ++i) RC_ASSERT(static_cast<unsigned char>(out[i]) < 0x80u);
}
