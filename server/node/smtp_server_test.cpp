// SmtpServer driver tests over a tiny in-memory Env (virtual clock that jumps to the next
// timer, in-process streams that record every write): one write per round, Pause timing,
// idle timeout, per-IP refusal, graceful and forced shutdown, backpressure while a
// delivery is pending. The simulator (simulator/) covers whole-system runs; this file pins
// the driver loop's own contract (STYLE.md habit 1).
#include "node/smtp_server.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "runtime/await.h"

namespace mail::node {
namespace {

// ---------------------------------------------------------------------------- FakeEnv

class FakeEnv;

struct Scheduled {
  std::uint64_t id;
  UniqueFunction<void()> fire;
};

class FakeClock final : public rt::Clock {
 public:
  explicit FakeClock(FakeEnv& env) : env_(env) {}
  Instant now() const override { return now_; }
  WallTime wall_now() const override { return WallTime{1'767'225'600'000'000 + now_.time_since_epoch().count()}; }
  std::unique_ptr<rt::Timer> make_timer() override;

  std::uint64_t schedule(Instant at, UniqueFunction<void()> fn) {
    const std::uint64_t id = next_id_++;
    events_.emplace(std::make_pair(at, id), Scheduled{id, std::move(fn)});
    return id;
  }
  // Removes a scheduled event; returns its callback (to post as canceled) or nothing.
  void cancel(std::uint64_t id) {
    for (auto it = events_.begin(); it != events_.end(); ++it) {
      if (it->second.id == id) {
        events_.erase(it);
        return;
      }
    }
  }
  bool advance_to_next(Instant limit) {
    if (events_.empty()) return false;
    auto it = events_.begin();
    if (it->first.first > limit) return false;
    now_ = std::max(now_, it->first.first);
    auto fn = std::move(it->second.fire);
    events_.erase(it);
    fn();
    return true;
  }
  Instant now_{Duration(1'000'000)};

 private:
  FakeEnv& env_;
  std::map<std::pair<Instant, std::uint64_t>, Scheduled> events_;
  std::uint64_t next_id_ = 1;
};

class FakeExecutor final : public rt::Executor {
 public:
  void post(UniqueFunction<void()> fn) override { queue.push_back(std::move(fn)); }
  bool run_one() {
    if (queue.empty()) return false;
    auto fn = std::move(queue.front());
    queue.pop_front();
    fn();
    return true;
  }
  std::deque<UniqueFunction<void()>> queue;
};

class FakeTimer final : public rt::Timer {
 public:
  FakeTimer(FakeClock& clock, FakeExecutor& ex) : clock_(clock), ex_(ex) {}
  ~FakeTimer() override { cancel(); }
  void async_wait_until(Instant deadline, rt::Completion<void> done) override {
    cancel();
    pending_ = std::make_shared<rt::Completion<void>>(std::move(done));
    id_ = clock_.schedule(deadline, [this, p = pending_]() mutable {
      id_ = 0;
      pending_.reset();
      ex_.post([p]() mutable { (*p)(Status{}); });
    });
  }
  void cancel() override {
    if (id_ == 0) return;
    clock_.cancel(id_);
    id_ = 0;
    auto p = std::move(pending_);
    ex_.post([p]() mutable { (*p)(fail(Errc::canceled)); });
  }

 private:
  FakeClock& clock_;
  FakeExecutor& ex_;
  std::uint64_t id_ = 0;
  std::shared_ptr<rt::Completion<void>> pending_;
};

// Both ends of an in-memory connection. The server side is an rt::Stream; the test plays
// the client through this object.
struct Pipe {
  std::string to_server;
  bool client_closed = false;
  bool server_closed = false;   // close() called
  bool server_fin = false;      // shutdown_send() called
  std::vector<std::pair<Instant, std::string>> writes;  // each async_write_all, with time
  std::string client_address = "10.0.0.1";

  std::string all_written() const {
    std::string out;
    for (const auto& w : writes) out += w.second;
    return out;
  }
};

class FakeStream final : public rt::Stream {
 public:
  FakeStream(FakeEnv& env, std::shared_ptr<Pipe> pipe);
  ~FakeStream() override;
  void async_read_some(std::span<std::byte> into, Instant deadline, rt::Completion<std::size_t> done) override;
  void async_write_all(std::span<const std::byte> bytes, Instant deadline, rt::Completion<void> done) override;
  void shutdown_send() override { pipe_->server_fin = true; }
  void close() override;
  rt::Endpoint local_endpoint() const override { return {"10.0.0.99", 25}; }
  rt::Endpoint remote_endpoint() const override { return {pipe_->client_address, 40000}; }
  void poke();  // new client bytes or client close: complete a pending read

 private:
  void finish_read(Result<std::size_t> r);
  FakeEnv& env_;
  std::shared_ptr<Pipe> pipe_;
  std::span<std::byte> into_;
  std::shared_ptr<rt::Completion<std::size_t>> pending_read_;
  std::uint64_t read_timeout_id_ = 0;
};

class FakeListener final : public rt::Listener {
 public:
  explicit FakeListener(FakeEnv& env) : env_(env) {}
  void async_accept(rt::Completion<std::unique_ptr<rt::Stream>> done) override;
  rt::Endpoint local_endpoint() const override { return {"10.0.0.99", 25}; }
  void close() override;
  void offer(std::unique_ptr<rt::Stream> s);

 private:
  FakeEnv& env_;
  std::shared_ptr<rt::Completion<std::unique_ptr<rt::Stream>>> pending_;
  std::deque<std::unique_ptr<rt::Stream>> backlog_;
  bool closed_ = false;
};

class FakeNet final : public rt::Net {
 public:
  explicit FakeNet(FakeEnv& env) : env_(env) {}
  Result<std::unique_ptr<rt::Listener>> listen(const rt::Endpoint&) override {
    auto l = std::make_unique<FakeListener>(env_);
    listener = l.get();
    return std::unique_ptr<rt::Listener>(std::move(l));
  }
  void async_connect(const rt::Endpoint&, Instant, rt::Completion<std::unique_ptr<rt::Stream>> done) override;
  FakeListener* listener = nullptr;
  std::vector<FakeStream*> streams;

 private:
  FakeEnv& env_;
};

class NullDisk final : public rt::Disk {
 public:
  explicit NullDisk(FakeExecutor& ex) : ex_(ex) {}
  template <class T>
  void unsupported(rt::Completion<T> done) {
    ex_.post([d = std::move(done)]() mutable { d(fail(Errc::unsupported)); });
  }
  void async_write_file(std::string, std::string, rt::WriteMode, rt::Completion<void> d) override { unsupported(std::move(d)); }
  void async_read_file(std::string, rt::Completion<std::string> d) override { unsupported(std::move(d)); }
  void async_sync_files(std::vector<std::string>, rt::Completion<void> d) override { unsupported(std::move(d)); }
  void async_sync_dir(std::string, rt::Completion<void> d) override { unsupported(std::move(d)); }
  void async_rename(std::string, std::string, rt::Completion<void> d) override { unsupported(std::move(d)); }
  void async_link(std::string, std::string, rt::Completion<void> d) override { unsupported(std::move(d)); }
  void async_remove(std::string, rt::Completion<void> d) override { unsupported(std::move(d)); }
  void async_make_dirs(std::string, rt::Completion<void> d) override { unsupported(std::move(d)); }
  void async_list_dir(std::string, rt::Completion<std::vector<rt::DirEntry>> d) override { unsupported(std::move(d)); }
  void async_file_size(std::string, rt::Completion<std::uint64_t> d) override { unsupported(std::move(d)); }

 private:
  FakeExecutor& ex_;
};

class NullDns final : public rt::Dns {
 public:
  explicit NullDns(FakeExecutor& ex) : ex_(ex) {}
  void async_mx(std::string, Instant, rt::Completion<std::vector<rt::MxRecord>> d) override {
    ex_.post([d = std::move(d)]() mutable { d(fail(Errc::unsupported)); });
  }
  void async_addresses(std::string, Instant, rt::Completion<std::vector<std::string>> d) override {
    ex_.post([d = std::move(d)]() mutable { d(fail(Errc::unsupported)); });
  }
  void async_txt(std::string, Instant, rt::Completion<std::vector<std::string>> d) override {
    ex_.post([d = std::move(d)]() mutable { d(fail(Errc::unsupported)); });
  }

 private:
  FakeExecutor& ex_;
};

class MemoryLog final : public rt::Log {
 public:
  void write(rt::LogLevel, std::string_view line) override { lines.emplace_back(line); }
  bool contains(std::string_view s) const {
    for (const auto& l : lines) {
      if (l.find(s) != std::string::npos) return true;
    }
    return false;
  }
  std::vector<std::string> lines;
};

class FakeEnv final : public rt::Env {
 public:
  FakeEnv() : clock_(*this), net_(*this), disk_(executor_), dns_(executor_), rng_(42) {}
  ~FakeEnv() override {
    executor_.queue.clear();
    tasks().destroy_all();
  }
  rt::Executor& executor() override { return executor_; }
  rt::Clock& clock() override { return clock_; }
  Prng& rng() override { return rng_; }
  rt::Net& net() override { return net_; }
  rt::Disk& disk() override { return disk_; }
  rt::Dns& dns() override { return dns_; }
  rt::Log& log() override { return log_; }
  std::string_view hostname() const override { return "mx.test"; }

  // Runs posted work; when none is left, jumps to the next timer up to `until`.
  void run_until(Instant until) {
    for (int guard = 0; guard < 1'000'000; ++guard) {
      if (executor_.run_one()) continue;
      if (!clock_.advance_to_next(until)) {
        clock_.now_ = std::max(clock_.now_, until);
        return;
      }
    }
    FAIL() << "FakeEnv: runaway loop";
  }
  void run_for(Duration d) { run_until(clock_.now_ + d); }
  void settle() { run_until(clock_.now_); }  // posted work only, no time passes

  // A new client connection (the listener must have been created by SmtpServer::start()).
  std::shared_ptr<Pipe> connect(std::string address = "10.0.0.1") {
    auto pipe = std::make_shared<Pipe>();
    pipe->client_address = std::move(address);
    auto stream = std::make_unique<FakeStream>(*this, pipe);
    net_.listener->offer(std::move(stream));
    settle();
    return pipe;
  }
  void client_send(const std::shared_ptr<Pipe>& pipe, std::string_view bytes) {
    pipe->to_server += bytes;
    poke(pipe);
  }
  void client_close(const std::shared_ptr<Pipe>& pipe) {
    pipe->client_closed = true;
    poke(pipe);
  }
  void poke(const std::shared_ptr<Pipe>&) {
    for (FakeStream* s : net_.streams) s->poke();
    settle();
  }

  FakeExecutor executor_;
  FakeClock clock_;
  FakeNet net_;
  NullDisk disk_;
  NullDns dns_;
  MemoryLog log_;
  Prng rng_;
};

std::unique_ptr<rt::Timer> FakeClock::make_timer() { return std::make_unique<FakeTimer>(*this, env_.executor_); }

FakeStream::FakeStream(FakeEnv& env, std::shared_ptr<Pipe> pipe) : env_(env), pipe_(std::move(pipe)) {
  env_.net_.streams.push_back(this);
}
FakeStream::~FakeStream() {
  auto& v = env_.net_.streams;
  v.erase(std::remove(v.begin(), v.end(), this), v.end());
  if (read_timeout_id_ != 0) env_.clock_.cancel(read_timeout_id_);
}

void FakeStream::async_read_some(std::span<std::byte> into, Instant deadline, rt::Completion<std::size_t> done) {
  MAIL_ASSERT(!pending_read_);
  into_ = into;
  pending_read_ = std::make_shared<rt::Completion<std::size_t>>(std::move(done));
  if (deadline != instant_max()) {
    read_timeout_id_ = env_.clock_.schedule(deadline, [this] {
      read_timeout_id_ = 0;
      finish_read(fail(Errc::timeout));
    });
  }
  poke();
}

void FakeStream::poke() {
  if (!pending_read_) return;
  if (pipe_->server_closed) {
    finish_read(fail(Errc::canceled));
  } else if (!pipe_->to_server.empty()) {
    const std::size_t n = std::min(into_.size(), pipe_->to_server.size());
    std::memcpy(into_.data(), pipe_->to_server.data(), n);
    pipe_->to_server.erase(0, n);
    finish_read(n);
  } else if (pipe_->client_closed) {
    finish_read(fail(Errc::eof));
  }
}

void FakeStream::finish_read(Result<std::size_t> r) {
  if (read_timeout_id_ != 0) {
    env_.clock_.cancel(read_timeout_id_);
    read_timeout_id_ = 0;
  }
  auto p = std::move(pending_read_);
  env_.executor_.post([p, r = std::move(r)]() mutable { (*p)(std::move(r)); });
}

void FakeStream::async_write_all(std::span<const std::byte> bytes, Instant, rt::Completion<void> done) {
  if (pipe_->server_closed || pipe_->client_closed) {
    env_.executor_.post([d = std::move(done)]() mutable { d(fail(Errc::reset)); });
    return;
  }
  pipe_->writes.emplace_back(env_.clock_.now(), std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  env_.executor_.post([d = std::move(done)]() mutable { d(Status{}); });
}

void FakeStream::close() {
  pipe_->server_closed = true;
  poke();
}

void FakeListener::async_accept(rt::Completion<std::unique_ptr<rt::Stream>> done) {
  MAIL_ASSERT(!pending_);
  if (closed_) {
    env_.executor_.post([d = std::move(done)]() mutable { d(fail(Errc::canceled)); });
    return;
  }
  if (!backlog_.empty()) {
    auto s = std::move(backlog_.front());
    backlog_.pop_front();
    env_.executor_.post([d = std::move(done), s = std::move(s)]() mutable { d(std::move(s)); });
    return;
  }
  pending_ = std::make_shared<rt::Completion<std::unique_ptr<rt::Stream>>>(std::move(done));
}

void FakeListener::offer(std::unique_ptr<rt::Stream> s) {
  if (pending_) {
    auto p = std::move(pending_);
    env_.executor_.post([p, s = std::move(s)]() mutable { (*p)(std::move(s)); });
  } else {
    backlog_.push_back(std::move(s));
  }
}

void FakeListener::close() {
  closed_ = true;
  if (pending_) {
    auto p = std::move(pending_);
    env_.executor_.post([p]() mutable { (*p)(fail(Errc::canceled)); });
  }
}

void FakeNet::async_connect(const rt::Endpoint&, Instant, rt::Completion<std::unique_ptr<rt::Stream>> done) {
  env_.executor_.post([d = std::move(done)]() mutable { d(fail(Errc::unsupported)); });
}

// ---------------------------------------------------------------------------- handler

class FakeHandler final : public MailHandler {
 public:
  explicit FakeHandler(FakeEnv& env) : env_(env) {}
  smtp::Reply check_recipient(const smtp::Path& to, const SessionFacts& /*facts*/) override {
    if (to.mailbox && to.mailbox->local_part == "ok") return smtp::Reply::make(250, {2, 1, 5}, "Ok");
    return smtp::Reply::make(550, {5, 1, 1}, "User unknown");
  }
  rt::Task<DeliveryResult> deliver(const smtp::Envelope& envelope, std::string content) override {
    ++started;
    auto timer = env_.clock().make_timer();
    (void)co_await rt::sleep_until(*timer, env_.clock().now() + delivery_time);
    messages.push_back(std::move(content));
    recipients += envelope.recipients.size();
    co_return DeliveryResult{smtp::Reply::make(250, {2, 0, 0}, "Ok: queued as Q" + std::to_string(messages.size())),
                             "Q" + std::to_string(messages.size()), 0};
  }
  FakeEnv& env_;
  Duration delivery_time = 10ms;
  int started = 0;
  std::size_t recipients = 0;
  std::vector<std::string> messages;
};

// ---------------------------------------------------------------------------- fixture

class SmtpServerTest : public ::testing::Test {
 protected:
  void start(SmtpServerConfig config = {}) {
    config.listen = {rt::Endpoint{"10.0.0.99", 25}};
    config.session.hostname = "mx.test";
    server_ = std::make_unique<SmtpServer>(env_, std::move(config), handler_);
    ASSERT_TRUE(server_->start().ok());
    env_.settle();
  }
  // Runs stop() to completion (bounded by `limit` of virtual time); true if it finished.
  bool stop(Instant deadline, Duration limit = 60s) {
    bool done = false;
    env_.tasks().spawn([](SmtpServer& s, Instant d, bool& flag) -> rt::Task<void> {
      co_await s.stop(d);
      flag = true;
    }(*server_, deadline, done));
    const Instant until = env_.clock_.now_ + limit;
    while (!done && env_.clock_.now_ < until) env_.run_for(100ms);
    return done;
  }
  static int count(const std::string& hay, std::string_view needle) {
    int n = 0;
    for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
    return n;
  }

  FakeEnv env_;
  FakeHandler handler_{env_};
  std::unique_ptr<SmtpServer> server_;
};

TEST_F(SmtpServerTest, PipelinedCommandsGetOneWritePerRound) {
  start();
  auto c = env_.connect();
  ASSERT_EQ(c->writes.size(), 1u);
  EXPECT_EQ(c->writes[0].second.rfind("220 ", 0), 0u) << c->writes[0].second;
  env_.client_send(c, "EHLO client.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<ok@x.test>\r\nRCPT TO:<no@x.test>\r\nDATA\r\n");
  ASSERT_EQ(c->writes.size(), 2u) << c->all_written();
  const std::string& round = c->writes[1].second;
  EXPECT_EQ(count(round, "\r\n250 "), 3) << round;  // EHLO last line, MAIL, RCPT ok
  EXPECT_NE(round.find("550 5.1.1"), std::string::npos) << round;
  EXPECT_NE(round.find("354 "), std::string::npos) << round;
  env_.client_send(c, "Subject: x\r\n\r\nhello\r\n.\r\n");
  env_.run_for(1s);
  ASSERT_EQ(handler_.messages.size(), 1u);
  EXPECT_EQ(handler_.messages[0], "Subject: x\r\n\r\nhello\r\n");
  EXPECT_EQ(handler_.recipients, 1u);
  EXPECT_NE(c->writes.back().second.find("250 2.0.0 Ok: queued as Q1"), std::string::npos);
  EXPECT_TRUE(env_.log_.contains("Q1: from=<a@b.test> to=<ok@x.test>")) << env_.log_.lines.back();
  env_.client_send(c, "QUIT\r\n");
  EXPECT_NE(c->writes.back().second.find("221 "), std::string::npos);
  EXPECT_TRUE(c->server_fin);  // half-closed, lingering for the client's FIN
  env_.client_close(c);
  env_.run_for(1s);
  EXPECT_TRUE(c->server_closed);
  EXPECT_EQ(server_->connection_count(), 0u);
  EXPECT_TRUE(stop(env_.clock_.now_ + 10s));
}

TEST_F(SmtpServerTest, InputWaitsWhileDeliveryIsPending) {
  start();
  handler_.delivery_time = 5s;
  auto c = env_.connect();
  env_.client_send(c, "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<ok@x.test>\r\nDATA\r\n");
  // The message, then the next transaction, pipelined behind the dot.
  env_.client_send(c, "Subject: 1\r\n\r\none\r\n.\r\nMAIL FROM:<c@d.test>\r\nRCPT TO:<ok@x.test>\r\nDATA\r\n");
  env_.run_for(1s);
  EXPECT_EQ(handler_.started, 1);
  EXPECT_EQ(count(c->all_written(), "250 2.1.0"), 1);  // second MAIL not answered yet
  env_.run_for(5s);
  EXPECT_EQ(handler_.messages.size(), 1u);
  const std::string all = c->all_written();
  EXPECT_LT(all.find("queued as Q1"), all.rfind("250 2.1.0"));  // replies in command order
  EXPECT_EQ(count(all, "354 "), 2);
  env_.client_send(c, "Subject: 2\r\n\r\ntwo\r\n.\r\nQUIT\r\n");
  env_.run_for(10s);
  EXPECT_EQ(handler_.messages.size(), 2u);
  env_.client_close(c);
  EXPECT_TRUE(stop(env_.clock_.now_ + 10s));
}

TEST_F(SmtpServerTest, PauseDelaysLaterReplies) {
  SmtpServerConfig config;
  config.session.limits.errors_before_delay = 2;
  config.session.limits.error_delay = 1s;
  start(config);
  auto c = env_.connect();
  const Instant t0 = env_.clock_.now_;
  env_.client_send(c, "BOGUS1\r\nBOGUS2\r\nBOGUS3\r\nBOGUS4\r\n");
  env_.run_for(10s);
  EXPECT_EQ(count(c->all_written(), "500 "), 4) << c->all_written();
  // The first replies go out at once; the delayed ones only after the pause.
  ASSERT_GE(c->writes.size(), 3u);
  EXPECT_EQ(c->writes[1].first, t0);
  EXPECT_GE(c->writes.back().first, t0 + 1s);
  env_.client_close(c);
  EXPECT_TRUE(stop(env_.clock_.now_ + 10s));
}

TEST_F(SmtpServerTest, IdleClientTimesOut) {
  start();
  auto c = env_.connect();
  env_.run_for(4min);
  EXPECT_FALSE(c->server_fin);
  env_.run_for(2min);
  EXPECT_NE(c->all_written().find("421 4.4.2"), std::string::npos) << c->all_written();
  env_.run_for(10s);  // linger over even though the client never closes
  EXPECT_TRUE(c->server_closed);
  EXPECT_EQ(server_->connection_count(), 0u);
  EXPECT_TRUE(stop(env_.clock_.now_ + 10s));
}

TEST_F(SmtpServerTest, PerIpLimitRefusesWith421) {
  SmtpServerConfig config;
  config.connections.connections_per_ip_max = 2;
  start(config);
  auto a = env_.connect("10.0.0.1");
  auto b = env_.connect("10.0.0.1");
  auto other = env_.connect("10.0.0.2");
  auto refused = env_.connect("10.0.0.1");
  env_.run_for(1s);
  EXPECT_EQ(refused->all_written().rfind("421 4.7.0 mx.test Error: too many connections from 10.0.0.1\r\n", 0), 0u)
      << refused->all_written();
  EXPECT_TRUE(refused->server_closed);
  EXPECT_EQ(other->writes.at(0).second.rfind("220 ", 0), 0u);
  EXPECT_EQ(server_->counters().connections_refused, 1u);
  env_.client_send(a, "QUIT\r\n");
  env_.client_close(a);
  env_.run_for(1s);
  auto again = env_.connect("10.0.0.1");
  EXPECT_EQ(again->writes.at(0).second.rfind("220 ", 0), 0u);
  for (const auto& p : {b, other, again}) env_.client_close(p);
  EXPECT_TRUE(stop(env_.clock_.now_ + 10s));
}

TEST_F(SmtpServerTest, GracefulStopLetsTheTransactionFinish) {
  start();
  auto idle = env_.connect("10.0.0.1");
  auto busy = env_.connect("10.0.0.2");
  env_.client_send(busy, "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<ok@x.test>\r\nDATA\r\n");
  env_.client_send(busy, "Subject: x\r\n");  // after the 354 (RFC 2920 section 3.1)
  bool done = false;
  env_.tasks().spawn([](SmtpServer& s, Instant d, bool& flag) -> rt::Task<void> {
    co_await s.stop(d);
    flag = true;
  }(*server_, env_.clock_.now_ + 30s, done));
  env_.run_for(1s);
  EXPECT_NE(idle->all_written().find("421 4.3.2"), std::string::npos) << idle->all_written();
  EXPECT_EQ(busy->all_written().find("421"), std::string::npos) << busy->all_written();
  env_.client_send(busy, "\r\nbody\r\n.\r\n");
  env_.run_for(1s);
  const std::string all = busy->all_written();
  EXPECT_NE(all.find("250 2.0.0 Ok: queued as Q1"), std::string::npos) << all;
  EXPECT_GT(all.find("421 4.3.2"), all.find("queued as Q1")) << all;
  env_.client_close(idle);
  env_.client_close(busy);
  env_.run_for(1s);
  EXPECT_TRUE(done);
  EXPECT_EQ(handler_.messages.size(), 1u);
}

TEST_F(SmtpServerTest, StopForces421AtTheDeadlineThenCloses) {
  start();
  auto c = env_.connect();
  env_.client_send(c, "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\n");
  const Instant deadline = env_.clock_.now_ + 5s;
  bool done = false;
  env_.tasks().spawn([](SmtpServer& s, Instant d, bool& flag) -> rt::Task<void> {
    co_await s.stop(d);
    flag = true;
  }(*server_, deadline, done));
  env_.run_for(4s);
  EXPECT_EQ(c->all_written().find("421"), std::string::npos);
  env_.run_for(2s);
  EXPECT_NE(c->all_written().find("421 4.3.2"), std::string::npos) << c->all_written();
  EXPECT_GE(c->writes.back().first, deadline);
  // The client never closes: the stream is closed by linger/grace, and stop completes.
  env_.run_for(10s);
  EXPECT_TRUE(c->server_closed);
  EXPECT_TRUE(done);
}

TEST_F(SmtpServerTest, StopAbortsAClientThatNeverReads) {
  SmtpServerConfig config;
  config.force_close_grace = 1s;
  config.linger_timeout = 30s;  // longer than the grace: the abort path must close it
  start(config);
  auto c = env_.connect();
  env_.client_send(c, "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\n");
  EXPECT_TRUE(stop(env_.clock_.now_ + 2s, 20s));
  EXPECT_TRUE(c->server_closed);
}

TEST_F(SmtpServerTest, NewConnectionsAfterStopAreNotServed) {
  start();
  EXPECT_TRUE(stop(env_.clock_.now_ + 1s));
  EXPECT_EQ(server_->connection_count(), 0u);
}

}  // namespace
}  // namespace mail::node

namespace mail::node {
namespace {

// Issue 12: every rejection gets one log line (Postfix's "NOQUEUE: reject:" shape), and a
// flood of them is rate-limited with a count of what was left out.
TEST_F(SmtpServerTest, RejectionsAreLoggedOncePerRejectionAndRateLimited) {
  SmtpServerConfig config;
  config.reject_log = LogBudgetConfig{2, 1};
  start(config);
  auto c = env_.connect();
  env_.client_send(c, "EHLO client.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<no@x.test>\r\n");
  EXPECT_TRUE(env_.log_.contains(
      "NOQUEUE: reject: RCPT from 10.0.0.1: 550 5.1.1 User unknown; from=<a@b.test> arg=<<no@x.test>> "
      "helo=<client.test>"))
      << env_.log_.lines.back();
  env_.client_send(c, "RCPT TO:<no2@x.test>\r\nRCPT TO:<no3@x.test>\r\nRCPT TO:<no4@x.test>\r\n");
  EXPECT_TRUE(env_.log_.contains("arg=<<no2@x.test>>"));
  EXPECT_FALSE(env_.log_.contains("arg=<<no3@x.test>>"));  // over the burst of 2
  EXPECT_FALSE(env_.log_.contains("arg=<<no4@x.test>>"));
  EXPECT_EQ(server_->counters().rejections, 4u);
  env_.run_for(1500ms);  // one token back
  env_.client_send(c, "RCPT TO:<no5@x.test>\r\n");
  EXPECT_TRUE(env_.log_.contains("arg=<<no5@x.test>> helo=<client.test> (2 earlier rejection line(s) suppressed)"))
      << env_.log_.lines.back();
  env_.client_send(c, "QUIT\r\n");
  env_.client_close(c);
  env_.run_for(1s);
  EXPECT_TRUE(stop(env_.clock_.now_ + 10s));
}

}  // namespace
}  // namespace mail::node
