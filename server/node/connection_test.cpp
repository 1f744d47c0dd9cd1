// Connection (the one driver loop) against a scripted stream and a line session on the
// production Env: the order of reads, job results and writes is driven by the test, so the
// interleavings a pipelining client produces (mbsync over IMAPS) are reproduced exactly.
// Regression: a read that completed while the driver was writing a job's reply must be
// applied before the next read may reuse the input buffer (it was overwritten, and the next
// completion hit MAIL_ASSERT(input_len_ == 0) in apply_wakeups).
// COMPRESS (RFC 4978 §3): the go-ahead is written as it is, what the session says after
// out::StartCompress and what the client sends after it (already read) are DEFLATE.
#include "node/connection.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "io/io_test_util.h"

namespace mail::node {
namespace {

using io::test::run_task;

// A stream whose reads take bytes as soon as both a read and data exist (as a socket does)
// and whose writes complete only when the test releases them. Completions are posted.
class ScriptedStream final : public rt::Stream {
 public:
  explicit ScriptedStream(rt::Executor& ex) : ex_(ex) {}

  void async_read_some(std::span<std::byte> into, Instant, rt::Completion<std::size_t> done) override {
    EXPECT_FALSE(read_done_) << "two reads in flight";
    ++reads_started;
    read_into_ = into;
    read_done_ = std::move(done);
    try_read();
  }
  void async_write_all(std::span<const std::byte> bytes, Instant, rt::Completion<void> done) override {
    EXPECT_FALSE(write_done_) << "two writes in flight";
    write_bytes_.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    write_done_ = std::move(done);
    if (!hold_writes) release_write();
  }
  void shutdown_send() override {}
  void close() override {
    closed_ = true;
    if (read_done_) post_read(mail::fail(Error{Errc::canceled, "closed"}));
    if (write_done_) {
      ex_.post([d = std::move(write_done_)]() mutable { d(mail::fail(Error{Errc::canceled, "closed"})); });
      write_done_ = {};
    }
  }
  rt::Endpoint local_endpoint() const override { return {"127.0.0.1", 143}; }
  rt::Endpoint remote_endpoint() const override { return {"127.0.0.1", 40000}; }

  // The client sends `bytes` (an empty string: the client's FIN).
  void deliver(std::string bytes) {
    if (bytes.empty()) {
      eof_ = true;
    } else {
      incoming_ += bytes;
    }
    try_read();
  }
  bool write_pending() const { return static_cast<bool>(write_done_); }
  bool read_pending() const { return static_cast<bool>(read_done_); }
  void release_write() {
    ASSERT_TRUE(write_done_);
    written += write_bytes_;
    ex_.post([d = std::move(write_done_)]() mutable { d(Status{}); });
    write_done_ = {};
  }

  bool hold_writes = true;
  std::string written;
  int reads_started = 0;

 private:
  void try_read() {
    if (!read_done_) return;
    if (!incoming_.empty()) {
      const std::size_t n = std::min(incoming_.size(), read_into_.size());
      std::memcpy(read_into_.data(), incoming_.data(), n);  // the bytes land now, like a socket's
      incoming_.erase(0, n);
      post_read(n);
    } else if (eof_ || closed_) {
      post_read(mail::fail(Error{Errc::eof, "end of stream"}));
    }
  }
  void post_read(Result<std::size_t> r) {
    ex_.post([d = std::move(read_done_), r = std::move(r)]() mutable { d(std::move(r)); });
    read_done_ = {};
  }

  rt::Executor& ex_;
  std::string incoming_;
  bool eof_ = false;
  bool closed_ = false;
  std::span<std::byte> read_into_;
  rt::Completion<std::size_t> read_done_;
  std::string write_bytes_;
  rt::Completion<void> write_done_;
};

// CRLF lines; "JOB n" starts a job (released by the test) and takes no more input until its
// result, which replies "done n"; "COMPRESS" answers "OK", asks for the DEFLATE layer and
// says one more line, taking nothing until the layer is there; any other line is echoed.
// EOF closes.
class LineSession final : public DrivenSession {
 public:
  explicit LineSession(Connection& c) : connection_(c) {}

