// AsioEnv Net on Unix domain stream sockets ("unix:<path>" endpoints) in a fresh directory
// under /tmp: echo both ways and the endpoints of both ends, the socket file's mode 0600
// (even under umask 0), a stale file replaced, a live listener or a non-socket refused,
// paths too long, close() removing the file (only its own), read and connect deadlines,
// missing and stale targets. Also the Endpoint helpers of runtime/env.h.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "io/io_test_util.h"

namespace mail::io {
namespace {

using test::bytes_of;
using test::read_to_eof;
using test::run_task;
using test::string_of;

TEST(UnixEndpoint, HelpersAndToString) {
  const rt::Endpoint control{"unix:/var/lib/cloudsdial/a:b.sock", 0};
  EXPECT_TRUE(rt::is_unix_endpoint(control));
  EXPECT_EQ(rt::unix_path(control), "/var/lib/cloudsdial/a:b.sock");
  EXPECT_EQ(control.to_string(), "unix:/var/lib/cloudsdial/a:b.sock");  // as is: no brackets, no port
  const rt::Endpoint unnamed{"unix:", 0};
  EXPECT_TRUE(rt::is_unix_endpoint(unnamed));
  EXPECT_EQ(rt::unix_path(unnamed), "");
  EXPECT_FALSE(rt::is_unix_endpoint(rt::Endpoint{"::1", 25}));
  EXPECT_FALSE(rt::is_unix_endpoint(rt::Endpoint{"unix", 0}));
  EXPECT_EQ((rt::Endpoint{"::1", 25}).to_string(), "[::1]:25");
  EXPECT_EQ((rt::Endpoint{"127.0.0.1", 25}).to_string(), "127.0.0.1:25");
}

// A server binding `path` by hand and never listening: what a crashed server leaves.
void make_stale_socket_file(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(addr.sun_path));
  path.copy(addr.sun_path, path.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);  // the file stays; nothing listens on it
}

std::optional<struct stat> stat_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
  return st;
}

class UnixSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cdunix-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string path(std::string_view name) const {
    std::string out = dir_;
    out += '/';
    out += name;
    return out;
  }
  static rt::Endpoint unix_ep(const std::string& p) {
    rt::Endpoint ep;
    ep.address = "unix:";
    ep.address += p;
    return ep;
  }

  AsioEnv env{test::test_options()};
  std::string dir_;
};

struct SeenByServer {
  rt::Endpoint local;
  rt::Endpoint remote;
};

// Reads to eof, writes back what it read reversed, half-closes.
rt::Task<void> reversing_server(rt::Listener& l, Instant deadline, SeenByServer* seen) {
  auto s = co_await rt::accept(l);
  EXPECT_TRUE(s.ok()) << (s ? "" : s.error().detail);
  if (!s) co_return;
  seen->local = (*s)->local_endpoint();
  seen->remote = (*s)->remote_endpoint();
  auto all = co_await read_to_eof(**s, deadline);
  EXPECT_TRUE(all.ok());
  if (!all) co_return;
  const std::string back(all->rbegin(), all->rend());
  auto w = co_await rt::write_all(**s, bytes_of(back), deadline);
  EXPECT_TRUE(w.ok());
  (*s)->shutdown_send();
}

rt::Task<void> echo_case(AsioEnv& env, rt::Endpoint at) {
  auto l = env.net().listen(at);
  EXPECT_TRUE(l.ok()) << (l ? "" : l.error().detail);
  if (!l) co_return;
  EXPECT_EQ((*l)->local_endpoint(), at);
  const Instant deadline = env.clock().now() + 5s;
  SeenByServer seen;
  env.tasks().spawn(reversing_server(**l, deadline, &seen));

  auto c = co_await rt::connect(env.net(), at, deadline);
  EXPECT_TRUE(c.ok()) << (c ? "" : c.error().detail);
  if (!c) co_return;
  rt::Stream& s = **c;
  // The server end is named by the public path (never the temporary bind name); the
  // client end is unnamed.
  EXPECT_EQ(s.remote_endpoint(), at);
  EXPECT_EQ(s.local_endpoint(), (rt::Endpoint{"unix:", 0}));
  std::string big(300'000, 'x');  // more than one socket buffer and one read
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  auto w = co_await rt::write_all(s, bytes_of(big), deadline);
  EXPECT_TRUE(w.ok());
  s.shutdown_send();
  auto back = co_await read_to_eof(s, deadline);
  EXPECT_TRUE(back.ok());
  if (back) {
    EXPECT_EQ(*back, std::string(big.rbegin(), big.rend()));
  }
  EXPECT_EQ(seen.local, at);
  EXPECT_EQ(seen.remote, (rt::Endpoint{"unix:", 0}));
}

TEST_F(UnixSocketTest, EchoBothWaysAndEndpoints) {
  run_task(env, echo_case(env, unix_ep(path("control.sock"))));
  // Nothing else left in the directory: the temporary name was renamed, and the
  // listener (destroyed with the task) removed the socket file.
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

TEST_F(UnixSocketTest, SocketFileIsASocketWithMode0600EvenUnderUmask0) {
  const std::string p = path("control.sock");
  const ::mode_t old_mask = ::umask(0);
  auto l = env.net().listen(unix_ep(p));
  ::umask(old_mask);
  ASSERT_TRUE(l.ok()) << l.error().detail;
  const auto st = stat_of(p);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(S_ISSOCK(st->st_mode));
  EXPECT_EQ(st->st_mode & 07777, 0600u);
  EXPECT_EQ(st->st_uid, ::geteuid());
  // Only the public name exists (no temporary one left behind).
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"control.sock"});
}

