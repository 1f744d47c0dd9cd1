// Tests for the Received: trace header builder: RFC 5321 §4.4 (Stamp clauses, FOR with one
// recipient, TCP-info literal), RFC 3848 / RFC 6531 §3.7.3 protocol names, RFC 5322 §3.3
// date-time and §2.1.1 / §2.2.3 line length and folding, and HELO sanitising.
#include "proto/smtp/received.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <ctime>
#include <string>
#include <vector>

namespace mail::smtp {
namespace {

WallTime at(std::int64_t unix_seconds, std::int64_t extra_us = 0) {
  return WallTime{unix_seconds * 1'000'000 + extra_us};
}

Recipient rcpt(std::string local, std::string domain) {
  Recipient r;
  r.path.mailbox = Mailbox{std::move(local), std::move(domain)};
  return r;
}

std::vector<std::string> lines_of(const std::string& h) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t e = h.find("\r\n", start);
    if (e == std::string::npos) break;
    out.push_back(h.substr(start, e - start));
    start = e + 2;
  }
  EXPECT_EQ(start, h.size()) << "header must end with CRLF";
  return out;
}

// Checks the RFC 5322 §2.1.1 / §2.2.3 shape of a folded header field.
void expect_well_folded(const std::string& h, std::size_t long_word = 0) {
  ASSERT_GE(h.size(), 2u);
  EXPECT_EQ(h.substr(h.size() - 2), "\r\n");
  EXPECT_EQ(h.rfind("Received: ", 0), 0u);
  const auto lines = lines_of(h);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    EXPECT_EQ(l.find('\r'), std::string::npos) << "bare CR in " << l;
    EXPECT_EQ(l.find('\n'), std::string::npos) << "bare LF in " << l;
    EXPECT_LE(l.size(), 998u);
    if (long_word == 0) {
      EXPECT_LE(l.size(), 78u) << l;
    }
    if (i > 0) {
      ASSERT_FALSE(l.empty());
      EXPECT_EQ(l[0], '\t');  // continuation lines start with WSP
      EXPECT_NE(l.find_first_not_of(" \t"), std::string::npos) << "whitespace-only line";
    }
  }
}

ReceivedInfo basic() {
  ReceivedInfo i;
  i.helo = "client.example.org";
  i.client_address = "192.0.2.10";
  i.hostname = "mx.example.com";
  i.esmtp = true;
  i.tls = true;
  i.queue_id = "4F2A9C01";
  i.time = at(1795689070);
  return i;
}

// ---- RFC 3848 / RFC 6531 §3.7.3 protocol names ------------------------------------------

TEST(ReceivedProtocolRfc3848, EsmtpVariants) {
  EXPECT_EQ(received_protocol(false, false, false, false), "SMTP");
  EXPECT_EQ(received_protocol(true, false, false, false), "ESMTP");
  EXPECT_EQ(received_protocol(true, true, false, false), "ESMTPS");
  EXPECT_EQ(received_protocol(true, false, true, false), "ESMTPA");
  EXPECT_EQ(received_protocol(true, true, true, false), "ESMTPSA");
}

TEST(ReceivedProtocolRfc6531_S3_7_3, Utf8Variants) {
  EXPECT_EQ(received_protocol(true, false, false, true), "UTF8SMTP");
  EXPECT_EQ(received_protocol(true, true, false, true), "UTF8SMTPS");
  EXPECT_EQ(received_protocol(true, false, true, true), "UTF8SMTPA");
  EXPECT_EQ(received_protocol(true, true, true, true), "UTF8SMTPSA");
}

TEST(ReceivedProtocolRfc5321_S4_4, HeloIsPlainSmtpEvenWithTls) {
  EXPECT_EQ(received_protocol(false, true, false, false), "SMTP");
}

// ---- RFC 5322 §3.3 date-time -----------------------------------------------------------

