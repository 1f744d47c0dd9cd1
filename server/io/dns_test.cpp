// DNS: answer parsing from canned wire-format buffers (no traffic at all), name checks,
// live lookups through the system resolver limited to numeric addresses and "localhost"
// (answered from /etc/hosts), and [dns] servers against a dnsmasq this test starts on a
// loopback port (skipped when /usr/sbin/dnsmasq is absent). Nothing leaves the machine.
#include <arpa/nameser.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

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
    rest_of_rr(type, rdata);
  }
  // An answer RR owned by `owner` (written out, no compression).
  template <class F>
  void answer_of(std::string_view owner, unsigned type, F rdata) {
    name(owner);
    rest_of_rr(type, rdata);
  }
  template <class F>
  void rest_of_rr(unsigned type, F rdata) {
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

constexpr unsigned kA = 1;
constexpr unsigned kAaaa = 28;
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

void ipv4(Wire& x, unsigned a, unsigned b, unsigned c, unsigned d) {
  for (unsigned v : {a, b, c, d}) x.u8(v);
}

// RFC 1035 §3.4.1 (A), RFC 3596 §2.2 (AAAA), and the CNAME chain a resolver returns with
// them (RFC 1034 §4.3.2 step 3a): the chain is followed whatever the record order.
TEST(DnsWire, Rfc1035_AddressesFollowCnameChainsInAnyOrder) {
  Wire w;
  w.header(0, 5);
  w.question("www.example.com", kA);
  w.answer_of("alias2.example.net", kCname, [](Wire& x) { x.name("host.example.org"); });  // second link first
  w.answer_of("HOST.example.org", kA, [](Wire& x) { ipv4(x, 192, 0, 2, 7); });           // owner case differs
  w.answer(kCname, [](Wire& x) { x.name("alias2.example.net"); });                         // www -> alias2
  w.answer_of("unrelated.example", kA, [](Wire& x) { ipv4(x, 198, 51, 100, 1); });        // not in the chain
  w.answer_of("host.example.org", kA, [](Wire& x) { ipv4(x, 192, 0, 2, 8); });
  auto r = parse_a_answer(w.b);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(*r, (std::vector<std::string>{"192.0.2.7", "192.0.2.8"}));
  // The same message read as AAAA: no AAAA records, so NODATA.
  auto none = parse_aaaa_answer(w.b);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(DnsWire, Rfc3596_AaaaAnswersAreRfc5952Text) {
  Wire w;
  w.header(0, 3);
  w.question("mx.example.com", kAaaa);
  w.answer(kAaaa, [](Wire& x) {
    x.u16(0x2001);
    x.u16(0x0db8);
    for (int i = 0; i < 5; ++i) x.u16(0);
    x.u16(1);
  });
  w.answer(kA, [](Wire& x) { ipv4(x, 192, 0, 2, 1); });  // another type: skipped
  w.answer(kAaaa, [](Wire& x) {
    for (int i = 0; i < 7; ++i) x.u16(0);
    x.u16(1);
  });
  auto r = parse_aaaa_answer(w.b);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(*r, (std::vector<std::string>{"2001:db8::1", "::1"}));
  auto v4 = parse_a_answer(w.b);
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(*v4, (std::vector<std::string>{"192.0.2.1"}));
}

TEST(DnsWire, AddressRcodesLoopsAndMalformedRecords) {
  for (auto [rcode, expected] : {std::pair{3u, Errc::not_found}, std::pair{2u, Errc::unavailable}, std::pair{5u, Errc::unavailable}}) {
    Wire w;
    w.header(rcode, 0);
    w.question("x.example", kA);
    EXPECT_EQ(parse_a_answer(w.b).code(), expected) << rcode;
    EXPECT_EQ(parse_aaaa_answer(w.b).code(), expected) << rcode;
  }
  // A CNAME loop: ends the chain, no addresses, no hang.
  Wire loop;
  loop.header(0, 2);
  loop.question("a.example", kA);
  loop.answer(kCname, [](Wire& x) { x.name("b.example"); });
  loop.answer_of("b.example", kCname, [](Wire& x) { x.name("a.example"); });
  auto l = parse_a_answer(loop.b);
  ASSERT_TRUE(l.ok()) << l.error().detail;
  EXPECT_TRUE(l->empty());
  // An A record of 5 octets.
  Wire bad;
  bad.header(0, 1);
  bad.question("a.example", kA);
  bad.answer(kA, [](Wire& x) { ipv4(x, 1, 2, 3, 4);
    x.u8(5); });
  EXPECT_EQ(parse_a_answer(bad.b).code(), Errc::invalid);
  // No question section.
  Wire noq;
  noq.u16(1);
  noq.u16(0x8180);
  for (int i = 0; i < 4; ++i) noq.u16(0);
  EXPECT_EQ(parse_a_answer(noq.b).code(), Errc::invalid);
  // Truncated anywhere: never a crash, never a partial list.
  Wire full;
  full.header(0, 2);
  full.question("www.example", kA);
  full.answer(kCname, [](Wire& x) { x.name("h.example"); });
  full.answer_of("h.example", kA, [](Wire& x) { ipv4(x, 192, 0, 2, 9); });
  for (std::size_t cut = 0; cut < full.b.size(); ++cut) {
    auto r = parse_a_answer(std::span<const unsigned char>(full.b.data(), cut));
    EXPECT_FALSE(r.ok() && !r->empty()) << cut;
  }
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

// ---------------------------------------------------------------------------- [dns] servers

// A UDP socket bound to an ephemeral loopback port (`family` AF_INET or AF_INET6); -1 when
// that family has no loopback here.
int bound_udp(int family, std::uint16_t port = 0) {
  const int fd = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr = in6addr_loopback;
    len = sizeof *a;
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::uint16_t port_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return ss.ss_family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port)
                                 : ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

// A free UDP port on 127.0.0.1 (and ::1 when `v6`): bound, read back, released.
std::uint16_t free_udp_port(bool v6) {
  for (int tries = 0; tries < 20; ++tries) {
    const int fd = bound_udp(AF_INET);
    if (fd < 0) return 0;
    const std::uint16_t port = port_of(fd);
    const int fd6 = v6 ? bound_udp(AF_INET6, port) : -1;
    ::close(fd);
    if (fd6 >= 0) ::close(fd6);
    if (!v6 || fd6 >= 0) return port;
  }
  return 0;
}

// dnsmasq as an authoritative server for *.test on loopback (--local=/test/: unknown
// names are NXDOMAIN, other domains REFUSED as there is no upstream). Stopped with SIGTERM.
class Dnsmasq {
 public:
  static constexpr const char* binary = "/usr/sbin/dnsmasq";
  static bool available() { return ::access(binary, X_OK) == 0; }
  static bool ipv6_loopback() {
    const int fd = bound_udp(AF_INET6);
    if (fd >= 0) ::close(fd);
    return fd >= 0;
  }

  explicit Dnsmasq(bool v6) : v6_(v6) {
    port_ = free_udp_port(v6);
    if (port_ == 0) return;
    std::vector<std::string> args = {
        binary, "--no-daemon", "--port=" + std::to_string(port_), "--listen-address=127.0.0.1", "--bind-interfaces",
        "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=",
        "--local=/test/",
        "--mx-host=b.test,mx.b.test,10", "--mx-host=b.test,mx2.b.test,20",
        "--host-record=mx.b.test,127.0.0.1,::1", "--host-record=mx2.b.test,127.0.0.2",
        "--cname=alias.b.test,mx.b.test",
        "--txt-record=b.test,v=spf1 -all",
        "--log-facility=/dev/null"};
    if (v6) args.push_back("--listen-address=::1");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t quiet;  // its start-up lines would only clutter the test log
    ::posix_spawn_file_actions_init(&quiet);
    ::posix_spawn_file_actions_addopen(&quiet, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    if (::posix_spawn(&pid_, binary, &quiet, nullptr, argv.data(), environ) != 0) pid_ = -1;
    ::posix_spawn_file_actions_destroy(&quiet);
    if (pid_ > 0) ready_ = wait_until_answering();
  }
  ~Dnsmasq() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  Dnsmasq(const Dnsmasq&) = delete;
  Dnsmasq& operator=(const Dnsmasq&) = delete;

  bool ready() const noexcept { return ready_; }
  std::uint16_t port() const noexcept { return port_; }

 private:
  // Sends an MX query for b.test until an answer arrives (dnsmasq binds after it starts).
  bool wait_until_answering() {
    unsigned char q[512];
    const int qlen = ::res_mkquery(ns_o_query, "b.test", ns_c_in, ns_t_mx, nullptr, 0, nullptr, q, sizeof q);
    if (qlen <= 0) return false;
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port_);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool answered = false;
    for (int tries = 0; tries < 100 && !answered; ++tries) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // exited: port taken, bad option
        pid_ = -1;
        break;
      }
      ::sendto(fd, q, static_cast<std::size_t>(qlen), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) == 1) {
        unsigned char a[512];
        answered = ::recv(fd, a, sizeof a, 0) > 0;
      }
    }
    ::close(fd);
    return answered;
  }

  bool v6_ = false;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool ready_ = false;
};

