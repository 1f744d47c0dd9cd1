// Test helpers for tests that run on the production Env (io_test, the store and node tests):
// run one coroutine on an AsioEnv until it finishes, with a watchdog so a hung operation
// fails the test instead of hanging ctest; stream helpers and cases the TCP and Unix socket
// tests share. Tests only.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "io/asio_env.h"
#include "runtime/await.h"
#include "runtime/task.h"

namespace mail::io::test {

inline rt::Task<void> finish_then_stop(AsioEnv& env, rt::Task<void> task, bool* finished) {
  co_await std::move(task);
  *finished = true;
  // Posted, not direct: a task that never suspended must not leave a stale stop request.
  env.executor().post([&env] { env.stop(); });
}

// Spawns `task` on `env` and runs the loop until it finishes or `limit` passes.
inline void run_task(AsioEnv& env, rt::Task<void> task, Duration limit = 20s) {
  bool finished = false;
  bool watchdog_fired = false;
  auto watchdog = env.clock().make_timer();
  watchdog->async_wait_until(env.clock().now() + limit, [&env, &watchdog_fired](Result<void> r) {
    if (!r) return;
    watchdog_fired = true;
    env.stop();
  });
  env.tasks().spawn(finish_then_stop(env, std::move(task), &finished));
  env.run();
  watchdog->cancel();
  EXPECT_FALSE(watchdog_fired) << "the task did not finish within the watchdog limit";
  EXPECT_TRUE(finished);
}

inline std::span<const std::byte> bytes_of(std::string_view s) { return std::as_bytes(std::span<const char>(s.data(), s.size())); }

inline std::string string_of(std::span<const std::byte> b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

// Both ends of a loopback TCP connection (empty when connecting failed; the test fails).
struct Connected {
  std::unique_ptr<rt::Stream> server, client;
};

inline rt::Task<Connected> connect_pair(AsioEnv& env) {
  auto l = env.net().listen({"127.0.0.1", 0});
  EXPECT_TRUE(l.ok());
  if (!l.ok()) co_return Connected{};
  auto accepting = rt::accept(**l);
  auto c = co_await rt::connect(env.net(), (*l)->local_endpoint(), env.clock().now() + 5s);
  auto s = co_await std::move(accepting);
  Connected out;
  if (c.ok() && s.ok()) {
    out.client = std::move(*c);
    out.server = std::move(*s);
  }
  co_return out;
}

// Reads until eof; returns everything read, or the error.
inline rt::Task<Result<std::string>> read_to_eof(rt::Stream& s, Instant deadline) {
  std::string out;
  std::byte buf[4096];
  for (;;) {
    auto r = co_await rt::read_some(s, buf, deadline);
    if (r.code() == Errc::eof) co_return out;
    if (!r) co_return fail(r.error());
    out += string_of(std::span<const std::byte>(buf, *r));
  }
}

// A server that accepts one connection and then holds it open, silent, in `*keep`.
inline rt::Task<void> silent_server(rt::Listener& l, std::unique_ptr<rt::Stream>* keep) {
  auto s = co_await rt::accept(l);
  EXPECT_TRUE(s.ok());
  if (s) *keep = std::move(*s);
}

// Listens on `at`, connects to it with a silent server on the other end, and checks that a
// read deadline ends only the read (Errc::timeout, not before the deadline): the stream
// still writes (the 421 case) and reads again, both ways. For TCP and Unix sockets alike.
inline rt::Task<void> read_deadline_case(AsioEnv& env, rt::Endpoint at) {
  auto l = env.net().listen(at);
  EXPECT_TRUE(l.ok());
  if (!l) co_return;
  std::unique_ptr<rt::Stream> server_side;
  env.tasks().spawn(silent_server(**l, &server_side));
  auto c = co_await rt::connect(env.net(), (*l)->local_endpoint(), env.clock().now() + 5s);
  EXPECT_TRUE(c.ok());
  if (!c) co_return;
  std::byte buf[16];
  const Instant start = env.clock().now();
  auto r = co_await rt::read_some(**c, buf, start + 50ms);
  EXPECT_EQ(r.code(), Errc::timeout);
  EXPECT_GE(env.clock().now() - start, 50ms);
  // A read timeout cancels only the read: the stream still writes (the 421 case) and
  // reads again.
  auto w = co_await rt::write_all(**c, bytes_of("421 bye\r\n"), env.clock().now() + 5s);
  EXPECT_TRUE(w.ok());
  EXPECT_TRUE(server_side != nullptr);
  if (!server_side) co_return;
  auto got = co_await rt::read_some(*server_side, buf, env.clock().now() + 5s);
  EXPECT_TRUE(got.ok());
  if (got) {
    EXPECT_EQ(string_of(std::span<const std::byte>(buf, *got)), "421 bye\r\n");
  }
  auto w2 = co_await rt::write_all(*server_side, bytes_of("again"), env.clock().now() + 5s);
  EXPECT_TRUE(w2.ok());
  auto r2 = co_await rt::read_some(**c, buf, env.clock().now() + 5s);
  EXPECT_TRUE(r2.ok());
}

inline AsioEnvOptions test_options() {
  AsioEnvOptions o;
  o.hostname = "test.invalid";
  o.rng_seed = 42;
  o.log_level_min = rt::LogLevel::warn;
  return o;
}

// Options for the store and node tests: a fixed host name (their Received: assertions name
// it), a seeded rng for reproducible names and queue ids, two disk workers.
inline AsioEnvOptions seeded_options(std::string hostname, std::uint64_t seed) {
  AsioEnvOptions o;
  o.hostname = std::move(hostname);
  o.disk_threads = 2;
  o.rng_seed = seed;
  return o;
}

}  // namespace mail::io::test
