// SimNet: connect/refuse/timeout, ordered delivery under segmentation, half-close, RST,
// partitions with heal, deadlines, flow control, host crashes, determinism, per-link
// latency and loss; unix: endpoints refused.
#include "simulator/sim_net.h"

#include <gtest/gtest.h>

#include <array>
#include <set>

#include "runtime/await.h"
#include "simulator/sim_env.h"

namespace mail::sim {
namespace {

std::span<const std::byte> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

struct Pair {
  explicit Pair(std::uint64_t seed = 1, NetConfig net = {}) : w(seed, make_config(net)) {
    a = w.add_host(HostConfig{"a", "10.0.0.1", Duration(0), {}});
    b = w.add_host(HostConfig{"b", "10.0.0.2", Duration(0), {}});
    w.boot(a);
    w.boot(b);
  }
  static WorldConfig make_config(NetConfig net) {
    WorldConfig c;
    c.net = net;
    return c;
  }
  rt::Env& ea() { return w.env(a); }
  rt::Env& eb() { return w.env(b); }
  World w;
  HostId a = 0, b = 0;
};

struct Reader {
  std::string data;
  Errc end = Errc::ok;
  bool finished = false;
  std::size_t reads = 0;
};

rt::Task<void> read_to_end(rt::Stream& s, Reader* r, Instant deadline = instant_max(), std::size_t buf_size = 4096) {
  std::vector<std::byte> buf(buf_size);
  for (;;) {
    auto n = co_await rt::read_some(s, buf, deadline);
    if (!n) {
      r->end = n.code();
      r->finished = true;
      co_return;
    }
    ++r->reads;
    r->data.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
}

rt::Task<void> accept_one(rt::Listener& l, std::unique_ptr<rt::Stream>* out, Errc* code) {
  auto r = co_await rt::accept(l);
  *code = r.code();
  if (r) *out = std::move(*r);
}

rt::Task<void> connect_one(rt::Env& env, rt::Endpoint to, Instant deadline, std::unique_ptr<rt::Stream>* out, Errc* code) {
  auto r = co_await rt::connect(env.net(), std::move(to), deadline);
  *code = r.code();
  if (r) *out = std::move(*r);
}

rt::Task<void> write_one(rt::Stream& s, std::string_view data, Errc* code, bool* done = nullptr) {
  auto r = co_await rt::write_all(s, as_bytes(data), instant_max());
  *code = r.code();
  if (done != nullptr) *done = true;
}

// Connects a -> b:25 and returns (client, server).
std::pair<std::unique_ptr<rt::Stream>, std::unique_ptr<rt::Stream>> establish(Pair& p, std::unique_ptr<rt::Listener>& l) {
  auto lr = p.eb().net().listen(rt::Endpoint{"0.0.0.0", 25});
  EXPECT_TRUE(lr.ok());
  l = std::move(*lr);
  std::unique_ptr<rt::Stream> client, server;
  Errc ca = Errc::io, cc = Errc::io;
  p.eb().tasks().spawn(accept_one(*l, &server, &ca));
  p.ea().tasks().spawn(connect_one(p.ea(), rt::Endpoint{"10.0.0.2", 25}, instant_max(), &client, &cc));
  EXPECT_EQ(p.w.run_until([&] { return client && server; }, 10s), RunStatus::predicate);
  EXPECT_EQ(ca, Errc::ok);
  EXPECT_EQ(cc, Errc::ok);
  return {std::move(client), std::move(server)};
}

TEST(SimNet, RefusedWhenNothingListens) {
  Pair p;
  std::unique_ptr<rt::Stream> s;
  Errc code = Errc::ok;
  p.ea().tasks().spawn(connect_one(p.ea(), rt::Endpoint{"10.0.0.2", 25}, instant_max(), &s, &code));
  EXPECT_EQ(p.w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(code, Errc::refused);
}

TEST(SimNet, UnknownAddressTimesOutAtTheDeadline) {
  Pair p;
  std::unique_ptr<rt::Stream> s;
  Errc code = Errc::ok;
  p.ea().tasks().spawn(connect_one(p.ea(), rt::Endpoint{"192.0.2.1", 25}, Instant(7s), &s, &code));
  EXPECT_EQ(p.w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(code, Errc::timeout);
  EXPECT_EQ(p.w.now(), Instant(7s));
}

TEST(SimNet, EndpointsAndPorts) {
  Pair p;
  auto l1 = p.eb().net().listen(rt::Endpoint{"10.0.0.2", 25});
  ASSERT_TRUE(l1.ok());
  EXPECT_EQ(p.eb().net().listen(rt::Endpoint{"0.0.0.0", 25}).code(), Errc::exists);
  EXPECT_EQ(p.eb().net().listen(rt::Endpoint{"10.0.0.1", 26}).code(), Errc::invalid);
  auto l0 = p.eb().net().listen(rt::Endpoint{"", 0});
  ASSERT_TRUE(l0.ok());
  EXPECT_NE((*l0)->local_endpoint().port, 0);
  std::unique_ptr<rt::Stream> s;
  Errc code = Errc::io;
  p.ea().tasks().spawn(connect_one(p.ea(), (*l0)->local_endpoint(), instant_max(), &s, &code));
  EXPECT_EQ(p.w.run_until_idle(), RunStatus::idle);
  ASSERT_EQ(code, Errc::ok);
  EXPECT_EQ(s->remote_endpoint(), (*l0)->local_endpoint());
  EXPECT_EQ(s->local_endpoint().address, "10.0.0.1");
}

TEST(SimNet, UnixEndpointsAreUnsupported) {
  Pair p;
  const rt::Endpoint control{"unix:/var/lib/cloudsdial/control.sock", 0};
  EXPECT_EQ(p.eb().net().listen(control).code(), Errc::unsupported);
  std::unique_ptr<rt::Stream> s;
  Errc code = Errc::ok;
  p.ea().tasks().spawn(connect_one(p.ea(), control, instant_max(), &s, &code));
  EXPECT_EQ(p.w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(code, Errc::unsupported);
  EXPECT_EQ(s, nullptr);
  EXPECT_EQ(p.w.net().connections_opened(), 0u);
}

TEST(SimNet, BytesArriveInOrderUnderHeavySegmentation) {
  NetConfig nc;
  nc.split_ppm = 1'000'000;
  nc.bytewise_ppm = 1'000'000;
  nc.segment_bytes_max = 7;
  Pair p(3, nc);
  std::unique_ptr<rt::Listener> l;
  auto [client, server] = establish(p, l);
  std::string payload;
  for (int i = 0; i < 3000; ++i) payload += static_cast<char>('a' + i % 26);
  Reader r;
  Errc wc = Errc::io;
  p.eb().tasks().spawn(read_to_end(*server, &r));
  p.ea().tasks().spawn(write_one(*client, "hi", &wc));
  EXPECT_EQ(p.w.run_until([&] { return r.data.size() == 2; }, 10s), RunStatus::predicate);
  EXPECT_EQ(r.reads, 2u);  // a 2-byte write went out byte by byte
  p.ea().tasks().spawn(write_one(*client, payload, &wc));
  EXPECT_EQ(p.w.run_until([&] { return r.data.size() == 2 + payload.size(); }, 60s), RunStatus::predicate);
  EXPECT_EQ(r.data, "hi" + payload);
  EXPECT_GT(r.reads, 400u);  // cut at least at the 7-byte MSS
  EXPECT_EQ(wc, Errc::ok);
}

TEST(SimNet, HalfCloseDeliversEofAfterData) {
  Pair p;
  std::unique_ptr<rt::Listener> l;
  auto [client, server] = establish(p, l);
  Reader at_server, at_client;
  Errc wc = Errc::io;
  p.eb().tasks().spawn(read_to_end(*server, &at_server));
  p.ea().tasks().spawn(read_to_end(*client, &at_client));
  p.ea().tasks().spawn(write_one(*client, "QUIT\r\n", &wc));
  EXPECT_EQ(p.w.run_until([&] { return wc == Errc::ok; }, 10s), RunStatus::predicate);
  client->shutdown_send();
  EXPECT_EQ(p.w.run_until([&] { return at_server.finished; }, 10s), RunStatus::predicate);
  EXPECT_EQ(at_server.data, "QUIT\r\n");
  EXPECT_EQ(at_server.end, Errc::eof);
  // The other direction still works after the half-close.
  Errc sc = Errc::io;
  p.eb().tasks().spawn(write_one(*server, "221 bye\r\n", &sc));
  EXPECT_EQ(p.w.run_until([&] { return sc == Errc::ok; }, 10s), RunStatus::predicate);
  server->close();
  EXPECT_EQ(p.w.run_until([&] { return at_client.finished; }, 10s), RunStatus::predicate);
  EXPECT_EQ(at_client.data, "221 bye\r\n");
  EXPECT_EQ(at_client.end, Errc::eof);
  // Writing after shutdown_send fails.
  Errc after = Errc::ok;
  p.ea().tasks().spawn(write_one(*client, "x", &after));
  EXPECT_EQ(p.w.run_until_idle(), RunStatus::idle);
  EXPECT_NE(after, Errc::ok);
  EXPECT_TRUE(p.w.net().connections().empty() || p.w.net().connections()[0].closed[1]);
}

TEST(SimNet, ReadDeadlineTimesOut) {
  Pair p;
  std::unique_ptr<rt::Listener> l;
  auto [client, server] = establish(p, l);
  Reader r;
  const Instant deadline = p.w.now() + 300s;
  p.eb().tasks().spawn(read_to_end(*server, &r, deadline));
  EXPECT_EQ(p.w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(r.end, Errc::timeout);
  EXPECT_EQ(p.w.now(), deadline);
}

TEST(SimNet, ResetAtAChosenOffset) {
  Pair p;
  std::unique_ptr<rt::Listener> l;
  auto [client, server] = establish(p, l);
  const auto conns = p.w.net().connections();
  ASSERT_EQ(conns.size(), 1u);
  p.w.net().reset_after(conns[0].id, /*from_client=*/true, 10);
  Reader r;
  Errc wc = Errc::ok;
  p.eb().tasks().spawn(read_to_end(*server, &r));
  p.ea().tasks().spawn(write_one(*client, "0123456789abcdefghij", &wc));
  EXPECT_EQ(p.w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(r.data, "0123456789");
  EXPECT_EQ(r.end, Errc::reset);
  EXPECT_EQ(wc, Errc::reset);
}

TEST(SimNet, RandomResetsHappenAtRandomOffsets) {
  NetConfig nc;
  nc.reset_ppm = 1'000'000;
  nc.reset_offset_max = 50;
  std::set<std::size_t> seen;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    Pair p(seed, nc);
    std::unique_ptr<rt::Listener> l;
    auto [client, server] = establish(p, l);
    Reader at_server, at_client;
    Errc w1 = Errc::ok, w2 = Errc::ok;
    p.eb().tasks().spawn(read_to_end(*server, &at_server));
    p.ea().tasks().spawn(read_to_end(*client, &at_client));
    p.ea().tasks().spawn(write_one(*client, std::string(100, 'c'), &w1));
    p.eb().tasks().spawn(write_one(*server, std::string(100, 's'), &w2));
    EXPECT_EQ(p.w.run_until_idle(), RunStatus::idle);
    EXPECT_EQ(at_server.end, Errc::reset);
    EXPECT_EQ(at_client.end, Errc::reset);
    seen.insert(at_server.data.size() + 1000 * at_client.data.size());
  }
  EXPECT_GT(seen.size(), 10u);
}

TEST(SimNet, CloseWithUnreadDataResetsThePeer) {
  Pair p;
  std::unique_ptr<rt::Listener> l;
  auto [client, server] = establish(p, l);
  Errc wc = Errc::io;
  p.ea().tasks().spawn(write_one(*client, "unread", &wc));
  EXPECT_EQ(p.w.run_for(1s), RunStatus::time_limit);
  Reader r;
  p.ea().tasks().spawn(read_to_end(*client, &r));
  server->close();  // never read "unread"
  EXPECT_EQ(p.w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(r.end, Errc::reset);
}

TEST(SimNet, ClosingCompletesPendingOpsCanceled) {
  Pair p;
  std::unique_ptr<rt::Listener> l;
  auto [client, server] = establish(p, l);
  Reader r;
  p.eb().tasks().spawn(read_to_end(*server, &r));
  EXPECT_EQ(p.w.run_for(1s), RunStatus::time_limit);
  server->close();
  EXPECT_FALSE(r.finished);  // never inside close()
  EXPECT_EQ(p.w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(r.end, Errc::canceled);
  // A listener's pending accept too.
  std::unique_ptr<rt::Stream> none;
  Errc ac = Errc::ok;
  p.eb().tasks().spawn(accept_one(*l, &none, &ac));
  l->close();
  EXPECT_EQ(p.w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(ac, Errc::canceled);
}

TEST(SimNet, PartitionDelaysConnectUntilHealOrTimeout) {
  Pair p;
  auto lr = p.eb().net().listen(rt::Endpoint{"0.0.0.0", 25});
  ASSERT_TRUE(lr.ok());
  p.w.net().partition(p.a, p.b);
  std::unique_ptr<rt::Stream> s1;
  Errc c1 = Errc::ok;
  p.ea().tasks().spawn(connect_one(p.ea(), rt::Endpoint{"10.0.0.2", 25}, Instant(5s), &s1, &c1));
  EXPECT_EQ(p.w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(c1, Errc::timeout);
  EXPECT_EQ(p.w.now(), Instant(5s));
  std::unique_ptr<rt::Stream> s2;
  Errc c2 = Errc::io;
  p.ea().tasks().spawn(connect_one(p.ea(), rt::Endpoint{"10.0.0.2", 25}, p.w.now() + 30s, &s2, &c2));
  EXPECT_EQ(p.w.run_for(10s), RunStatus::time_limit);
  EXPECT_EQ(c2, Errc::io);  // still trying
  p.w.net().heal_all();
  EXPECT_EQ(p.w.run_until([&] { return c2 != Errc::io; }, 5s), RunStatus::predicate);
  EXPECT_EQ(c2, Errc::ok);
}

TEST(SimNet, PartitionHoldsDataUntilHeal) {
  Pair p;
  std::unique_ptr<rt::Listener> l;
  auto [client, server] = establish(p, l);
  p.w.net().partition_one_way(p.a, p.b);
  Reader at_server, at_client;
  Errc w1 = Errc::io, w2 = Errc::io;
  p.eb().tasks().spawn(read_to_end(*server, &at_server));
  p.ea().tasks().spawn(read_to_end(*client, &at_client));
  p.ea().tasks().spawn(write_one(*client, "a->b", &w1));
  p.eb().tasks().spawn(write_one(*server, "b->a", &w2));
  EXPECT_EQ(p.w.run_for(30s), RunStatus::time_limit);
  EXPECT_EQ(at_client.data, "b->a");  // the other direction flows
  EXPECT_EQ(at_server.data, "");
  p.w.net().heal(p.a, p.b);
  EXPECT_EQ(p.w.run_for(2s), RunStatus::time_limit);
  EXPECT_EQ(at_server.data, "a->b");
}

TEST(SimNet, LongPartitionResetsTheConnection) {
  NetConfig nc;
  nc.give_up = 60s;
  Pair p(1, nc);
  std::unique_ptr<rt::Listener> l;
  auto [client, server] = establish(p, l);
  p.w.net().partition(p.a, p.b);
  Reader at_server;
  Errc wc = Errc::ok;
  p.eb().tasks().spawn(read_to_end(*server, &at_server));
  p.ea().tasks().spawn(write_one(*client, "lost", &wc));
  EXPECT_EQ(p.w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(at_server.end, Errc::reset);
  EXPECT_GE(p.w.now(), Instant(60s));
  EXPECT_LE(p.w.now(), Instant(62s));
}

TEST(SimNet, FlowControlBlocksTheWriterUntilTheReaderReads) {
  NetConfig nc;
  nc.window_bytes = 1000;
  Pair p(1, nc);
  std::unique_ptr<rt::Listener> l;
  auto [client, server] = establish(p, l);
  Errc wc = Errc::io;
  bool done = false;
  const std::string big(5000, 'x');
  p.ea().tasks().spawn(write_one(*client, big, &wc, &done));
  EXPECT_EQ(p.w.run_for(60s), RunStatus::time_limit);
  EXPECT_FALSE(done);
  auto info = p.w.net().connections();
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0].unread[1], 1000u);  // the receiver buffers at most the window
  Reader r;
  p.eb().tasks().spawn(read_to_end(*server, &r));
  EXPECT_EQ(p.w.run_until([&] { return r.data.size() == big.size(); }, 60s), RunStatus::predicate);
  EXPECT_TRUE(done);
  EXPECT_EQ(wc, Errc::ok);
}

TEST(SimNet, CrashResetsPeersAndDropsTheCrashedSide) {
  Pair p;
  std::unique_ptr<rt::Listener> l;
  auto pr = establish(p, l);
  std::unique_ptr<rt::Stream> client = std::move(pr.first);
  // The server side's stream is owned by a task on b (as in a real service).
  Reader at_client;
  auto server_reader = std::make_shared<Reader>();
  p.ea().tasks().spawn(read_to_end(*client, &at_client));
  p.eb().tasks().spawn([](std::unique_ptr<rt::Stream> s, std::shared_ptr<Reader> r) -> rt::Task<void> {
    co_await read_to_end(*s, r.get());
  }(std::move(pr.second), server_reader));
  l.reset();  // the listener is b's too; crash would otherwise leave it to us
  EXPECT_EQ(p.w.run_for(1s), RunStatus::time_limit);
  p.w.crash(p.b);
  EXPECT_EQ(p.w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(at_client.end, Errc::reset);
  EXPECT_FALSE(server_reader->finished);  // destroyed uncalled
  EXPECT_EQ(server_reader.use_count(), 1);
  // After the reboot nothing listens: refused.
  p.w.boot(p.b);
  std::unique_ptr<rt::Stream> s;
  Errc code = Errc::ok;
  p.ea().tasks().spawn(connect_one(p.ea(), rt::Endpoint{"10.0.0.2", 25}, instant_max(), &s, &code));
  EXPECT_EQ(p.w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(code, Errc::refused);
}

TEST(SimNet, SameSeedSameSegmentation) {
  auto run = [](std::uint64_t seed) {
    NetConfig nc;
    nc.split_ppm = 500'000;
    Pair p(seed, nc);
    std::unique_ptr<rt::Listener> l;
    auto [client, server] = establish(p, l);
    Reader r;
    Errc wc = Errc::io;
    p.eb().tasks().spawn(read_to_end(*server, &r));
    p.ea().tasks().spawn(write_one(*client, std::string(20000, 'z'), &wc));
    EXPECT_EQ(p.w.run_until([&] { return r.data.size() == 20000; }, 60s), RunStatus::predicate);
    return std::make_pair(r.reads, p.w.trace().hash());
  };
  EXPECT_EQ(run(11), run(11));
  EXPECT_NE(run(11).second, run(12).second);
}

// ------------------------------------------------------------------ per-link settings
// (virtual time only: every bound below follows from the configured latencies)

LinkConfig link_of(std::optional<Latency> latency, std::uint32_t loss_ppm) {
  LinkConfig l;
  l.latency = latency;
  l.loss_ppm = loss_ppm;
  return l;
}

TEST(SimNet, SlowLinkDeliversLaterThanTheDefault) {
  struct Times {
    Instant connected{};
    Duration transfer{};
  };
  auto run = [](bool slow) {
    Pair p(5);
    if (slow) p.w.net().set_link(p.a, p.b, link_of(Latency{50ms, 80ms, 0, Duration(0)}, 0));
    std::unique_ptr<rt::Listener> l;
    auto [client, server] = establish(p, l);
    Times t;
    t.connected = p.w.now();
    Reader r;
    Errc wc = Errc::io;
    p.eb().tasks().spawn(read_to_end(*server, &r));
    const Instant start = p.w.now();
    p.ea().tasks().spawn(write_one(*client, std::string(5000, 's'), &wc));
    EXPECT_EQ(p.w.run_until([&] { return r.data.size() == 5000; }, 60s), RunStatus::predicate);
    t.transfer = p.w.now() - start;
    return t;
  };
  const Times def = run(false), slow = run(true);
  EXPECT_LE(def.connected, Instant(4ms));  // SYN + SYN-ACK at the world's 100us..2ms
  EXPECT_GE(slow.connected, Instant(100ms));
  EXPECT_LE(def.transfer, 2ms);
  EXPECT_GE(slow.transfer, 50ms);
  EXPECT_LE(slow.transfer, 80ms);
}

struct LossyRun {
  std::string at_server, at_client;
  Errc end_server = Errc::io, end_client = Errc::io;
  std::uint64_t losses = 0;
  Instant finished{};
  std::uint64_t hash = 0;
};

std::string numbered(int n, std::string_view sep) {
  std::string s;
  for (int i = 0; i < n; ++i) s += std::to_string(i) + std::string(sep);
  return s;
}

// Both directions at once over a link losing `loss_ppm` of all transmissions, then FINs.
LossyRun lossy_run(std::uint64_t seed, std::uint32_t loss_ppm) {
  NetConfig nc;
  nc.split_ppm = 1'000'000;
  nc.segment_bytes_max = 100;
  Pair p(seed, nc);
  p.w.net().set_link(p.a, p.b, link_of(std::nullopt, loss_ppm));
  std::unique_ptr<rt::Listener> l;
  auto [client, server] = establish(p, l);
  const std::string up = numbered(4000, ","), down = numbered(3000, ";");
  Reader at_server, at_client;
  Errc w1 = Errc::io, w2 = Errc::io;
  p.eb().tasks().spawn(read_to_end(*server, &at_server));
  p.ea().tasks().spawn(read_to_end(*client, &at_client));
  p.ea().tasks().spawn(write_one(*client, up, &w1));
  p.eb().tasks().spawn(write_one(*server, down, &w2));
  EXPECT_EQ(p.w.run_until([&] { return w1 == Errc::ok && w2 == Errc::ok; }, 600s), RunStatus::predicate);
  client->shutdown_send();
  server->shutdown_send();
  EXPECT_EQ(p.w.run_until([&] { return at_server.finished && at_client.finished; }, 600s), RunStatus::predicate);
  LossyRun out;
  EXPECT_EQ(at_server.data, up);  // every byte, in order, exactly once
  EXPECT_EQ(at_client.data, down);
  out.at_server = std::move(at_server.data);
  out.at_client = std::move(at_client.data);
  out.end_server = at_server.end;
  out.end_client = at_client.end;
  out.losses = p.w.net().losses();
  out.finished = p.w.now();
  out.hash = p.w.trace().hash();
  return out;
}

TEST(SimNet, LossyLinkDeliversEveryByteInOrderExactlyOnceJustLater) {
  const LossyRun clean = lossy_run(7, 0);
  const LossyRun lossy = lossy_run(7, 300'000);
  EXPECT_EQ(clean.losses, 0u);
  EXPECT_GT(lossy.losses, 20u);
  EXPECT_EQ(lossy.at_server, clean.at_server);
  EXPECT_EQ(lossy.at_client, clean.at_client);
  EXPECT_EQ(lossy.end_server, Errc::eof);  // the FINs got through too
  EXPECT_EQ(lossy.end_client, Errc::eof);
  // Each loss costs a 200 ms retransmission (or a 1 s SYN retry); without loss it is milliseconds.
  EXPECT_LT(clean.finished, Instant(200ms));
  EXPECT_GE(lossy.finished, Instant(200ms));
}

TEST(SimNet, LossyLinkSameSeedSameTrace) {
  const LossyRun a = lossy_run(21, 300'000), b = lossy_run(21, 300'000), c = lossy_run(22, 300'000);
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_EQ(a.losses, b.losses);
  EXPECT_EQ(a.finished, b.finished);
  EXPECT_NE(a.hash, c.hash);
}

TEST(SimNet, LostSynsAreRetriedAndClearLinkRestoresTheDefault) {
  Pair p;
  auto lr = p.eb().net().listen(rt::Endpoint{"0.0.0.0", 25});
  ASSERT_TRUE(lr.ok());
  std::unique_ptr<rt::Listener> l = std::move(*lr);
  p.w.net().set_link(p.a, p.b, link_of(Latency{300ms, 300ms, 0, Duration(0)}, 1'000'000));
  std::unique_ptr<rt::Stream> s1;
  Errc c1 = Errc::ok;
  p.ea().tasks().spawn(connect_one(p.ea(), rt::Endpoint{"10.0.0.2", 25}, Instant(5s), &s1, &c1));
  EXPECT_EQ(p.w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(c1, Errc::timeout);
  EXPECT_GE(p.w.net().losses(), 4u);  // a SYN every second
  p.w.net().heal_all();  // links are not partitions
  ASSERT_NE(p.w.net().link(p.b, p.a), nullptr);
  p.w.net().clear_link(p.b, p.a);
  EXPECT_EQ(p.w.net().link(p.a, p.b), nullptr);
  // Back to the world-wide 100us..2ms, no loss.
  const std::uint64_t losses = p.w.net().losses();
  std::unique_ptr<rt::Stream> client, server;
  Errc ca = Errc::io, cc = Errc::io;
  const Instant start = p.w.now();
  p.eb().tasks().spawn(accept_one(*l, &server, &ca));
  p.ea().tasks().spawn(connect_one(p.ea(), rt::Endpoint{"10.0.0.2", 25}, start + 5s, &client, &cc));
  EXPECT_EQ(p.w.run_until([&] { return client && server; }, 5s), RunStatus::predicate);
  EXPECT_LE(p.w.now() - start, 4ms);
  Reader r;
  Errc wc = Errc::io;
  p.eb().tasks().spawn(read_to_end(*server, &r));
  const Instant sent = p.w.now();
  p.ea().tasks().spawn(write_one(*client, "x", &wc));
  EXPECT_EQ(p.w.run_until([&] { return r.data == "x"; }, 5s), RunStatus::predicate);
  EXPECT_LE(p.w.now() - sent, 2ms);
  EXPECT_EQ(p.w.net().losses(), losses);
  // clear_links drops every link.
  p.w.net().set_link(p.a, p.b, link_of(std::nullopt, 10));
  p.w.net().clear_links();
  EXPECT_EQ(p.w.net().link(p.a, p.b), nullptr);
}

}  // namespace
}  // namespace mail::sim
