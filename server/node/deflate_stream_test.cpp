// The DEFLATE layer of IMAP COMPRESS (RFC 4978): the zlib codec alone (round trip with a
// client-like compressor at windowBits -15, input split into single octets, corrupt input,
// a deflate bomb inflated through a small span, the memory of one compressed session) and
// DeflateStream over real loopback sockets (AsioEnv): data both ways with sync flushes, a
// stream fed one octet per TCP write, bytes read before the layer existed, corrupt input
// failing the read, and a bomb read through the stream with bounded buffers.
#include "node/deflate_stream.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <iostream>

#include "io/io_test_util.h"

namespace mail::node {
namespace {

using io::test::bytes_of;
using io::test::connect_pair;
using io::test::Connected;
using io::test::run_task;

// What a client like Python's zlib.compressobj(wbits=-15) sends: raw deflate, 32 KiB
// window, default level and memLevel, a sync flush after each piece.
struct ClientCompressor {
  z_stream z{};
  explicit ClientCompressor(int level = Z_DEFAULT_COMPRESSION) {
    EXPECT_EQ(deflateInit2(&z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  }
  ~ClientCompressor() { deflateEnd(&z); }
  std::string compress(std::string_view in, int flush = Z_SYNC_FLUSH) {
    std::string out;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    do {
      char buf[16384];
      z.next_out = reinterpret_cast<Bytef*>(buf);
      z.avail_out = sizeof buf;
      EXPECT_NE(deflate(&z, flush), Z_STREAM_ERROR);
      out.append(buf, sizeof buf - z.avail_out);
    } while (z.avail_out == 0);
    return out;
  }
};

// What a client decompresses with (zlib.decompressobj(wbits=-15)).
struct ClientInflater {
  z_stream z{};
  ClientInflater() { EXPECT_EQ(inflateInit2(&z, -15), Z_OK); }
  ~ClientInflater() { inflateEnd(&z); }
  std::string inflate(std::string_view in) {
    std::string out;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    do {
      char buf[16384];
      z.next_out = reinterpret_cast<Bytef*>(buf);
      z.avail_out = sizeof buf;
      const int rc = ::inflate(&z, Z_SYNC_FLUSH);
      EXPECT_TRUE(rc == Z_OK || rc == Z_BUF_ERROR) << rc;
      out.append(buf, sizeof buf - z.avail_out);
    } while (z.avail_out == 0);
    return out;
  }
};

std::string imap_like(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; s.size() < n; ++i) s += "* " + std::to_string(i) + " FETCH (FLAGS (\\Seen) UID " + std::to_string(i + 100) + ")\r\n";
  s.resize(n);
  return s;
}

// Inflates everything with spans of `span` octets; fails the test on a bad status.
std::string inflate_all(Inflater& in, std::string_view compressed, std::size_t span) {
  std::string out;
  std::string buf(span, '\0');
  for (;;) {
    auto step = in.inflate(compressed, std::span(buf.data(), buf.size()));
    compressed.remove_prefix(step.consumed);
    EXPECT_EQ(step.status, Inflater::Status::ok);
    EXPECT_LE(step.produced, span);
    out.append(buf.data(), step.produced);
    if (step.produced == 0 && compressed.empty()) return out;
    if (step.status != Inflater::Status::ok) return out;
  }
}

// ------------------------------------------------------------------------------ codec

TEST(DeflateCodec, Rfc4978_S4_OurOutputDecodesWithAClientInflaterAfterEachSyncFlush) {
  Deflater d{DeflateParams{}};
  ClientInflater client;
  for (int i = 0; i < 5; ++i) {
    const std::string piece = imap_like(1000 + 3000 * i);
    std::string wire;
    ASSERT_TRUE(d.compress(piece, true, wire).ok());
    EXPECT_LT(wire.size(), piece.size());
    // Each write is decodable in full on its own: the client never waits for more.
    EXPECT_EQ(client.inflate(wire), piece);
  }
}

TEST(DeflateCodec, Rfc4978_S4_ClientWindow32KiBInflatesSplitIntoSingleOctets) {
  ClientCompressor client;
  const std::string text = imap_like(200 * 1024);  // longer than the 32 KiB window
  const std::string wire = client.compress(text);
  Inflater in;
  std::string out;
  char buf[700];
  for (char c : wire) {
    std::string_view one(&c, 1);
    for (;;) {
      auto step = in.inflate(one, std::span(buf, sizeof buf));
      ASSERT_EQ(step.status, Inflater::Status::ok);
      one.remove_prefix(step.consumed);
      out.append(buf, step.produced);
      if (one.empty() && step.produced < sizeof buf) break;
    }
  }
  EXPECT_EQ(out, text);
}

TEST(DeflateCodec, CorruptInputIsAnErrorThatStays) {
  Inflater in;
  char buf[64];
  // BTYPE 11 (reserved, RFC 1951 §3.2.3) in the first block header.
  const std::string bad("\xff\xff\xff\xff", 4);
  EXPECT_EQ(in.inflate(bad, std::span(buf, sizeof buf)).status, Inflater::Status::error);
  ClientCompressor client;
  const std::string good = client.compress("a NOOP\r\n");
  EXPECT_EQ(in.inflate(good, std::span(buf, sizeof buf)).status, Inflater::Status::error);
}

TEST(DeflateCodec, BombInflatesThroughTheSpanWithoutGrowing) {
  ClientCompressor client(9);
  const std::string zeros(1 << 20, '\0');
  std::string wire;
  for (int i = 0; i < 64; ++i) wire += client.compress(zeros, Z_NO_FLUSH);  // 64 MiB of zeros
  wire += client.compress("", Z_SYNC_FLUSH);
  ASSERT_LT(wire.size(), 256u * 1024);  // the bomb: >250x
  Inflater in;
  std::size_t total = 0;
  std::size_t peak = 0;
  char buf[4096];
  std::string_view rest = wire;
  for (;;) {
    auto step = in.inflate(rest, std::span(buf, sizeof buf));
    ASSERT_EQ(step.status, Inflater::Status::ok);
    ASSERT_LE(step.produced, sizeof buf);
    rest.remove_prefix(step.consumed);
    total += step.produced;
    peak = std::max(peak, in.memory_bytes());
    if (step.produced == 0 && rest.empty()) break;
  }
  EXPECT_EQ(total, 64u << 20);
  EXPECT_LE(peak, 48u * 1024);  // the inflate state and its 32 KiB window, nothing more
}

TEST(DeflateCodec, MemoryOfOneCompressedSessionIsSmall) {
  Deflater d{DeflateParams{}};
  Inflater in;
  std::string wire;
  ASSERT_TRUE(d.compress(imap_like(100 * 1024), true, wire).ok());
  ClientCompressor client;
  (void)inflate_all(in, client.compress(imap_like(10 * 1024)), 4096);
  // Our deflate side at windowBits 12 / memLevel 5; zlib's default (15 / 8) is ~256 KiB.
  EXPECT_LE(d.memory_bytes(), 40u * 1024);
  EXPECT_LE(in.memory_bytes(), 48u * 1024);
  Deflater full{DeflateParams{.level = 6, .window_bits = 15, .mem_level = 8}};
  EXPECT_GE(full.memory_bytes(), 256u * 1024);
  std::cout << "zlib bytes per compressed session: deflate " << d.memory_bytes() << " + inflate "
            << in.memory_bytes() << " (zlib defaults would take " << full.memory_bytes() << " for deflate)\n";
}

// ------------------------------------------------------------------------------ stream

// Reads until `n` octets or an error; checks that no read returns more than `span`.
rt::Task<Result<std::string>> read_n(rt::Stream& s, std::size_t n, Instant deadline, std::size_t span = 64 * 1024) {
  std::string out;
  std::vector<std::byte> buf(span);
  while (out.size() < n) {
    auto r = co_await rt::read_some(s, buf, deadline);
    if (!r.ok()) co_return mail::fail(r.error());
    EXPECT_LE(*r, span);
    out.append(reinterpret_cast<const char*>(buf.data()), *r);
  }
  co_return out;
}

TEST(DeflateStream, Rfc4978_S3_DataBothWaysIsCompressedOnTheWire) {
  io::AsioEnv env(io::test::test_options());
  run_task(env, [](io::AsioEnv& e) -> rt::Task<void> {
    Connected raw = co_await connect_pair(e);
    if (!raw.server || !raw.client) co_return;
    rt::Stream& client_raw = *raw.client;
    DeflateStream server(e.executor(), std::move(raw.server));
    const Instant deadline = e.clock().now() + 10s;

    // Server to client: one write of 1 MiB, decodable with a client's inflater.
    const std::string big = imap_like(1 << 20);
    std::optional<Status> written;
    server.async_write_all(bytes_of(big), deadline, [&written](Status st) { written = std::move(st); });
    ClientInflater inflater;
    std::string got;
    std::vector<std::byte> buf(64 * 1024);
    std::size_t wire = 0;
    while (got.size() < big.size()) {
      auto r = co_await rt::read_some(client_raw, buf, deadline);
      EXPECT_TRUE(r.ok());
      if (!r.ok()) co_return;
      wire += *r;
      got += inflater.inflate(std::string_view(reinterpret_cast<const char*>(buf.data()), *r));
    }
    EXPECT_EQ(got, big);
    EXPECT_LT(wire, big.size() / 4);  // compressed, not passed through
    auto timer = e.clock().make_timer();
    while (!written) (void)co_await rt::sleep_until(*timer, e.clock().now() + 1ms);
    EXPECT_TRUE(written->ok());
    EXPECT_LE(server.buffer_bytes(), DeflateParams{}.read_bytes);  // the write buffer is released

    // Client to server, one octet per TCP write.
    ClientCompressor compressor;
    const std::string cmds = "a SELECT INBOX\r\nb FETCH 1 BODY[]\r\n";
    const std::string cwire = compressor.compress(cmds);
    for (char c : cwire) {
      const auto one = bytes_of(std::string_view(&c, 1));  // named: GCC 12 and co_await temporaries
      auto w = co_await rt::write_all(client_raw, one, deadline);
      EXPECT_TRUE(w.ok());
    }
    auto in = co_await read_n(server, cmds.size(), deadline, 7);
    EXPECT_TRUE(in.ok());
    if (in.ok()) {
      EXPECT_EQ(*in, cmds);
    }
  }(env));
}

TEST(DeflateStream, Rfc4978_S3_OctetsReadBeforeTheLayerAreInflatedFirst) {
  io::AsioEnv env(io::test::test_options());
  run_task(env, [](io::AsioEnv& e) -> rt::Task<void> {
    Connected raw = co_await connect_pair(e);
    if (!raw.server || !raw.client) co_return;
    const Instant deadline = e.clock().now() + 10s;
    ClientCompressor compressor;
    const std::string wire = compressor.compress("c NOOP\r\nd LOGOUT\r\n");
    const std::size_t cut = wire.size() / 2;
    const auto tail = bytes_of(std::string_view(wire).substr(cut));
    auto w = co_await rt::write_all(*raw.client, tail, deadline);
    EXPECT_TRUE(w.ok());
    DeflateStream server(e.executor(), std::move(raw.server), DeflateParams{}, wire.substr(0, cut));
    auto in = co_await read_n(server, 18, deadline);
    EXPECT_TRUE(in.ok());
    if (in.ok()) {
      EXPECT_EQ(*in, "c NOOP\r\nd LOGOUT\r\n");
    }
  }(env));
}

TEST(DeflateStream, CorruptInputFailsTheReadAndEndOfStreamIsEof) {
  io::AsioEnv env(io::test::test_options());
  run_task(env, [](io::AsioEnv& e) -> rt::Task<void> {
    Connected raw = co_await connect_pair(e);
    if (!raw.server || !raw.client) co_return;
    const Instant deadline = e.clock().now() + 10s;
    rt::Stream& client_raw = *raw.client;
    DeflateStream server(e.executor(), std::move(raw.server));
    // A client that never turned compression on keeps talking plaintext.
    const auto plain = bytes_of("e NOOP\r\n");
    auto w = co_await rt::write_all(client_raw, plain, deadline);
    EXPECT_TRUE(w.ok());
    std::vector<std::byte> buf(4096);
    auto r = co_await rt::read_some(server, buf, deadline);
    EXPECT_EQ(r.code(), Errc::invalid);
  }(env));
  run_task(env, [](io::AsioEnv& e) -> rt::Task<void> {
    Connected raw = co_await connect_pair(e);
    if (!raw.server || !raw.client) co_return;
    const Instant deadline = e.clock().now() + 10s;
    DeflateStream server(e.executor(), std::move(raw.server));
    raw.client->close();
    std::vector<std::byte> buf(4096);
    auto r = co_await rt::read_some(server, buf, deadline);
    EXPECT_TRUE(r.code() == Errc::eof || r.code() == Errc::reset) << to_string(r.code());
  }(env));
}

TEST(DeflateStream, BombIsReadThroughTheCallersSpanWithBoundedBuffers) {
  io::AsioEnv env(io::test::test_options());
  run_task(env, [](io::AsioEnv& e) -> rt::Task<void> {
    Connected raw = co_await connect_pair(e);
    if (!raw.server || !raw.client) co_return;
    const Instant deadline = e.clock().now() + 30s;
    rt::Stream& client_raw = *raw.client;
    DeflateStream server(e.executor(), std::move(raw.server));
    ClientCompressor bomb(9);
    const std::string zeros(1 << 20, 'A');
    std::string wire;
    for (int i = 0; i < 32; ++i) wire += bomb.compress(zeros, Z_NO_FLUSH);  // 32 MiB
    wire += bomb.compress("", Z_SYNC_FLUSH);
    std::optional<Status> sent;
    client_raw.async_write_all(bytes_of(wire), deadline, [&sent](Status s) { sent = std::move(s); });
    std::size_t total = 0;
    std::size_t peak_zlib = 0;
    std::size_t peak_buffers = 0;
    std::vector<std::byte> buf(4096);  // the IMAP connection's read buffer
    while (total < (32u << 20)) {
      auto r = co_await rt::read_some(server, buf, deadline);
      EXPECT_TRUE(r.ok());
      if (!r.ok()) co_return;
      EXPECT_LE(*r, buf.size());
      total += *r;
      peak_zlib = std::max(peak_zlib, server.zlib_bytes());
      peak_buffers = std::max(peak_buffers, server.buffer_bytes());
    }
    EXPECT_EQ(total, 32u << 20);
    EXPECT_LE(peak_zlib, 96u * 1024);
    EXPECT_LE(peak_buffers, DeflateParams{}.read_bytes);
    auto timer = e.clock().make_timer();
    while (!sent) (void)co_await rt::sleep_until(*timer, e.clock().now() + 1ms);
  }(env), 60s);
}

}  // namespace
}  // namespace mail::node