rt::Task<void> connect_expect(AsioEnv& env, rt::Endpoint to, Errc want) {
  auto c = co_await rt::connect(env.net(), to, env.clock().now() + 5s);
  EXPECT_EQ(c.code(), want) << (c ? "connected" : c.error().detail);
}

TEST_F(UnixSocketTest, StaleSocketFileIsReplaced) {
  const std::string p = path("control.sock");
  make_stale_socket_file(p);
  const auto before = stat_of(p);
  ASSERT_TRUE(before.has_value());
  run_task(env, connect_expect(env, unix_ep(p), Errc::refused));  // stale: nobody listens
  auto l = env.net().listen(unix_ep(p));
  ASSERT_TRUE(l.ok()) << l.error().detail;
  const auto after = stat_of(p);
  ASSERT_TRUE(after.has_value());
  EXPECT_NE(after->st_ino, before->st_ino);
  EXPECT_EQ(after->st_mode & 07777, 0600u);
  run_task(env, connect_expect(env, unix_ep(p), Errc::ok));
}

TEST_F(UnixSocketTest, LiveListenerIsNotReplaced) {
  const std::string p = path("control.sock");
  auto first = env.net().listen(unix_ep(p));
  ASSERT_TRUE(first.ok()) << first.error().detail;
  const auto before = stat_of(p);
  ASSERT_TRUE(before.has_value());
  auto second = env.net().listen(unix_ep(p));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.code(), Errc::exists);
  std::string want = "another server is listening on ";
  want += p;
  EXPECT_EQ(second.error().detail, want);
  // The first listener's file is untouched and still answers.
  const auto after = stat_of(p);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->st_ino, before->st_ino);
  run_task(env, connect_expect(env, unix_ep(p), Errc::ok));
}

TEST_F(UnixSocketTest, FileThatIsNotASocketIsNotReplaced) {
  const std::string p = path("control.sock");
  { std::ofstream(p) << "not a socket\n"; }
  auto l = env.net().listen(unix_ep(p));
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.code(), Errc::exists);
  const auto st = stat_of(p);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(S_ISREG(st->st_mode));
}

TEST_F(UnixSocketTest, PathTooLongOrMalformedIsInvalid) {
  // 150 bytes: more than sun_path holds.
  const std::string too_long = path(std::string(150 - dir_.size() - 1, 'p'));
  ASSERT_EQ(too_long.size(), 150u);
  auto l = env.net().listen(unix_ep(too_long));
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.code(), Errc::invalid);
  EXPECT_NE(l.error().detail.find("socket path too long (150 bytes, at most 95"), std::string::npos) << l.error().detail;
  run_task(env, connect_expect(env, unix_ep(too_long), Errc::invalid));
  // 100 bytes: fits sun_path for a connect, not with listen's temporary suffix.
  const std::string fits_connect_only = path(std::string(100 - dir_.size() - 1, 'q'));
  ASSERT_EQ(fits_connect_only.size(), 100u);
  auto l2 = env.net().listen(unix_ep(fits_connect_only));
  EXPECT_EQ(l2.code(), Errc::invalid);
  run_task(env, connect_expect(env, unix_ep(fits_connect_only), Errc::not_found));
  // No path, a port, a NUL.
  EXPECT_EQ(env.net().listen(rt::Endpoint{"unix:", 0}).code(), Errc::invalid);
  rt::Endpoint with_port = unix_ep(path("a.sock"));
  with_port.port = 25;
  EXPECT_EQ(env.net().listen(with_port).code(), Errc::invalid);
  rt::Endpoint with_nul = unix_ep(path("a.sock"));
  with_nul.address.push_back('\0');
  with_nul.address += "b";
  EXPECT_EQ(env.net().listen(with_nul).code(), Errc::invalid);
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

