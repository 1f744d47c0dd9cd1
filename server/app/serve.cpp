// `cloudsdial serve`: AsioEnv + MaildirStore + LocalDelivery + SmtpServer, a pid file with
// an exclusive lock (one server per data dir), readiness on stderr ("listening on ..."),
// and graceful shutdown on SIGTERM/SIGINT. Includes io/ headers (pimpl, no Asio types);
// must not include toml++ or Boost directly.
#include "app/serve.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>

#include "io/asio_env.h"
#include "node/local_delivery.h"
#include "node/smtp_server.h"
#include "runtime/await.h"
#include "store/directory.h"
#include "store/maildir.h"

namespace mail::app {
namespace {

rt::LogLevel parse_level(std::string_view s) {
  if (s == "debug") return rt::LogLevel::debug;
  if (s == "warn") return rt::LogLevel::warn;
  if (s == "error") return rt::LogLevel::error;
  return rt::LogLevel::info;
}

// The pid file doubles as the data-dir lock: flock() is released by the kernel however
// the process dies (kill -9 included), so a stale file never blocks a restart.
class PidFile {
 public:
  ~PidFile() {
    if (fd_ >= 0) {
      ::unlink(path_.c_str());
      ::close(fd_);
    }
  }
  Status acquire(const std::string& path) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return fail(error_from_errno(errno, "open " + path));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd_);
      fd_ = -1;
      if (err == EWOULDBLOCK) return fail(Errc::exists, path + " is locked: another cloudsdial serves this data dir");
      return fail(error_from_errno(err, "flock " + path));
    }
    const std::string text = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
      return fail(error_from_errno(errno, "write " + path));
    }
    return {};
  }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace

int run_serve(const AppConfig& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    std::cerr << "cloudsdial: cannot create data dir " << config.data_dir << ": " << ec.message() << "\n";
    return 1;
  }
  PidFile pid_file;
  if (auto locked = pid_file.acquire(config.pid_path()); !locked.ok()) {
    std::cerr << "cloudsdial: " << locked.error().detail << "\n";
    return 1;
  }

  io::AsioEnvOptions options;
  options.hostname = config.hostname;
  options.log_level_min = parse_level(config.log_level);
  io::AsioEnv env(options);

  store::Directory directory(config.directory);
  store::MaildirStore maildirs(env, store::MaildirConfig{config.data_dir});
  node::SmtpServerConfig smtp_config = config.smtp;
  if (smtp_config.session.hostname.empty()) smtp_config.session.hostname = std::string(env.hostname());
  node::LocalDelivery delivery(env, directory, maildirs, node::LocalDeliveryConfig{smtp_config.session.hostname});
  node::LocalMailHandler handler(delivery);
  node::SmtpServer server(env, std::move(smtp_config), handler);

  int exit_code = 0;
  bool started = false;
  bool stopping = false;

  auto shutdown = [&](std::string_view why) {
    if (stopping) return;
    stopping = true;
    env.log().write(rt::LogLevel::info, "cloudsdial: " + std::string(why) + ", shutting down");
    env.tasks().spawn([](io::AsioEnv& e, node::SmtpServer& s, Duration grace, bool was_started) -> rt::Task<void> {
      if (was_started) co_await s.stop(e.clock().now() + grace);
      e.stop();
    }(env, server, config.shutdown_timeout, started));
  };

  auto signals = env.on_signal({SIGTERM, SIGINT, SIGHUP}, [&](int signo) {
    if (signo == SIGHUP) {
      env.log().write(rt::LogLevel::warn, "cloudsdial: SIGHUP ignored (reload is not implemented yet)");
      return;
    }
    shutdown(signo == SIGTERM ? "SIGTERM" : "SIGINT");
  });

  // Startup runs on the Env: mailboxes first (so a configured user always has a Maildir),
  // then the listeners; only then are we ready.
  env.tasks().spawn([](io::AsioEnv& e, const AppConfig& cfg, store::MaildirStore& store, node::SmtpServer& s,
                       bool& started_flag, bool& stopping_flag, int& code) -> rt::Task<void> {
    for (const auto& user : cfg.directory.users) {
      auto made = co_await store.ensure_mailbox(user.name);
      if (!made.ok()) {
        std::cerr << "cloudsdial: cannot create the mailbox of " << user.name << ": " << made.error().detail << "\n";
        code = 1;
        stopping_flag = true;
        e.stop();
        co_return;
      }
    }
    if (stopping_flag) co_return;  // a signal arrived during startup
    if (auto listening = s.start(); !listening.ok()) {
      std::cerr << "cloudsdial: " << listening.error().detail << "\n";
      code = 1;
      stopping_flag = true;
      e.stop();
      co_return;
    }
    started_flag = true;
    for (const auto& ep : s.bound_endpoints()) std::cerr << "cloudsdial: listening on " << ep.to_string() << "\n";
    std::cerr << "cloudsdial: ready (pid " << ::getpid() << ", data dir " << cfg.data_dir << ")" << std::endl;
  }(env, config, maildirs, server, started, stopping, exit_code));

  env.run();
  return exit_code;
}

}  // namespace mail::app
