// TlsStream over real loopback sockets (AsioEnv) and real OpenSSL: handshake and data both
// ways, a 1 MiB transfer, close_notify reaching the peer as end of stream, bytes already
// read before the handshake (the STARTTLS race), plaintext garbage and a silent client
// (handshake failure and timeout).
#include "node/tls_stream.h"

#include <gtest/gtest.h>

#include "io/io_test_util.h"
#include "node/tls_test_util.h"

namespace mail::node {
namespace {

using io::test::bytes_of;
using io::test::connect_pair;
using io::test::Connected;
using io::test::run_task;

struct Contexts : test::TlsContexts {
  // TLS streams over raw loopback streams, the server's optionally with bytes already read.
  std::unique_ptr<TlsStream> server_over(io::AsioEnv& e, std::unique_ptr<rt::Stream> raw, std::string initial = {}) {
    return std::make_unique<TlsStream>(e.executor(), std::move(raw),
                                       std::make_unique<tls::TlsEngine>(*server, tls::Role::server), std::move(initial));
  }
  std::unique_ptr<TlsStream> client_over(io::AsioEnv& e, std::unique_ptr<rt::Stream> raw) {
    return std::make_unique<TlsStream>(e.executor(), std::move(raw),
                                       std::make_unique<tls::TlsEngine>(*client, tls::Role::client, test::kTestTlsHostname));
  }
};

auto handshake(TlsStream& s, Instant deadline) {
  return rt::async_op<tls::ev::HandshakeDone>(
      [&s, deadline](rt::Completion<tls::ev::HandshakeDone> c) { s.async_handshake(deadline, std::move(c)); });
}

// Starts the handshake now (async_op is lazy) and lets the caller collect the result later.
struct EagerHandshake {
  std::optional<Result<tls::ev::HandshakeDone>> result;
  void start(TlsStream& s, Instant deadline) {
    s.async_handshake(deadline, [this](Result<tls::ev::HandshakeDone> r) { result = std::move(r); });
  }
  rt::Task<Result<tls::ev::HandshakeDone>> wait(io::AsioEnv& env) {
    auto timer = env.clock().make_timer();
    while (!result) (void)co_await rt::sleep_until(*timer, env.clock().now() + 1ms);
    co_return std::move(*result);
  }
};

// Reads until `n` bytes or end of stream.
rt::Task<std::string> read_n(rt::Stream& s, std::size_t n, Instant deadline) {
  std::string out;
  std::vector<std::byte> buf(64 * 1024);
  while (out.size() < n) {
    auto r = co_await rt::read_some(s, buf, deadline);
    if (!r.ok()) break;
    out.append(reinterpret_cast<const char*>(buf.data()), *r);
  }
  co_return out;
}

TEST(TlsStream, HandshakeDataBothWaysAndCloseNotify) {
  io::AsioEnv env(io::test::test_options());
  Contexts ctx;
  run_task(env, [](io::AsioEnv& e, Contexts& x) -> rt::Task<void> {
    Connected raw = co_await connect_pair(e);
    if (!raw.server || !raw.client) co_return;
    auto server_ptr = x.server_over(e, std::move(raw.server));
    auto client_ptr = x.client_over(e, std::move(raw.client));
    TlsStream& server = *server_ptr;
    TlsStream& client = *client_ptr;
    const Instant deadline = e.clock().now() + 10s;
    EagerHandshake server_hs;
    server_hs.start(server, deadline);
    auto client_hs = co_await handshake(client, deadline);
    auto server_done = co_await server_hs.wait(e);
    EXPECT_TRUE(client_hs.ok()) << (client_hs.ok() ? "" : client_hs.error().detail);
    EXPECT_TRUE(server_done.ok()) << (server_done.ok() ? "" : server_done.error().detail);
    if (!client_hs.ok() || !server_done.ok()) co_return;
    EXPECT_EQ(client_hs->version, "TLSv1.3");
    EXPECT_TRUE(client_hs->peer_verified);

    const std::string hello = "EHLO client.test\r\n";
    const auto hello_bytes = bytes_of(hello);
    auto w = co_await rt::write_all(client, hello_bytes, deadline);
    EXPECT_TRUE(w.ok());
    EXPECT_EQ(co_await read_n(server, hello.size(), deadline), hello);

    // 1 MiB the other way, several records and inner writes.
    std::string big(1 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
    const auto big_bytes = bytes_of(big);
    std::optional<Status> written;
    server.async_write_all(big_bytes, deadline, [&written](Status st) { written = std::move(st); });
    EXPECT_EQ(co_await read_n(client, big.size(), deadline), big);
    auto timer = e.clock().make_timer();
    while (!written) (void)co_await rt::sleep_until(*timer, e.clock().now() + 1ms);
    EXPECT_TRUE(written->ok());

    // close_notify + FIN: the client reads end of stream.
    server.shutdown_send();
    std::vector<std::byte> buf(16);
    auto end = co_await rt::read_some(client, buf, deadline);
    EXPECT_EQ(end.code(), Errc::eof);
  }(env, ctx));
}

TEST(TlsStream, CiphertextReadBeforeTheHandshakeIsUsed) {
  io::AsioEnv env(io::test::test_options());
  Contexts ctx;
  run_task(env, [](io::AsioEnv& e, Contexts& x) -> rt::Task<void> {
    Connected raw = co_await connect_pair(e);
    if (!raw.server || !raw.client) co_return;
    const Instant deadline = e.clock().now() + 10s;
    auto client = x.client_over(e, std::move(raw.client));
    EagerHandshake client_hs;
    client_hs.start(*client, deadline);
    // The server's driver had a plain read in flight when the ClientHello arrived.
    std::vector<std::byte> first(64 * 1024);
    auto got = co_await rt::read_some(*raw.server, first, deadline);
    EXPECT_TRUE(got.ok());
    if (!got.ok()) co_return;
    std::string initial(reinterpret_cast<const char*>(first.data()), *got);
    auto server = x.server_over(e, std::move(raw.server), std::move(initial));
    auto s = co_await handshake(*server, deadline);
    auto c = co_await client_hs.wait(e);
    EXPECT_TRUE(s.ok());
    EXPECT_TRUE(c.ok());
  }(env, ctx));
}

TEST(TlsStream, PlaintextGarbageFailsTheHandshake) {
  io::AsioEnv env(io::test::test_options());
  Contexts ctx;
  run_task(env, [](io::AsioEnv& e, Contexts& x) -> rt::Task<void> {
    Connected raw = co_await connect_pair(e);
    if (!raw.server || !raw.client) co_return;
    const Instant deadline = e.clock().now() + 10s;
    const std::string smuggled = "RSET\r\nMAIL FROM:<evil@x.test>\r\n";
    const auto smuggled_bytes = bytes_of(smuggled);
    auto w = co_await rt::write_all(*raw.client, smuggled_bytes, deadline);
    EXPECT_TRUE(w.ok());
    auto server = x.server_over(e, std::move(raw.server));
    auto s = co_await handshake(*server, deadline);
    EXPECT_FALSE(s.ok());
    if (!s.ok()) {
      EXPECT_EQ(s.code(), Errc::invalid) << s.error().detail;
    }
  }(env, ctx));
}

TEST(TlsStream, SilentClientTimesOut) {
  io::AsioEnv env(io::test::test_options());
  Contexts ctx;
  run_task(env, [](io::AsioEnv& e, Contexts& x) -> rt::Task<void> {
    Connected raw = co_await connect_pair(e);
    if (!raw.server || !raw.client) co_return;
    auto server = x.server_over(e, std::move(raw.server));
    auto s = co_await handshake(*server, e.clock().now() + 200ms);
    EXPECT_EQ(s.code(), Errc::timeout);
  }(env, ctx));
}

}  // namespace
}  // namespace mail::node