TEST_F(UnixSocketTest, CloseOrDestroyRemovesTheSocketFile) {
  const std::string p = path("control.sock");
  auto l = env.net().listen(unix_ep(p));
  ASSERT_TRUE(l.ok()) << l.error().detail;
  ASSERT_TRUE(stat_of(p).has_value());
  (*l)->close();
  EXPECT_FALSE(stat_of(p).has_value());
  run_task(env, connect_expect(env, unix_ep(p), Errc::not_found));

  auto l2 = env.net().listen(unix_ep(p));
  ASSERT_TRUE(l2.ok()) << l2.error().detail;
  ASSERT_TRUE(stat_of(p).has_value());
  l2->reset();
  EXPECT_FALSE(stat_of(p).has_value());
}

TEST_F(UnixSocketTest, CloseLeavesAFileThatIsNoLongerItsOwn) {
  const std::string p = path("control.sock");
  auto l = env.net().listen(unix_ep(p));
  ASSERT_TRUE(l.ok()) << l.error().detail;
  // Someone replaced the file meanwhile: it is theirs, close() must not remove it.
  ASSERT_EQ(::unlink(p.c_str()), 0);
  make_stale_socket_file(p);
  const auto theirs = stat_of(p);
  ASSERT_TRUE(theirs.has_value());
  (*l)->close();
  const auto after = stat_of(p);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->st_ino, theirs->st_ino);
}

TEST_F(UnixSocketTest, ListenerCloseCancelsPendingAccept) {
  auto l = env.net().listen(unix_ep(path("control.sock")));
  ASSERT_TRUE(l.ok()) << l.error().detail;
  std::optional<Errc> accepted;
  (*l)->async_accept([&](Result<std::unique_ptr<rt::Stream>> r) {
    accepted = r.code();
    env.stop();
  });
  (*l)->close();
  EXPECT_FALSE(accepted.has_value());  // never inline
  env.run();
  EXPECT_EQ(accepted, Errc::canceled);
}

TEST_F(UnixSocketTest, ReadDeadlineTimesOutAndStreamStaysUsable) {
  // As over TCP (test::read_deadline_case): the stream stays usable after a read timeout.
  run_task(env, test::read_deadline_case(env, unix_ep(path("control.sock"))));
}

rt::Task<void> connect_deadline_case(AsioEnv& env, rt::Endpoint at) {
  auto c = co_await rt::connect(env.net(), at, env.clock().now() + 200ms);
  EXPECT_EQ(c.code(), Errc::timeout) << (c ? "connected" : c.error().detail);
}

// A listener whose backlog is full: Linux fails a non-blocking Unix connect with EAGAIN
// and never queues it, so only our deadline ends the connect.
TEST_F(UnixSocketTest, ConnectDeadlineTimesOutOnAFullBacklog) {
  const std::string p = path("busy.sock");
  const int lfd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(lfd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  p.copy(addr.sun_path, p.size());
  ASSERT_EQ(::bind(lfd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(lfd, 0), 0);
  std::vector<int> fillers;  // never accepted
  bool full = false;
  for (int i = 0; i < 16 && !full; ++i) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd, 0);
    fillers.push_back(fd);
    full = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0 && errno == EAGAIN;
  }
  ASSERT_TRUE(full);
  // The same path through listen() would be refused: the listener is live.
  EXPECT_EQ(env.net().listen(unix_ep(p)).code(), Errc::exists);
  run_task(env, connect_deadline_case(env, unix_ep(p)));
  for (int fd : fillers) ::close(fd);
  ::close(lfd);
}

TEST_F(UnixSocketTest, ConnectErrorsCompleteLater) {
  bool returned = false;
  std::optional<Errc> got;
  bool ran_before_return = false;
  env.net().async_connect(unix_ep(path("nobody.sock")), instant_max(), [&](Result<std::unique_ptr<rt::Stream>> r) {
    ran_before_return = !returned;
    got = r.code();
    env.stop();
  });
  returned = true;
  EXPECT_FALSE(got.has_value());
  env.run();
  EXPECT_EQ(got, Errc::not_found);  // no server: no socket file
  EXPECT_FALSE(ran_before_return);
}

}  // namespace
}  // namespace mail::io