  std::size_t feed(std::string_view in, Instant) override {
    std::size_t taken = 0;
    while (!job_pending_ && !to_start_ && !compress_pending_) {
      const auto end = in.find("\r\n", taken);
      if (end == std::string_view::npos) break;
      const std::string line(in.substr(taken, end - taken));
      taken = end + 2;
      lines.push_back(line);
      if (line.starts_with("JOB ")) {
        to_start_ = line.substr(4);
      } else if (line == "COMPRESS") {
        out_.push_back(proto::out::Send{"OK\r\n"});
        out_.push_back(proto::out::StartCompress{});
        out_.push_back(proto::out::Send{"compressed from here\r\n"});
        compress_pending_ = true;
      } else {
        out_.push_back(proto::out::Send{"echo " + line + "\r\n"});
      }
    }
    return taken;
  }
  void feed_eof(Instant) override {
    closed_ = true;
    out_.push_back(proto::out::Close{});
  }
  std::optional<proto::Output> poll_output() override {
    if (out_.empty()) return std::nullopt;
    proto::Output o = std::move(out_.front());
    out_.pop_front();
    return o;
  }
  std::optional<Instant> poll_timeout() const override { return std::nullopt; }
  void handle_timeout(Instant) override {}
  void tls_established(Instant) override {}
  void compress_established(Instant) override {
    EXPECT_TRUE(compress_pending_);
    compress_pending_ = false;
  }
  void shutdown(Instant, bool) override {}
  bool closed() const override { return closed_; }
  bool dispatch_events(Instant) override {
    if (!to_start_) return false;
    const std::string name = *std::exchange(to_start_, std::nullopt);
    job_pending_ = true;
    connection_.start_job(job(name));
    return true;
  }
  std::size_t buffered_bytes() const override { return 0; }
  std::string_view state_name() const override { return "lines"; }

  bool job_waiting() const { return job_pending_ && !release_job_; }
  void release_job() { release_job_ = true; }

  std::vector<std::string> lines;

 private:
  rt::Task<Connection::JobResult> job(std::string name) {
    auto timer = connection_.env().clock().make_timer();
    while (!release_job_) (void)co_await rt::sleep_until(*timer, connection_.env().clock().now() + 1ms);
    release_job_ = false;
    co_return [this, name](Instant, bool open) {
      job_pending_ = false;
      if (open) out_.push_back(proto::out::Send{"done " + name + "\r\n"});
    };
  }