template <class T>
using Answer = Result<std::vector<T>>;

Answer<rt::MxRecord> mx_of(AsioEnv& env, std::string name, Duration within = 20s) {
  Answer<rt::MxRecord> out = fail(Errc::io, "not run");
  test::run_task(env, [](AsioEnv& e, std::string n, Duration d, Answer<rt::MxRecord>& o) -> rt::Task<void> {
    o = co_await rt::async_op<std::vector<rt::MxRecord>>(
        [&](rt::Completion<std::vector<rt::MxRecord>> c) { e.dns().async_mx(n, e.clock().now() + d, std::move(c)); });
  }(env, std::move(name), within, out));
  return out;
}

Answer<std::string> addresses_of(AsioEnv& env, std::string name) {
  Answer<std::string> out = fail(Errc::io, "not run");
  test::run_task(env, [](AsioEnv& e, std::string n, Answer<std::string>& o) -> rt::Task<void> {
    o = co_await rt::async_op<std::vector<std::string>>(
        [&](rt::Completion<std::vector<std::string>> c) { e.dns().async_addresses(n, e.clock().now() + 20s, std::move(c)); });
  }(env, std::move(name), out));
  return out;
}

Answer<std::string> txt_of(AsioEnv& env, std::string name) {
  Answer<std::string> out = fail(Errc::io, "not run");
  test::run_task(env, [](AsioEnv& e, std::string n, Answer<std::string>& o) -> rt::Task<void> {
    o = co_await rt::async_op<std::vector<std::string>>(
        [&](rt::Completion<std::vector<std::string>> c) { e.dns().async_txt(n, e.clock().now() + 20s, std::move(c)); });
  }(env, std::move(name), out));
  return out;
}

