// DNS: answer parsing from canned wire-format buffers (no traffic at all), name checks,
// and live lookups limited to numeric addresses and "localhost" (answered from
// /etc/hosts). MX/TXT are never queried live: that would leave the machine.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "io/dns_wire.h"
#include "io/io_test_util.h"

namespace mail::io {
namespace {

// Builds DNS messages (RFC 1035 §4.1) byte by byte.
struct Wire {
  std::vector<unsigned char> b;
  void u8(unsigned v) { b.push_back(static_cast<unsigned char>(v)); }
  void u16(unsigned v) {
    u8(v >> 8);
    u8(v & 0xff);
  }
  void u32(unsigned long v) {
    u16(static_cast<unsigned>(v >> 16));
    u16(static_cast<unsigned>(v & 0xffff));
  }
  void labels(std::string_view dotted) {  // without the terminating root label
    while (!dotted.empty()) {
      const auto dot = dotted.find('.');
      const auto label = dotted.substr(0, dot);
      u8(static_cast<unsigned>(label.size()));
      b.insert(b.end(), label.begin(), label.end());
      dotted = dot == std::string_view::npos ? std::string_view() : dotted.substr(dot + 1);
    }
  }
  void name(std::string_view dotted) {
    labels(dotted);
    u8(0);
  }
  void pointer(unsigned offset) { u16(0xC000 | offset); }
  void header(unsigned rcode, unsigned answers) {
    u16(0x1234);          // id
    u16(0x8180 | rcode);  // QR, RD, RA
    u16(1);               // QDCOUNT
    u16(answers);
    u16(0);
    u16(0);
  }
  void question(std::string_view qname, unsigned type) {
    name(qname);  // at offset 12, the target of the answers' compression pointers
    u16(type);
    u16(1);  // IN
  }
  // An answer RR owned by the question name; `rdata` fills in its data.
  template <class F>
  void answer(unsigned type, F rdata) {
    pointer(12);
    u16(type);
    u16(1);
    u32(3600);
    const std::size_t len_at = b.size();
    u16(0);
    const std::size_t start = b.size();
    rdata(*this);
    const std::size_t len = b.size() - start;
    b[len_at] = static_cast<unsigned char>(len >> 8);
    b[len_at + 1] = static_cast<unsigned char>(len & 0xff);
  }
};

constexpr unsigned kMx = 15;
constexpr unsigned kTxt = 16;
constexpr unsigned kCname = 5;

TEST(DnsWire, ParsesMxWithCompressionAndSkipsOtherTypes) {
  Wire w;
  w.header(0, 3);
  w.question("example.com", kMx);
  w.answer(kCname, [](Wire& x) { x.name("alias.example.net"); });
  w.answer(kMx, [](Wire& x) {
    x.u16(10);
    x.labels("mx1");
    x.pointer(12);  // mx1.example.com
  });
  w.answer(kMx, [](Wire& x) {
    x.u16(20);
    x.name("mx2.other.net");
  });
  auto r = parse_mx_answer(w.b);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].preference, 10);
  EXPECT_EQ((*r)[0].exchange, "mx1.example.com");
  EXPECT_EQ((*r)[1].preference, 20);
  EXPECT_EQ((*r)[1].exchange, "mx2.other.net");
}

TEST(DnsWire, NullMxIsDot) {  // RFC 7505
  Wire w;
  w.header(0, 1);
  w.question("nomail.example", kMx);
  w.answer(kMx, [](Wire& x) {
    x.u16(0);
    x.u8(0);  // the root
  });
  auto r = parse_mx_answer(w.b);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].preference, 0);
  EXPECT_EQ((*r)[0].exchange, ".");
}

