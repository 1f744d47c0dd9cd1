// `cloudsdial serve`: AsioEnv + MaildirStore + LocalDelivery + SmtpServer, TLS (configured
// or self-signed) and the user database for AUTH, a pid file with an exclusive lock (one
// server per data dir), readiness on stderr ("listening on ..."), SIGHUP reload of the
// certificate and users, graceful shutdown on SIGTERM/SIGINT. Includes io/ headers (pimpl,
// no Asio types); must not include toml++ or Boost directly.
#include "app/serve.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>

#include "app/tls_setup.h"
#include "io/asio_env.h"
#include "node/local_delivery.h"
#include "node/smtp_server.h"
#include "runtime/await.h"
#include "store/directory.h"
#include "store/maildir.h"
#include "store/user_db.h"
#include "tls/sasl_crypto.h"

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

// Reads the user database and swaps it in when its text changed; keeps the old copy on
// errors (a half-edited file never locks everybody out).
rt::Task<void> reload_users(io::AsioEnv& env, std::string path, store::LiveUserDb& users, std::string& last_text,
                            bool announce) {
  auto text = co_await rt::read_file(env.disk(), path);
  std::string current = text.ok() ? std::move(*text) : std::string();
  if (!text.ok() && text.code() != Errc::not_found) {
    env.log().write(rt::LogLevel::error, "cloudsdial: cannot read " + path + ": " + text.error().detail);
    co_return;
  }
  if (current == last_text && !announce) co_return;
  auto db = store::UserDb::parse(current);
  if (!db.ok()) {
    env.log().write(rt::LogLevel::error, "cloudsdial: " + path + ": " + db.error().detail + " (keeping the previous users)");
    co_return;
  }
  last_text = std::move(current);
  const std::size_t n = db->size();
  users.replace(std::move(db.value()));
  env.log().write(rt::LogLevel::info, "cloudsdial: " + std::to_string(n) + " user(s) from " + path);
}

// Re-reads the users file every few seconds, so `cloudsdial user add` takes effect
// without a signal.
rt::Task<void> watch_users(io::AsioEnv& env, std::string path, store::LiveUserDb& users, std::string& last_text,
                           const bool& stopping) {
  auto timer = env.clock().make_timer();
  while (!stopping) {
    (void)co_await rt::sleep_until(*timer, env.clock().now() + 5s);
    if (stopping) break;
    co_await reload_users(env, path, users, last_text, false);
  }
}

}  // namespace

int run_serve(const AppConfig& config) {
  // Message bodies are the large allocations (a 100 KiB body grows its buffer to 128 KiB).
  // glibc's defaults return such blocks to the kernel on free (mmap above the threshold,
  // heap trimming above 128 KiB free at the top), so every message paid page faults and
  // page zeroing again. Keep up to 32 MiB of freed heap and serve blocks below 4 MiB from
  // it (larger ones, up to the 35 MiB message limit, are still mmapped and returned).
  ::mallopt(M_MMAP_THRESHOLD, 4 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 32 << 20);
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
  const std::string hostname = smtp_config.session.hostname;
  node::LocalDelivery delivery(env, directory, maildirs, node::LocalDeliveryConfig{smtp_config.session.hostname});
  node::LocalMailHandler handler(delivery);
  tls::OpenSslCrypto crypto;
  store::LiveUserDb users;
  std::string users_text;
  smtp_config.session.auth.crypto = &crypto;
  smtp_config.session.auth.credentials = &users;
  node::SmtpServer server(env, std::move(smtp_config), handler);

  if (config.tls.enabled) {
    auto tls = load_server_tls(config, hostname);
    if (!tls.ok()) {
      std::cerr << "cloudsdial: TLS: " << tls.error().detail << "\n";
      return 1;
    }
    if (tls->generated) {
      std::cerr << "cloudsdial: generated a self-signed certificate for " << hostname << " in " << config.tls_dir()
                << " (clients will not verify it: set [tls] cert and key for production)\n";
    }
    std::cerr << "cloudsdial: TLS certificate " << tls->cert_file << "\n";
    server.set_tls(tls->context);
  }

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
      // Reload what can change without a restart: the certificate and the users.
      if (config.tls.enabled) {
        auto tls = load_server_tls(config, hostname);
        if (tls.ok()) {
          server.set_tls(tls->context);
          env.log().write(rt::LogLevel::info, "cloudsdial: SIGHUP: TLS certificate reloaded from " + tls->cert_file);
        } else {
          env.log().write(rt::LogLevel::error, "cloudsdial: SIGHUP: TLS reload failed, keeping the old certificate: " +
                                                   tls.error().detail);
        }
      }
      env.tasks().spawn(reload_users(env, config.users_path(), users, users_text, true));
      return;
    }
    shutdown(signo == SIGTERM ? "SIGTERM" : "SIGINT");
  });

  // Startup runs on the Env: mailboxes first (so a configured user always has a Maildir),
  // then the listeners; only then are we ready.
  env.tasks().spawn([](io::AsioEnv& e, const AppConfig& cfg, store::MailboxStore& store, node::SmtpServer& s,
                       store::LiveUserDb& user_db, std::string& user_text, bool& started_flag, bool& stopping_flag,
                       int& code) -> rt::Task<void> {
    co_await reload_users(e, cfg.users_path(), user_db, user_text, true);
    e.tasks().spawn(watch_users(e, cfg.users_path(), user_db, user_text, stopping_flag));
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
    for (std::size_t i = 0; i < s.bound_endpoints().size(); ++i) {
      std::cerr << "cloudsdial: listening on " << s.bound_endpoints()[i].to_string();
      if (s.bound_kind(i) != node::ListenerKind::smtp) std::cerr << " (" << node::to_string(s.bound_kind(i)) << ")";
      std::cerr << "\n";
    }
    std::cerr << "cloudsdial: ready (pid " << ::getpid() << ", data dir " << cfg.data_dir << ")" << std::endl;
  }(env, config, maildirs, server, users, users_text, started, stopping, exit_code));

  env.run();
  return exit_code;
}

}  // namespace mail::app