AsioEnvOptions with_servers(std::vector<rt::Endpoint> servers, Duration timeout = 2s, int attempts = 2) {
  AsioEnvOptions o = test::test_options();
  o.dns.servers = std::move(servers);
  o.dns.timeout = timeout;
  o.dns.attempts = attempts;
  return o;
}

TEST(DnsServers, ConfigProblems) {
  EXPECT_EQ(PosixDns::config_problem({}), "");
  EXPECT_EQ(PosixDns::config_problem(PosixDnsConfig{{{"127.0.0.1", 53}, {"::1", 5353}}, 5s, 2}), "");
  EXPECT_NE(PosixDns::config_problem(PosixDnsConfig{{{"localhost", 53}}, 5s, 2}), "");
  EXPECT_NE(PosixDns::config_problem(PosixDnsConfig{{{"127.0.0.1", 0}}, 5s, 2}), "");
  EXPECT_NE(PosixDns::config_problem(PosixDnsConfig{{{"127.0.0.1", 1}, {"127.0.0.1", 2}, {"127.0.0.1", 3}, {"127.0.0.1", 4}}, 5s, 2}), "");
  EXPECT_NE(PosixDns::config_problem(PosixDnsConfig{{}, 0s, 2}), "");
  EXPECT_NE(PosixDns::config_problem(PosixDnsConfig{{}, 5s, 0}), "");
}