  Connection& connection_;
  std::deque<proto::Output> out_;
  std::optional<std::string> to_start_;
  bool job_pending_ = false;
  bool compress_pending_ = false;
  bool release_job_ = false;
  bool closed_ = false;
};

struct Factory final : SessionFactory {
  LineSession* session = nullptr;
  std::unique_ptr<DrivenSession> open_session(Connection& c, const ConnectionInfo&) override {
    auto s = std::make_unique<LineSession>(c);
    session = s.get();
    return s;
  }
};

// Polls `done` every millisecond (the watchdog of run_task bounds the wait).
template <class F>
rt::Task<void> until(io::AsioEnv& env, F done) {
  auto timer = env.clock().make_timer();
  while (!done()) (void)co_await rt::sleep_until(*timer, env.clock().now() + 1ms);
}

TEST(Connection, ReadCompletedDuringAReplyWriteIsAppliedBeforeTheNextRead) {
  io::AsioEnv env(io::test::test_options());
  ConnectionConfig config;
  ConnectionCounters counters;
  Factory factory;
  auto stream_ptr = std::make_unique<ScriptedStream>(env.executor());
  ScriptedStream& stream = *stream_ptr;
  ConnectionInfo info;
  info.id = 1;
  info.remote = stream.remote_endpoint();
  info.local = stream.local_endpoint();
  Connection connection(env, config, counters, factory, std::move(stream_ptr), info, "test", "test", nullptr, false);
  bool ran = false;
  run_task(env, [](io::AsioEnv& e, Connection& c, ScriptedStream& s, Factory& f, bool& done) -> rt::Task<void> {
    auto run = [](Connection& conn, bool& flag) -> rt::Task<void> {
      co_await conn.run();
      flag = true;
    };
    e.tasks().spawn(run(c, done));
    co_await until(e, [&] { return f.session != nullptr && s.read_pending(); });
    LineSession& session = *f.session;

    // A command whose verdict is a job; the driver reads on meanwhile (a read is in flight).
    s.deliver("JOB 1\r\n");
    co_await until(e, [&] { return session.job_waiting() && s.read_pending(); });
    // The verdict arrives: its reply is being written (held) ...
    session.release_job();
    co_await until(e, [&] { return s.write_pending(); });
    // ... while the pipelined next commands complete the read in flight.
    s.deliver("JOB 2\r\nLINE a\r\n");
    co_await until(e, [&] { return !s.read_pending(); });
    const int reads_before = s.reads_started;
    s.release_write();
    // JOB 2 is taken, "LINE a" waits in the buffer for its verdict: no read may reuse the
    // buffer now, so bytes sent meanwhile stay with the client (the socket).
    co_await until(e, [&] { return session.job_waiting(); });
    EXPECT_EQ(s.reads_started, reads_before) << "a read was started over unapplied input";
    s.deliver("LINE b\r\n");
    s.hold_writes = false;
    session.release_job();
    co_await until(e, [&] { return session.lines.size() >= 4; });
    s.deliver("");  // the client's FIN: the session closes
    co_await until(e, [&] { return done; });
  }(env, connection, stream, factory, ran));

  ASSERT_TRUE(ran);
  ASSERT_NE(factory.session, nullptr);
  EXPECT_EQ(factory.session->lines, (std::vector<std::string>{"JOB 1", "JOB 2", "LINE a", "LINE b"}));
  EXPECT_EQ(stream.written, "done 1\r\ndone 2\r\necho LINE a\r\necho LINE b\r\n");
}

// Raw DEFLATE with a sync flush, as a client sends it (wbits -15), and its inverse.
struct RawDeflate {
  z_stream d{};
  z_stream i{};
  RawDeflate() {
    EXPECT_EQ(deflateInit2(&d, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    EXPECT_EQ(inflateInit2(&i, -15), Z_OK);
  }
  ~RawDeflate() {
    deflateEnd(&d);
    inflateEnd(&i);
  }
  std::string compress(std::string_view in) {
    char buf[4096];
    d.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    d.avail_in = static_cast<uInt>(in.size());
    d.next_out = reinterpret_cast<Bytef*>(buf);
    d.avail_out = sizeof buf;
    EXPECT_EQ(deflate(&d, Z_SYNC_FLUSH), Z_OK);
    return std::string(buf, sizeof buf - d.avail_out);
  }
  std::string inflate(std::string_view in) {
    char buf[4096];
    i.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    i.avail_in = static_cast<uInt>(in.size());
    i.next_out = reinterpret_cast<Bytef*>(buf);
    i.avail_out = sizeof buf;
    EXPECT_EQ(::inflate(&i, Z_SYNC_FLUSH), Z_OK);
    return std::string(buf, sizeof buf - i.avail_out);
  }
};

TEST(Connection, Rfc4978_S3_CompressWritesTheOkPlainThenDeflatesBothWays) {
  io::AsioEnv env(io::test::test_options());
  ConnectionConfig config;
  ConnectionCounters counters;
  Factory factory;
  auto stream_ptr = std::make_unique<ScriptedStream>(env.executor());
  ScriptedStream& stream = *stream_ptr;
  stream.hold_writes = false;
  ConnectionInfo info;
  info.id = 2;
  Connection connection(env, config, counters, factory, std::move(stream_ptr), info, "test", "test", nullptr, false);
  RawDeflate client;
  bool ran = false;
  run_task(env, [](io::AsioEnv& e, Connection& c, ScriptedStream& s, Factory& f, RawDeflate& z,
                  bool& done) -> rt::Task<void> {
    auto run = [](Connection& conn, bool& flag) -> rt::Task<void> {
      co_await conn.run();
      flag = true;
    };
    e.tasks().spawn(run(c, done));
    co_await until(e, [&] { return f.session != nullptr && s.read_pending(); });
    LineSession& session = *f.session;
    // One read holds the command and the first compressed octets behind it.
    s.deliver("LINE a\r\nCOMPRESS\r\n" + z.compress("LINE b\r\n"));
    co_await until(e, [&] { return session.lines.size() >= 3; });
    s.deliver(z.compress("LINE c\r\n"));
    co_await until(e, [&] { return session.lines.size() >= 4; });
    s.deliver("");
    co_await until(e, [&] { return done; });
  }(env, connection, stream, factory, client, ran));

  ASSERT_TRUE(ran);
  ASSERT_NE(factory.session, nullptr);
  EXPECT_EQ(factory.session->lines, (std::vector<std::string>{"LINE a", "COMPRESS", "LINE b", "LINE c"}));
  EXPECT_EQ(counters.compressions, 1u);
  const std::string plain = "echo LINE a\r\nOK\r\n";
  ASSERT_TRUE(stream.written.starts_with(plain)) << stream.written;
  const std::string wire = stream.written.substr(plain.size());
  EXPECT_EQ(wire.find("compressed"), std::string::npos);
  EXPECT_EQ(client.inflate(wire), "compressed from here\r\necho LINE b\r\necho LINE c\r\n");
}

}  // namespace
}  // namespace mail::node