TEST(DnsWire, RcodesMapToErrc) {
  for (auto [rcode, expected] : {std::pair{3u, Errc::not_found}, std::pair{2u, Errc::unavailable}, std::pair{5u, Errc::unavailable}}) {
    Wire w;
    w.header(rcode, 0);
    w.question("x.example", kMx);
    EXPECT_EQ(parse_mx_answer(w.b).code(), expected) << rcode;
    EXPECT_EQ(parse_txt_answer(w.b).code(), expected) << rcode;
  }
  Wire empty;
  empty.header(0, 0);
  empty.question("x.example", kMx);
  auto r = parse_mx_answer(empty.b);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST(DnsWire, MalformedAnswersAreInvalid) {
  Wire w;
  w.header(0, 1);
  w.question("example.com", kMx);
  w.answer(kMx, [](Wire& x) {
    x.u16(10);
    x.name("mx.example.com");
  });
  // Cut anywhere inside the message: never ok with a partial record, never a crash.
  for (std::size_t cut = 0; cut < w.b.size(); ++cut) {
    const std::span<const unsigned char> part(w.b.data(), cut);
    auto r = parse_mx_answer(part);
    EXPECT_FALSE(r.ok() && !r->empty()) << cut;
  }
  // A compression pointer past the end of the message.
  Wire bad;
  bad.header(0, 1);
  bad.question("example.com", kMx);
  bad.answer(kMx, [](Wire& x) {
    x.u16(10);
    x.pointer(0x3fff);
  });
  EXPECT_EQ(parse_mx_answer(bad.b).code(), Errc::invalid);
  // A pointer loop.
  Wire loop;
  loop.header(0, 1);
  loop.question("example.com", kMx);
  loop.answer(kMx, [&loop](Wire& x) {
    x.u16(10);
    x.pointer(static_cast<unsigned>(loop.b.size()));  // points at itself
  });
  EXPECT_EQ(parse_mx_answer(loop.b).code(), Errc::invalid);
}

TEST(DnsWire, TxtConcatenatesCharacterStrings) {
  Wire w;
  w.header(0, 2);
  w.question("example.com", kTxt);
  w.answer(kTxt, [](Wire& x) {
    for (std::string_view part : {"v=spf1 ip4:192.0.2.0/24 ", "-all"}) {
      x.u8(static_cast<unsigned>(part.size()));
      x.b.insert(x.b.end(), part.begin(), part.end());
    }
  });
  w.answer(kTxt, [](Wire& x) {
    x.u8(0);  // an empty character-string is legal
    x.u8(5);
    for (char c : std::string_view("hello")) x.u8(static_cast<unsigned char>(c));
  });
  auto r = parse_txt_answer(w.b);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(*r, (std::vector<std::string>{"v=spf1 ip4:192.0.2.0/24 -all", "hello"}));

  Wire over;
  over.header(0, 1);
  over.question("example.com", kTxt);
  over.answer(kTxt, [](Wire& x) {
    x.u8(10);  // claims 10 octets, has 3
    x.u8('a');
    x.u8('b');
    x.u8('c');
  });
  EXPECT_EQ(parse_txt_answer(over.b).code(), Errc::invalid);
}

TEST(DnsWire, ValidNames) {
  EXPECT_TRUE(valid_dns_name("example.com"));
  EXPECT_TRUE(valid_dns_name("example.com."));
  EXPECT_TRUE(valid_dns_name("localhost"));
  EXPECT_TRUE(valid_dns_name("xn--bcher-kva.example"));
  EXPECT_TRUE(valid_dns_name(std::string(63, 'a') + ".com"));
  EXPECT_FALSE(valid_dns_name(std::string(64, 'a') + ".com"));
  EXPECT_FALSE(valid_dns_name(""));
  EXPECT_FALSE(valid_dns_name("."));
  EXPECT_FALSE(valid_dns_name("a..b"));
  EXPECT_FALSE(valid_dns_name(".a"));
  EXPECT_FALSE(valid_dns_name("a b"));
  EXPECT_FALSE(valid_dns_name("a\\.b"));
  EXPECT_FALSE(valid_dns_name(std::string("a\0b", 3)));
  std::string long_name;
  while (long_name.size() < 260) long_name += "abcdefghi.";
  EXPECT_FALSE(valid_dns_name(long_name));
}

class DnsLive : public ::testing::Test {
 protected:
  AsioEnv env{test::test_options()};
};

rt::Task<void> addresses_case(AsioEnv& env) {
  auto v4 = co_await rt::async_op<std::vector<std::string>>(
      [&](rt::Completion<std::vector<std::string>> c) { env.dns().async_addresses("127.0.0.1", env.clock().now() + 5s, std::move(c)); });
  EXPECT_TRUE(v4.ok());
  if (v4) {
    EXPECT_EQ(*v4, (std::vector<std::string>{"127.0.0.1"}));
  }
  auto v6 = co_await rt::async_op<std::vector<std::string>>(
      [&](rt::Completion<std::vector<std::string>> c) { env.dns().async_addresses("::1", env.clock().now() + 5s, std::move(c)); });
  EXPECT_TRUE(v6.ok());
  if (v6) {
    EXPECT_EQ(*v6, (std::vector<std::string>{"::1"}));
  }
  // From /etc/hosts ("hosts: files dns" answers before any query is sent).
  auto lh = co_await rt::async_op<std::vector<std::string>>(
      [&](rt::Completion<std::vector<std::string>> c) { env.dns().async_addresses("localhost", instant_max(), std::move(c)); });
  EXPECT_TRUE(lh.ok()) << (lh ? "" : lh.error().detail);
  if (lh) {
    EXPECT_NE(std::find(lh->begin(), lh->end(), "127.0.0.1"), lh->end());
  }
}

TEST_F(DnsLive, AddressesOfNumericHostsAndLocalhost) { test::run_task(env, addresses_case(env)); }

rt::Task<void> rejects_case(AsioEnv& env) {
  // Rejected before any query: bad names, and a deadline that has already passed.
  auto bad_mx = co_await rt::async_op<std::vector<rt::MxRecord>>(
      [&](rt::Completion<std::vector<rt::MxRecord>> c) { env.dns().async_mx("a..example", instant_max(), std::move(c)); });
  EXPECT_EQ(bad_mx.code(), Errc::invalid);
  auto bad_txt = co_await rt::async_op<std::vector<std::string>>(
      [&](rt::Completion<std::vector<std::string>> c) { env.dns().async_txt("bad name", instant_max(), std::move(c)); });
  EXPECT_EQ(bad_txt.code(), Errc::invalid);
  auto bad_host = co_await rt::async_op<std::vector<std::string>>(
      [&](rt::Completion<std::vector<std::string>> c) { env.dns().async_addresses("", instant_max(), std::move(c)); });
  EXPECT_EQ(bad_host.code(), Errc::invalid);
  auto late = co_await rt::async_op<std::vector<rt::MxRecord>>([&](rt::Completion<std::vector<rt::MxRecord>> c) {
    env.dns().async_mx("example.invalid", env.clock().now() - 1ms, std::move(c));
  });
  EXPECT_EQ(late.code(), Errc::timeout);
}

TEST_F(DnsLive, RejectsBadNamesAndPastDeadlinesWithoutQuerying) { test::run_task(env, rejects_case(env)); }

TEST_F(DnsLive, CompletionNeverInline) {
  bool returned = false;
  bool inline_call = false;
  env.dns().async_addresses("127.0.0.1", instant_max(), [&](Result<std::vector<std::string>> r) {
    EXPECT_TRUE(r.ok());
    inline_call = !returned;
    env.stop();
  });
  returned = true;
  env.run();
  EXPECT_FALSE(inline_call);
}

}  // namespace
}  // namespace mail::io