// Every query type through a configured server on a loopback port (RFC 5321 §5.1 MX, RFC
// 1034 §3.6.2 CNAME, RFC 3596 AAAA), and the error mapping documented in dns.h.
TEST(DnsServers, Rfc5321_5_1_QueriesGoToTheConfiguredServer) {
  if (!Dnsmasq::available()) GTEST_SKIP() << "no /usr/sbin/dnsmasq (Debian package dnsmasq-base)";
  Dnsmasq server(false);
  ASSERT_TRUE(server.ready()) << "dnsmasq did not answer on 127.0.0.1:" << server.port();
  AsioEnv env(with_servers({{"127.0.0.1", server.port()}}));

  auto mx = mx_of(env, "b.test");
  ASSERT_TRUE(mx.ok()) << mx.error().detail;
  ASSERT_EQ(mx->size(), 2u);
  std::sort(mx->begin(), mx->end(), [](const auto& a, const auto& b) { return a.preference < b.preference; });
  EXPECT_EQ((*mx)[0].preference, 10);
  EXPECT_EQ((*mx)[0].exchange, "mx.b.test");
  EXPECT_EQ((*mx)[1].exchange, "mx2.b.test");

  auto a = addresses_of(env, "mx.b.test");  // AAAA first, then A
  ASSERT_TRUE(a.ok()) << a.error().detail;
  EXPECT_EQ(*a, (std::vector<std::string>{"::1", "127.0.0.1"}));
  auto alias = addresses_of(env, "alias.b.test");  // CNAME -> mx.b.test
  ASSERT_TRUE(alias.ok()) << alias.error().detail;
  EXPECT_EQ(*alias, (std::vector<std::string>{"::1", "127.0.0.1"}));
  auto v4only = addresses_of(env, "mx2.b.test");
  ASSERT_TRUE(v4only.ok()) << v4only.error().detail;
  EXPECT_EQ(*v4only, (std::vector<std::string>{"127.0.0.2"}));

  auto txt = txt_of(env, "b.test");
  ASSERT_TRUE(txt.ok()) << txt.error().detail;
  EXPECT_EQ(*txt, (std::vector<std::string>{"v=spf1 -all"}));

  EXPECT_EQ(mx_of(env, "nx.b.test").code(), Errc::not_found);         // NXDOMAIN
  EXPECT_EQ(addresses_of(env, "nx.b.test").code(), Errc::not_found);  // NXDOMAIN
  auto nodata = mx_of(env, "mx2.b.test");                             // a name without MX
  ASSERT_TRUE(nodata.ok()) << nodata.error().detail;
  EXPECT_TRUE(nodata->empty());
  auto no_addresses = addresses_of(env, "b.test");  // MX and TXT only
  ASSERT_TRUE(no_addresses.ok()) << no_addresses.error().detail;
  EXPECT_TRUE(no_addresses->empty());
  // Outside *.test dnsmasq has no upstream and answers REFUSED.
  EXPECT_EQ(mx_of(env, "example.org").code(), Errc::unavailable);
  // "localhost" goes to the server too (no /etc/hosts with [dns] servers): not in *.test.
  EXPECT_EQ(addresses_of(env, "localhost").code(), Errc::unavailable);
  // Numeric hosts are still answered without a query.
  auto numeric = addresses_of(env, "192.0.2.1");
  ASSERT_TRUE(numeric.ok());
  EXPECT_EQ(*numeric, (std::vector<std::string>{"192.0.2.1"}));
}

TEST(DnsServers, Ipv6ServerAddress) {
  if (!Dnsmasq::available()) GTEST_SKIP() << "no /usr/sbin/dnsmasq (Debian package dnsmasq-base)";
  if (!Dnsmasq::ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback";
  Dnsmasq server(true);
  ASSERT_TRUE(server.ready()) << "dnsmasq did not answer on port " << server.port();
  AsioEnv env(with_servers({{"::1", server.port()}}));
  auto mx = mx_of(env, "b.test");
  ASSERT_TRUE(mx.ok()) << mx.error().detail;
  EXPECT_EQ(mx->size(), 2u);
  auto a = addresses_of(env, "mx2.b.test");
  ASSERT_TRUE(a.ok()) << a.error().detail;
  EXPECT_EQ(*a, (std::vector<std::string>{"127.0.0.2"}));
}

// A second server is tried when the first one does not answer (RFC 1035 §4.2.1).
TEST(DnsServers, NextServerWhenTheFirstIsSilent) {
  if (!Dnsmasq::available()) GTEST_SKIP() << "no /usr/sbin/dnsmasq (Debian package dnsmasq-base)";
  Dnsmasq server(false);
  ASSERT_TRUE(server.ready());
  const int silent = bound_udp(AF_INET);
  ASSERT_GE(silent, 0);
  AsioEnv env(with_servers({{"127.0.0.1", port_of(silent)}, {"127.0.0.1", server.port()}}, 1s, 1));
  auto mx = mx_of(env, "b.test");
  ::close(silent);
  ASSERT_TRUE(mx.ok()) << mx.error().detail;
  EXPECT_EQ(mx->size(), 2u);
}

// No dnsmasq needed: a socket that never answers (the resolver gives up: unavailable; the
// caller's deadline first: timeout), a port nobody listens on (port unreachable).
TEST(DnsServers, SilentOrClosedServerIsUnavailableAndTheDeadlineIsATimeout) {
  const int silent = bound_udp(AF_INET);
  ASSERT_GE(silent, 0);
  {
    AsioEnv env(with_servers({{"127.0.0.1", port_of(silent)}}, 1s, 1));
    EXPECT_EQ(mx_of(env, "b.test").code(), Errc::unavailable);
    EXPECT_EQ(addresses_of(env, "mx.b.test").code(), Errc::unavailable);
    EXPECT_EQ(mx_of(env, "b.test", 1ms).code(), Errc::timeout);
  }
  ::close(silent);
  const std::uint16_t closed = free_udp_port(false);
  ASSERT_NE(closed, 0);
  AsioEnv env(with_servers({{"127.0.0.1", closed}}, 1s, 1));
  EXPECT_EQ(mx_of(env, "b.test").code(), Errc::unavailable);
}

}  // namespace
}  // namespace mail::io
