// AsioEnv: the production rt::Env. One io_context driven by the thread that calls run()
// (the "env thread"): sockets, timers and signals complete there; disk and DNS calls run
// on a small worker pool and post their completions back to it. No Boost header here
// (pimpl), so node/ and app/ translation units that include this stay cheap to compile.
#pragma once

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "core/function.h"
#include "io/dns.h"
#include "io/posix_disk.h"
#include "io/signals.h"
#include "io/stderr_log.h"
#include "runtime/env.h"

namespace mail::io {

// Where log().write() lines go: stderr (fd 2, one write(2) per line) or syslog(3)
// (io/syslog_log.h: facility LOG_MAIL, ident "cloudsdial", no timestamp of our own).
enum class LogOutput : std::uint8_t { stderr_fd, syslog };

struct AsioEnvOptions {
  std::string hostname;                             // empty: gethostname()
  std::size_t disk_threads = 4;                     // worker pool for Disk (>= 1)
  std::size_t dns_threads = 2;                      // own pool: a stuck query never delays disk
  std::uint64_t rng_seed = 0;                       // 0: seeded from std::random_device
  rt::LogLevel log_level_min = rt::LogLevel::info;  // lower levels are dropped
  LogFormat log_format = LogFormat::text;           // text lines or one JSON object per line
  LogOutput log_output = LogOutput::stderr_fd;
  PosixDiskOptions disk;                            // sync strategy, file and directory modes
  PosixDnsConfig dns;                               // [dns]: empty servers = the system resolver
};

// Threading: run() drives the Env on the calling thread. Every Env call must be made on
// that thread (or before run() starts, or after it returns), except executor().post(),
// log().write() and stop(), which are thread-safe.
//
// Lifetime and shutdown: stop() makes run() return as soon as the handler that is running
// finishes. Completions still pending then are NOT invoked and NOT canceled: they stay
// queued, and a later run() resumes them; ~AsioEnv destroys them uncalled (rt::Env
// contract). ~AsioEnv, which must not run concurrently with run(), (1) joins the worker
// pool, dropping queued disk/DNS jobs uncalled, (2) destroys every root task in tasks()
// (so their Streams, Listeners and Timers close while the io_context is alive), then
// (3) destroys the io_context with the completions still queued in it. Streams,
// Listeners, Timers and SignalSets created from this Env must not outlive it.
class AsioEnv final : public rt::Env {
 public:
  explicit AsioEnv(AsioEnvOptions options = {});
  ~AsioEnv() override;
  AsioEnv(const AsioEnv&) = delete;
  AsioEnv& operator=(const AsioEnv&) = delete;

  rt::Executor& executor() override;
  rt::Clock& clock() override;
  Prng& rng() override;
  rt::Net& net() override;
  rt::Disk& disk() override;
  rt::Dns& dns() override;
  rt::Log& log() override;
  std::string_view hostname() const override;
  // A ThreadLane (io/thread_lane.h): its own thread, `done` posted to this Env's loop.
  std::unique_ptr<rt::BlockingLane> make_blocking_lane(std::string name) override;

  // Runs the event loop on the calling thread until stop(). Returns at once if stop() was
  // called while no run() was active (the request is consumed). Not reentrant.
  void run();
  // Thread-safe and async-signal-unsafe: use on_signal() for signals.
  void stop();

  // Invokes `callback(signo)` on the env thread each time one of `signals` is delivered,
  // for as long as the returned SignalSet lives (SIGTERM/SIGINT: graceful shutdown;
  // SIGHUP: reload). Several sets may watch the same signal; each sees every delivery.
  [[nodiscard]] SignalSet on_signal(std::initializer_list<int> signals, UniqueFunction<void(int)> callback);

  struct Impl;  // asio_env.cpp; io/asio_native.h exposes its io_context to http/
  Impl& impl() noexcept { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mail::io
