// AsioEnv Net on real loopback sockets (127.0.0.1 and ::1, ephemeral ports): echo, read
// and write deadlines, connect refused and connect deadline, peer close -> eof, close
// and destruction with pending operations -> canceled, completions never inline.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <vector>

#include "io/io_test_util.h"

namespace mail::io {
namespace {

using test::bytes_of;
using test::read_to_eof;
using test::run_task;
using test::silent_server;
using test::string_of;

class NetTest : public ::testing::TestWithParam<const char*> {
 protected:
  AsioEnv env{test::test_options()};
  Instant soon(Duration d = 5s) { return env.clock().now() + d; }
};

INSTANTIATE_TEST_SUITE_P(Loopback, NetTest, ::testing::Values("127.0.0.1", "::1"));

class NetMisc : public ::testing::Test {
 protected:
  AsioEnv env{test::test_options()};
};

rt::Task<void> echo_server(rt::Listener& l, Instant deadline, rt::Endpoint* peer_seen) {
  auto s = co_await rt::accept(l);
  EXPECT_TRUE(s.ok());
  if (!s) co_return;
  *peer_seen = (*s)->remote_endpoint();
  auto all = co_await read_to_eof(**s, deadline);
  EXPECT_TRUE(all.ok());
  if (!all) co_return;
  auto w = co_await rt::write_all(**s, bytes_of(*all), deadline);
  EXPECT_TRUE(w.ok());
  (*s)->shutdown_send();
}

rt::Task<void> echo_case(AsioEnv& env, std::string address) {
  auto l = env.net().listen({address, 0});
  EXPECT_TRUE(l.ok()) << (l ? "" : l.error().detail);
  if (!l) co_return;
  const rt::Endpoint at = (*l)->local_endpoint();
  EXPECT_EQ(at.address, address);
  EXPECT_NE(at.port, 0);
  const Instant deadline = env.clock().now() + 5s;
  rt::Endpoint peer_seen;
  env.tasks().spawn(echo_server(**l, deadline, &peer_seen));

  auto c = co_await rt::connect(env.net(), at, deadline);
  EXPECT_TRUE(c.ok()) << (c ? "" : c.error().detail);
  if (!c) co_return;
  rt::Stream& s = **c;
  EXPECT_EQ(s.remote_endpoint(), at);
  EXPECT_EQ(s.local_endpoint().address, address);
  std::string big(200'000, 'x');  // larger than one segment and one read
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  auto w = co_await rt::write_all(s, bytes_of(big), deadline);
  EXPECT_TRUE(w.ok());
  s.shutdown_send();
  auto back = co_await read_to_eof(s, deadline);
  EXPECT_TRUE(back.ok());
  if (back) {
    EXPECT_EQ(*back, big);
  }
  EXPECT_EQ(peer_seen, s.local_endpoint());
}

TEST_P(NetTest, EchoRoundTrip) { run_task(env, echo_case(env, GetParam())); }

TEST_P(NetTest, ReadDeadlineTimesOutAndStreamStaysUsable) {
  run_task(env, test::read_deadline_case(env, rt::Endpoint{GetParam(), 0}));
}

rt::Task<void> write_deadline_case(AsioEnv& env, std::string address) {
  auto l = env.net().listen({address, 0});
  EXPECT_TRUE(l.ok());
  if (!l) co_return;
  std::unique_ptr<rt::Stream> server_side;  // never reads
  env.tasks().spawn(silent_server(**l, &server_side));
  auto c = co_await rt::connect(env.net(), (*l)->local_endpoint(), env.clock().now() + 5s);
  EXPECT_TRUE(c.ok());
  if (!c) co_return;
  const std::string huge(64u << 20, 'z');  // far more than loopback socket buffers hold
  auto w = co_await rt::write_all(**c, bytes_of(huge), env.clock().now() + 200ms);
  EXPECT_EQ(w.code(), Errc::timeout);
}

TEST_P(NetTest, WriteDeadlineTimesOut) { run_task(env, write_deadline_case(env, GetParam())); }

rt::Task<void> refused_case(AsioEnv& env, std::string address) {
  rt::Endpoint at;
  {
    auto l = env.net().listen({address, 0});
    EXPECT_TRUE(l.ok());
    if (!l) co_return;
    at = (*l)->local_endpoint();
  }  // closed: nothing listens on `at` any more
  auto c = co_await rt::connect(env.net(), at, env.clock().now() + 5s);
  EXPECT_EQ(c.code(), Errc::refused);
}

TEST_P(NetTest, ConnectRefused) { run_task(env, refused_case(env, GetParam())); }

rt::Task<void> closing_server(rt::Listener& l) {
  auto s = co_await rt::accept(l);
  EXPECT_TRUE(s.ok());
  if (s) (*s)->close();
}

rt::Task<void> eof_case(AsioEnv& env, std::string address) {
  auto l = env.net().listen({address, 0});
  EXPECT_TRUE(l.ok());
  if (!l) co_return;
  env.tasks().spawn(closing_server(**l));
  auto c = co_await rt::connect(env.net(), (*l)->local_endpoint(), env.clock().now() + 5s);
  EXPECT_TRUE(c.ok());
  if (!c) co_return;
  std::byte buf[16];
  auto r = co_await rt::read_some(**c, buf, env.clock().now() + 5s);
  EXPECT_EQ(r.code(), Errc::eof);
}

TEST_P(NetTest, PeerCloseIsEof) { run_task(env, eof_case(env, GetParam())); }

rt::Task<void> reset_case(AsioEnv& env, std::string address) {
  auto l = env.net().listen({address, 0});
  EXPECT_TRUE(l.ok());
  if (!l) co_return;
  env.tasks().spawn(closing_server(**l));
  auto c = co_await rt::connect(env.net(), (*l)->local_endpoint(), env.clock().now() + 5s);
  EXPECT_TRUE(c.ok());
  if (!c) co_return;
  // Writing to a closed peer draws an RST; the next write fails EPIPE/ECONNRESET. That
  // must be a value (Errc::reset), never a SIGPIPE (asio sends with MSG_NOSIGNAL).
  auto t = env.clock().make_timer();
  Errc last = Errc::ok;
  for (int i = 0; i < 50 && last == Errc::ok; ++i) {
    auto slept = co_await rt::sleep_until(*t, env.clock().now() + 10ms);
    EXPECT_TRUE(slept.ok());
    last = (co_await rt::write_all(**c, bytes_of("data\r\n"), env.clock().now() + 5s)).code();
  }
  EXPECT_EQ(last, Errc::reset);
}

TEST_P(NetTest, WriteToClosedPeerIsReset) { run_task(env, reset_case(env, GetParam())); }

rt::Task<void> close_pending_case(AsioEnv& env, std::string address) {
  auto l = env.net().listen({address, 0});
  EXPECT_TRUE(l.ok());
  if (!l) co_return;
  std::unique_ptr<rt::Stream> server_side;
  env.tasks().spawn(silent_server(**l, &server_side));
  auto c = co_await rt::connect(env.net(), (*l)->local_endpoint(), env.clock().now() + 5s);
  EXPECT_TRUE(c.ok());
  if (!c) co_return;

  // close() with a read pending: the read completes canceled, later.
  std::byte buf[16];
  std::optional<Errc> closed_read;
  (*c)->async_read_some(buf, instant_max(), [&](Result<std::size_t> r) { closed_read = r.code(); });
  (*c)->close();
  EXPECT_FALSE(closed_read.has_value());  // not inline
  // Destroying a stream with a read pending: same, and the handler must not touch freed
  // memory (ASan watches).
  auto c2 = co_await rt::connect(env.net(), (*l)->local_endpoint(), env.clock().now() + 5s);
  EXPECT_TRUE(c2.ok());
  if (!c2) co_return;
  std::byte buf2[16];
  std::optional<Errc> destroyed_read;
  (*c2)->async_read_some(buf2, env.clock().now() + 5s, [&](Result<std::size_t> r) { destroyed_read = r.code(); });
  c2->reset();

  auto t = env.clock().make_timer();
  auto slept = co_await rt::sleep_until(*t, env.clock().now() + 20ms);
  EXPECT_TRUE(slept.ok());
  EXPECT_EQ(closed_read, Errc::canceled);
  EXPECT_EQ(destroyed_read, Errc::canceled);
}

TEST_P(NetTest, CloseOrDestroyWithPendingReadCancels) { run_task(env, close_pending_case(env, GetParam())); }

rt::Task<void> listener_close_case(AsioEnv& env, std::string address) {
  auto l = env.net().listen({address, 0});
  EXPECT_TRUE(l.ok());
  if (!l) co_return;
  std::optional<Errc> accepted;
  (*l)->async_accept([&](Result<std::unique_ptr<rt::Stream>> r) { accepted = r.code(); });
  (*l)->close();
  EXPECT_FALSE(accepted.has_value());
  auto l2 = env.net().listen({address, 0});
  EXPECT_TRUE(l2.ok());
  if (!l2) co_return;
  std::optional<Errc> accepted2;
  (*l2)->async_accept([&](Result<std::unique_ptr<rt::Stream>> r) { accepted2 = r.code(); });
  l2->reset();
  auto t = env.clock().make_timer();
  auto slept = co_await rt::sleep_until(*t, env.clock().now() + 20ms);
  EXPECT_TRUE(slept.ok());
  EXPECT_EQ(accepted, Errc::canceled);
  EXPECT_EQ(accepted2, Errc::canceled);
}

TEST_P(NetTest, ListenerCloseOrDestroyCancelsAccept) { run_task(env, listener_close_case(env, GetParam())); }

// A listener whose accept queue is full drops new SYNs, so a connect to it hangs on
// loopback until our deadline ends it — no packet leaves the machine.
rt::Task<void> connect_deadline_case(AsioEnv& env, std::string address, std::uint16_t port) {
  const Instant start = env.clock().now();
  // Named, not a braced temporary: GCC 12 destroys braced temporaries inside a co_await
  // expression twice.
  const rt::Endpoint at{address, port};
  auto c = co_await rt::connect(env.net(), at, start + 200ms);
  EXPECT_EQ(c.code(), Errc::timeout) << (c ? "connected" : c.error().detail);
  EXPECT_GE(env.clock().now() - start, 200ms);
}

TEST_P(NetTest, ConnectDeadlineTimesOut) {
  const std::string address = GetParam();
  const bool v6 = address.find(':') != std::string::npos;
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    ASSERT_EQ(::inet_pton(AF_INET6, address.c_str(), &a->sin6_addr), 1);
    len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    ASSERT_EQ(::inet_pton(AF_INET, address.c_str(), &a->sin_addr), 1);
    len = sizeof(sockaddr_in);
  }
  const int lfd = ::socket(ss.ss_family, SOCK_STREAM, 0);
  ASSERT_GE(lfd, 0);
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&ss), len), 0);
  ASSERT_EQ(::listen(lfd, 0), 0);
  ASSERT_EQ(::getsockname(lfd, reinterpret_cast<sockaddr*>(&ss), &len), 0);
  const std::uint16_t port = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  std::vector<int> fillers;  // fill the accept queue (never accepted)
  for (int i = 0; i < 4; ++i) {
    const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd, 0);
    (void)::connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
    fillers.push_back(fd);
  }
  ::usleep(20'000);
  run_task(env, connect_deadline_case(env, address, port));
  for (int fd : fillers) ::close(fd);
  ::close(lfd);
}

TEST_F(NetMisc, ListenRejectsBadAddressAndBusyPort) {
  auto bad = env.net().listen({"not-an-ip", 0});
  EXPECT_EQ(bad.code(), Errc::invalid);
  auto first = env.net().listen({"127.0.0.1", 0});
  ASSERT_TRUE(first.ok());
  auto second = env.net().listen((*first)->local_endpoint());
  EXPECT_FALSE(second.ok());  // EADDRINUSE: SO_REUSEADDR does not allow two listeners
}

TEST_F(NetMisc, CompletionsNeverRunInsideTheCall) {
  bool returned = false;
  bool ran_before_return = false;
  bool ran = false;
  // An error detected up front (bad address) still completes later, from the loop.
  env.net().async_connect({"bad address", 1}, instant_max(), [&](Result<std::unique_ptr<rt::Stream>> r) {
    ran_before_return = !returned;
    ran = true;
    EXPECT_EQ(r.code(), Errc::invalid);
    env.stop();
  });
  returned = true;
  EXPECT_FALSE(ran);
  env.run();
  EXPECT_TRUE(ran);
  EXPECT_FALSE(ran_before_return);
}

}  // namespace
}  // namespace mail::io