TEST(DateTimeRfc5322_S3_3, KnownInstants) {
  EXPECT_EQ(format_date_time(at(0)), "Thu, 1 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(format_date_time(at(1795689070)), "Thu, 26 Nov 2026 10:31:10 +0000");
  EXPECT_EQ(format_date_time(at(1709251199)), "Thu, 29 Feb 2024 23:59:59 +0000");  // leap day
  EXPECT_EQ(format_date_time(at(951825600)), "Tue, 29 Feb 2000 12:00:00 +0000");   // 400-year leap
  EXPECT_EQ(format_date_time(at(4107542400)), "Mon, 1 Mar 2100 00:00:00 +0000");   // 2100 not leap
  EXPECT_EQ(format_date_time(at(253402300799)), "Fri, 31 Dec 9999 23:59:59 +0000");
  EXPECT_EQ(format_date_time(at(-2208988800)), "Mon, 1 Jan 1900 00:00:00 +0000");
}

TEST(DateTimeRfc5322_S3_3, SubSecondsFloorIncludingBeforeEpoch) {
  EXPECT_EQ(format_date_time(at(1795689070, 999'999)), "Thu, 26 Nov 2026 10:31:10 +0000");
  EXPECT_EQ(format_date_time(WallTime{-1}), "Wed, 31 Dec 1969 23:59:59 +0000");
  EXPECT_EQ(format_date_time(at(-86400)), "Wed, 31 Dec 1969 00:00:00 +0000");
}

RC_GTEST_PROP(DateTimePropertyRfc5322_S3_3, AgreesWithGmtime, ()) {
  const std::int64_t secs = *rc::gen::inRange<std::int64_t>(-2208988800, 253402300800);
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  RC_ASSERT(gmtime_r(&t, &tm) != nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  std::string expect = buf;
  if (expect[5] == '0') expect.erase(5, 1);  // we print the day without padding
  RC_ASSERT(format_date_time(at(secs, *rc::gen::inRange<std::int64_t>(0, 1'000'000))) == expect);
}

// ---- RFC 5321 §4.4 Stamp ------------------------------------------------------------------

TEST(ReceivedRfc5321_S4_4, ConventionalLayoutWithOneRecipient) {
  const std::vector<Recipient> r = {rcpt("bob", "example.com")};
  ReceivedInfo i = basic();
  i.recipients = r;
  const std::string h = build_received(i);
  EXPECT_EQ(h,
            "Received: from client.example.org ([192.0.2.10])\r\n"
            "\tby mx.example.com with ESMTPS id 4F2A9C01\r\n"
            "\tfor <bob@example.com>; Thu, 26 Nov 2026 10:31:10 +0000\r\n");
  expect_well_folded(h);
}

TEST(ReceivedRfc5321_S4_4, NoForClauseWithZeroOrSeveralRecipients) {
  ReceivedInfo i = basic();
  const std::string none = build_received(i);
  EXPECT_EQ(none,
            "Received: from client.example.org ([192.0.2.10])\r\n"
            "\tby mx.example.com with ESMTPS id 4F2A9C01;\r\n"
            "\tThu, 26 Nov 2026 10:31:10 +0000\r\n");
  const std::vector<Recipient> two = {rcpt("a", "x.example"), rcpt("bcc", "y.example")};
  i.recipients = two;
  const std::string h = build_received(i);
  EXPECT_EQ(h, none);
  EXPECT_EQ(h.find("for"), std::string::npos);
  EXPECT_EQ(h.find("bcc"), std::string::npos);  // RFC 5321 §7.2: never disclose Bcc
}

TEST(ReceivedRfc5321_S4_4, QueueIdOptional) {
  ReceivedInfo i = basic();
  i.queue_id = "";
  EXPECT_EQ(build_received(i),
            "Received: from client.example.org ([192.0.2.10])\r\n"
            "\tby mx.example.com with ESMTPS;\r\n"
            "\tThu, 26 Nov 2026 10:31:10 +0000\r\n");
}

TEST(ReceivedRfc5321_S4_4, Ipv6ClientAsIpv6Literal) {
  ReceivedInfo i = basic();
  i.client_address = "2001:db8::25";
  EXPECT_NE(build_received(i).find("from client.example.org ([IPv6:2001:db8::25])"), std::string::npos);
  i.client_address = "::ffff:192.0.2.1";
  EXPECT_NE(build_received(i).find("([IPv6:::ffff:192.0.2.1])"), std::string::npos);
}

TEST(ReceivedRfc5321_S4_4, UnusableClientAddressIsUnknown) {
  ReceivedInfo i = basic();
  for (const char* a : {"", "fe80::1%eth0", "not an ip", "1.2.3.4)\r\nX: y", "999.1.1.1"}) {
    i.client_address = a;
    const std::string h = build_received(i);
    EXPECT_NE(h.find("from client.example.org (unknown)"), std::string::npos) << a;
    expect_well_folded(h);
  }
}

TEST(ReceivedRfc5321_S4_4, HeloIsSanitised) {
  ReceivedInfo i = basic();
  i.helo = "evil\r\nX-Injected: yes (a) b;c\\d\"e\x01\x7f\xC3\xB6";
  const std::string h = build_received(i);
  EXPECT_NE(h.find("from evil??X-Injected:?yes??a??b?c?d?e???? "), std::string::npos) << h;
  EXPECT_EQ(h.find("\r\nX-Injected"), std::string::npos);
  expect_well_folded(h);
}

TEST(ReceivedRfc5321_S4_4, LiteralHeloKept) {
  ReceivedInfo i = basic();
  i.helo = "[192.0.2.10]";
  EXPECT_NE(build_received(i).find("from [192.0.2.10] ([192.0.2.10])"), std::string::npos);
}

TEST(ReceivedRfc5321_S4_4, EmptyHeloIsUnknown) {
  ReceivedInfo i = basic();
  i.helo = "";
  EXPECT_NE(build_received(i).find("from unknown ([192.0.2.10])"), std::string::npos);
}

TEST(ReceivedRfc5322_S2_1_1, LongHeloCutAndAloneOnItsLine) {
  ReceivedInfo i = basic();
  const std::string helo(10'000, 'h');
  i.helo = helo;
  const std::string h = build_received(i);
  expect_well_folded(h, 255);
  EXPECT_NE(h.find(std::string(255, 'h')), std::string::npos);
  EXPECT_EQ(h.find(std::string(256, 'h')), std::string::npos);
  for (const auto& l : lines_of(h))
    if (l.find("hhhh") == std::string::npos) {
      EXPECT_LE(l.size(), 78u) << l;
    }
}

TEST(ReceivedRfc5322_S2_2_3, LongHostnameAndRecipientStillFold) {
  const std::string host = std::string(63, 'a') + "." + std::string(63, 'b') + ".example";
  const std::vector<Recipient> r = {rcpt(std::string(64, 'l'), std::string(63, 'c') + ".example")};
  ReceivedInfo i = basic();
  i.hostname = host;
  i.recipients = r;
  const std::string h = build_received(i);
  expect_well_folded(h, 1);
  for (const auto& l : lines_of(h)) {
    // Only a line holding one unbreakable word may pass 78 octets.
    if (l.size() > 78) {
      EXPECT_EQ(l.find(' '), std::string::npos) << l;
    }
  }
  EXPECT_NE(h.find("\tby\r\n\t" + host), std::string::npos) << h;
}

TEST(ReceivedRfc6531_S3_7_3, Utf8RecipientOnlyInUtf8Transactions) {
  const std::vector<Recipient> r = {rcpt("用户", "例子.广告")};
  ReceivedInfo i = basic();
  i.recipients = r;
  i.utf8 = true;
  const std::string h = build_received(i);
  EXPECT_NE(h.find("with UTF8SMTPS"), std::string::npos);
  EXPECT_NE(h.find("for <用户@例子.广告>;"), std::string::npos);
  i.utf8 = false;
  EXPECT_EQ(build_received(i).find("for"), std::string::npos);  // would be non-ASCII: left out
}

TEST(ReceivedRfc5321_S4_4, FromEnvelope) {
  Envelope env;
  env.helo = "relay.example.net";
  env.extended_hello = true;
  env.client_address = "198.51.100.7";
  env.tls = false;
  env.auth_identity = "alice";
  env.recipients = {rcpt("carol", "example.com")};
  const std::string h = build_received(env, "mx.example.com", "Q1", at(0));
  EXPECT_EQ(h,
            "Received: from relay.example.net ([198.51.100.7])\r\n"
            "\tby mx.example.com with ESMTPA id Q1\r\n"
            "\tfor <carol@example.com>; Thu, 1 Jan 1970 00:00:00 +0000\r\n");
  env.mail_params.smtputf8 = true;
  env.tls = true;
  EXPECT_NE(build_received(env, "mx.example.com", "Q1", at(0)).find("with UTF8SMTPSA"), std::string::npos);
  env.extended_hello = false;  // HELO: no extensions at all
  EXPECT_NE(build_received(env, "mx.example.com", "Q1", at(0)).find("with SMTP "), std::string::npos);
}

using ReceivedDeathTest = ::testing::Test;

TEST(ReceivedDeathTest, OurOwnStringsMustBeClean) {
  ReceivedInfo i = basic();
  i.hostname = "mx.example.com\r\nX: y";
  EXPECT_DEATH((void)build_received(i), "assertion failed");
  i = basic();
  i.queue_id = "a b";
  EXPECT_DEATH((void)build_received(i), "assertion failed");
  i = basic();
  i.hostname = "";
  EXPECT_DEATH((void)build_received(i), "assertion failed");
}

RC_GTEST_PROP(ReceivedPropertyRfc5322_S2_2_3, AnyPeerHeloFoldsCleanly, (std::string helo)) {
  const std::vector<Recipient> r = {rcpt("user", "example.com")};
  ReceivedInfo i = basic();
  i.helo = helo;
  i.recipients = r;
  const std::string h = build_received(i);
  RC_ASSERT(h.size() >= 2u);
  RC_ASSERT(h.substr(h.size() - 2) == "\r\n");
  // Every CR is part of CRLF and every CRLF is followed by TAB (or ends the field).
  for (std::size_t k = 0; k < h.size(); ++k) {
    if (h[k] == '\r') {
      RC_ASSERT(k + 1 < h.size());
      RC_ASSERT(h[k + 1] == '\n');
      RC_ASSERT(k + 2 == h.size() || h[k + 2] == '\t');
    }
    if (h[k] == '\n') RC_ASSERT(k > 0 && h[k - 1] == '\r');
    const auto u = static_cast<unsigned char>(h[k]);
    RC_ASSERT(u < 0x80);
  }
  // Unfolded, the date is what follows the last ';'.
  RC_ASSERT(h.find("; Thu, 26 Nov 2026 10:31:10 +0000\r\n") != std::string::npos ||
            h.find(";\r\n\tThu, 26 Nov 2026 10:31:10 +0000\r\n") != std::string::npos);
  RC_ASSERT(h.rfind(';') == h.find(';'));  // the HELO cannot add a ';'
  std::size_t start = 0;
  while (start < h.size()) {
    const std::size_t e = h.find("\r\n", start);
    const std::string l = h.substr(start, e - start);
    if (l.size() > 78) RC_ASSERT(l.find(' ') == std::string::npos);
    start = e + 2;
  }
}

// Whatever a client sends as HELO and whatever the address text, with any protocol flags,
// the header stays one well-folded field of printable 7-bit text (the oracle of
// fuzz/received_header; AnyPeerHeloFoldsCleanly above fixes the address and flags).
RC_GTEST_PROP(ReceivedPropertyRfc5321_S4_4, AnyHeloGivesOneCleanField, (const std::string& helo, const std::string& addr)) {
  ReceivedInfo info;
  info.helo = helo;
  info.client_address = addr;
  info.hostname = "mx.example.test";
  info.esmtp = *rc::gen::arbitrary<bool>();
  info.tls = *rc::gen::arbitrary<bool>();
  info.time = at(*rc::gen::inRange<std::int64_t>(0, 4'000'000'000));
  const std::string h = build_received(info);
  RC_ASSERT(h.rfind("Received: from", 0) == 0u);  // a long HELO goes on the next line
  RC_ASSERT(h.size() >= 2 && h.compare(h.size() - 2, 2, "\r\n") == 0);
  std::size_t start = 0;
  while (start < h.size()) {
    const std::size_t e = h.find("\r\n", start);
    RC_ASSERT(e != std::string::npos);
    RC_ASSERT(e - start <= 998u);
    if (start != 0) RC_ASSERT(h[start] == '\t');
    for (std::size_t k = start; k < e; ++k) {
      const auto u = static_cast<unsigned char>(h[k]);
      RC_ASSERT((u >= 0x20 && u < 0x7F) || u == '\t');
    }
    start = e + 2;
  }
}

}  // namespace
}  // namespace mail::smtp
