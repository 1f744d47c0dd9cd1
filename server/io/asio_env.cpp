// AsioEnv wiring: the io_context (concurrency hint 1: one env thread, thread-safe post),
// a work guard so run() waits for stop(), and the parts — Asio clock and net, POSIX disk
// and DNS on their worker pools, the log (stderr or syslog), seeded Prng. Teardown order
// is documented in asio_env.h and implemented in ~AsioEnv.
#include "io/asio_env.h"
#include "io/thread_lane.h"

#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <climits>
#include <random>

#include "io/asio_detail.h"
#include "io/asio_native.h"
#include "io/dns.h"
#include "io/stderr_log.h"
#include "io/syslog_log.h"
#include "io/worker_pool.h"

namespace mail::io {
namespace {

namespace asio = boost::asio;

class AsioExecutor final : public rt::Executor {
 public:
  explicit AsioExecutor(asio::io_context& io) : io_(io) {}
  void post(UniqueFunction<void()> fn) override {
    MAIL_ASSERT(static_cast<bool>(fn));
    asio::post(io_, std::move(fn));
  }

 private:
  asio::io_context& io_;
};

std::uint64_t os_seed() {
  std::random_device rd;  // allowed here only: io/ is where the world comes in
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

std::unique_ptr<rt::Log> make_log(const AsioEnvOptions& o) {
  if (o.log_output == LogOutput::syslog) return std::make_unique<SyslogLog>(o.log_level_min, o.log_format);
  return std::make_unique<StderrLog>(o.log_level_min, STDERR_FILENO, o.log_format);
}

std::string system_hostname() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

}  // namespace

struct AsioEnv::Impl {
  explicit Impl(AsioEnvOptions o)
      : options(std::move(o)),
        work(io.get_executor()),
        executor(io),
        clock(detail::make_asio_clock(io)),
        rng(options.rng_seed != 0 ? options.rng_seed : os_seed()),
        net(detail::make_asio_net(io)),
        disk_pool(options.disk_threads, "mail-disk"),
        dns_pool(options.dns_threads, "mail-dns"),
        disk(disk_pool, executor, options.disk),
        dns(dns_pool, executor, *clock, options.dns),
        log(make_log(options)),
        hostname(options.hostname.empty() ? system_hostname() : options.hostname) {}

  AsioEnvOptions options;
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::atomic<bool> stop_pending{false};
  AsioExecutor executor;
  std::unique_ptr<rt::Clock> clock;
  Prng rng;
  std::unique_ptr<rt::Net> net;
  WorkerPool disk_pool;
  WorkerPool dns_pool;
  PosixDisk disk;
  PosixDns dns;
  std::unique_ptr<rt::Log> log;  // StderrLog or SyslogLog
  std::string hostname;
};

AsioEnv::AsioEnv(AsioEnvOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

AsioEnv::~AsioEnv() {
  // 1. No worker may post a completion once frames start dying; queued jobs are dropped.
  impl_->disk_pool.shutdown();
  impl_->dns_pool.shutdown();
  // 2. Destroy suspended root tasks while the io_context lives: their Streams, Listeners
  //    and Timers close and queue aborted handlers that will never run.
  tasks().destroy_all();
  // 3. The io_context goes last (declared first in Impl), destroying queued handlers
  //    and so every pending completion, uncalled.
  impl_.reset();
}

rt::Executor& AsioEnv::executor() { return impl_->executor; }
rt::Clock& AsioEnv::clock() { return *impl_->clock; }
Prng& AsioEnv::rng() { return impl_->rng; }
rt::Net& AsioEnv::net() { return *impl_->net; }
rt::Disk& AsioEnv::disk() { return impl_->disk; }
rt::Dns& AsioEnv::dns() { return impl_->dns; }
rt::Log& AsioEnv::log() { return *impl_->log; }
std::string_view AsioEnv::hostname() const { return impl_->hostname; }
std::unique_ptr<rt::BlockingLane> AsioEnv::make_blocking_lane(std::string name) {
  return std::make_unique<ThreadLane>(impl_->executor, std::move(name));
}

void AsioEnv::run() {
  // restart() first, then consume a stop() that came while no run() was active: a stop()
  // racing in after the check still stops io.run() below, because io.stop() follows the
  // flag store in stop().
  impl_->io.restart();
  if (impl_->stop_pending.exchange(false)) return;
  impl_->io.run();
  impl_->stop_pending.store(false);
}

void AsioEnv::stop() {
  impl_->stop_pending.store(true);
  impl_->io.stop();
}

SignalSet AsioEnv::on_signal(std::initializer_list<int> signals, UniqueFunction<void(int)> callback) {
  return SignalSet(*this, signals, std::move(callback));
}

boost::asio::io_context& io_context(AsioEnv& env) noexcept { return env.impl().io; }

}  // namespace mail::io
