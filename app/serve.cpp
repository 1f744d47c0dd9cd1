// `cloudsdial serve`: node::MailServer (the one assembly, also run by the simulator and the
// Python embedded server) on AsioEnv, TLS (configured or self-signed), a pid file with an
// exclusive lock (one server per data dir), readiness on stderr ("listening on ...") and to
// systemd (sd_notify READY/RELOADING/STOPPING/STATUS), SIGHUP reload of the certificate and
// users, graceful shutdown on SIGTERM/SIGINT. Started as root with [server] user, it binds,
// opens what needs root (pid file, TLS key), gives the data dir to the account and drops to
// it before any client byte is read (app/privileges.h). Includes io/ headers (pimpl, no Asio
// types); must not include toml++ or Boost directly.
#include "app/serve.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>

#include "app/privileges.h"
#include "app/systemd.h"
#include "app/tls_setup.h"
#include "io/asio_env.h"
#include "node/mail_server.h"
#include "runtime/await.h"

namespace mail::app {
namespace {

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
  // `owner`: the service account the server drops to (the file must stay removable and
  // rewritable by it after a restart that starts as that user).
  Status acquire(const std::string& path, const std::optional<ServiceAccount>& owner) {
    path_ = path;
    // 0644: it holds only a number, for monitoring and `kill $(cat ...)`; the data dir
    // around it is 0700 when we created it.
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return fail(error_from_errno(errno, "open " + path));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd_);
      fd_ = -1;
      if (err == EWOULDBLOCK) return fail(Errc::exists, path + " is locked: another cloudsdial serves this data dir");
      return fail(error_from_errno(err, "flock " + path));
    }
    if (owner && ::fchown(fd_, owner->uid, owner->gid) != 0) return fail(error_from_errno(errno, "chown " + path));
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

// The STATUS= line for systemctl: "serving: 3 sessions (smtp 1, imap 2, pop3 0, http 0), queue 5".
std::string service_status(node::MailServer& s) {
  const node::MailServer::SessionCounts n = s.session_counts();
  std::string out = "serving: " + std::to_string(n.total()) + " sessions (smtp " + std::to_string(n.smtp) + ", imap " +
                    std::to_string(n.imap) + ", pop3 " + std::to_string(n.pop3) + ", http " + std::to_string(n.http) + ")";
  if (node::QueueManager* q = s.outbound()) out += ", queue " + std::to_string(q->counters().messages);
  return out;
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
  // No execve of ours (there is none) may ever gain privileges. Set before the Env starts
  // its threads: the flag is per thread and inherited only by threads created after it.
  const Status no_new_privs = forbid_new_privileges();
  // Under systemd with StandardError=journal, text lines carry "<N>" priorities instead of
  // a time stamp (the journal has its own).
  const bool journal = config.log_format == "text" && config.log_output == "stderr" && stderr_is_journal();
  io::AsioEnvOptions options;
  options.hostname = config.hostname;
  options.log_level_min = parse_log_level(config.log_level);
  options.log_format = config.log_format == "json" ? io::LogFormat::json : journal ? io::LogFormat::journal : io::LogFormat::text;
  options.log_output = config.log_output == "syslog" ? io::LogOutput::syslog : io::LogOutput::stderr_fd;
  options.dns.servers = config.dns.servers;  // [dns]: checked by parse_config
  options.dns.timeout = config.dns.timeout;
  options.dns.attempts = config.dns.attempts;
  io::AsioEnv env(options);

  // What `serve` says itself (configuration, certificate, readiness, start-up errors): plain
  // lines on stderr, or records of the configured log when it is JSON or the journal, so
  // that their reader sees nothing else.
  const bool structured_log = config.log_format == "json" || journal;
  auto say = [&env, structured_log](rt::LogLevel level, const std::string& text) {
    if (structured_log) {
      env.log().write(level, text);
    } else {
      std::cerr << text << std::endl;
    }
  };
  say(rt::LogLevel::info, "cloudsdial " CLOUDSDIAL_VERSION ": using configuration " +
                              (config.source == "embedded default" ? "(embedded default)" : config.source));

  // Who we run as: decided before anything is bound or created.
  auto account = resolve_service_account(config);
  if (!account.ok()) {
    say(rt::LogLevel::error, "cloudsdial: " + account.error().detail);
    return 2;
  }
  std::string public_listener;
  for (const rt::Endpoint& ep : configured_listeners(config)) {
    if (public_listener.empty() && is_public_endpoint(ep)) public_listener = ep.to_string();
  }
  const StartDecision start = decide_start(::geteuid(), *account, public_listener, config.allow_root);
  if (start.action == StartAction::refuse) {
    say(rt::LogLevel::error, "cloudsdial: " + start.message);
    return 2;
  }
  if (!start.message.empty()) say(rt::LogLevel::warn, "cloudsdial: " + start.message);
  if (!no_new_privs.ok()) say(rt::LogLevel::warn, "cloudsdial: " + no_new_privs.error().detail);
  const bool drop = start.action == StartAction::drop;
  const std::optional<ServiceAccount> owner = drop ? *account : std::nullopt;

  node::MailServerConfig server_config = config.server_config();
  server_config.control_socket = true;  // `cloudsdial queue ...` talks to it
  node::MailServer server(env, std::move(server_config));
  const std::string hostname = server.config().smtp.session.hostname;

  // The ports first: a port in use (or not ours to take) stops the start before anything
  // is created on disk.
  if (Status bound = server.bind(); !bound.ok()) {
    say(rt::LogLevel::error, "cloudsdial: " + bound.error().detail);
    return 1;
  }
  if (Status made = make_private_dirs(config.data_dir); !made.ok()) {
    say(rt::LogLevel::error, "cloudsdial: data dir: " + made.error().detail);
    return 1;
  }
  PidFile pid_file;
  if (auto locked = pid_file.acquire(config.pid_path(), owner); !locked.ok()) {
    say(rt::LogLevel::error, "cloudsdial: " + locked.error().detail);
    return 1;
  }

  if (config.tls.enabled) {
    auto tls = load_server_tls(config, hostname);
    if (!tls.ok()) {
      say(rt::LogLevel::error, "cloudsdial: TLS: " + tls.error().detail);
      return 1;
    }
    if (tls->generated) {
      say(rt::LogLevel::warn, "cloudsdial: generated a self-signed certificate for " + hostname + " in " +
                                  config.tls_dir() + " (clients will not verify it: set [tls] cert and key for production)");
    }
    say(rt::LogLevel::info, "cloudsdial: TLS certificate " + tls->cert_file);
    server.set_tls(tls->context);
  }

  // Everything that needed root is done: the data dir becomes the account's (entries made
  // as root before, e.g. by `cloudsdial queue` on a stopped server, included), then root is
  // given up for good, before start() accepts the first client.
  if (drop) {
    auto given = give_to_account(config.data_dir, *owner);
    if (!given.ok()) {
      say(rt::LogLevel::error, "cloudsdial: data dir: " + given.error().detail);
      return 1;
    }
    if (*given > 0) {
      say(rt::LogLevel::info, "cloudsdial: gave " + std::to_string(*given) + " entries of " + config.data_dir + " to " +
                                  owner->user + ":" + owner->group);
    }
    if (Status dropped = drop_privileges(*owner); !dropped.ok()) {
      say(rt::LogLevel::error, "cloudsdial: cannot drop privileges to " + owner->user + ": " + dropped.error().detail);
      return 1;
    }
    say(rt::LogLevel::info, "cloudsdial: running as " + owner->user + " (uid " + std::to_string(owner->uid) + "), group " +
                                owner->group + " (gid " + std::to_string(owner->gid) + ")");
  }

  int exit_code = 0;
  bool started = false;
  bool stopping = false;

  auto shutdown = [&](std::string_view why) {
    if (stopping) {
      // The second signal: an operator who asks twice does not want to wait for stalled
      // clients (most servers do the same). Sessions are cut; nothing acknowledged is lost,
      // since a 250 is only ever sent after the message is durable.
      env.log().write(rt::LogLevel::warn, "cloudsdial: " + std::string(why) + " again, stopping now");
      env.stop();
      return;
    }
    stopping = true;
    notify_service_manager("STOPPING=1\nSTATUS=shutting down (" + std::string(why) + ")");
    env.log().write(rt::LogLevel::info, "cloudsdial: " + std::string(why) + ", shutting down");
    env.tasks().spawn([](io::AsioEnv& e, node::MailServer& s, Duration grace, bool was_started) -> rt::Task<void> {
      if (was_started) co_await s.stop(e.clock().now() + grace);
      e.stop();
    }(env, server, config.shutdown_timeout, started));
  };

  auto signals = env.on_signal({SIGTERM, SIGINT, SIGHUP}, [&](int signo) {
    if (signo == SIGHUP) {
      // Reload what can change without a restart: the certificate and the users. After the
      // privilege drop the key must be readable by the account (e.g. group ssl-cert).
      notify_service_manager(reloading_state());
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
      env.tasks().spawn([](node::MailServer& s) -> rt::Task<void> {
        co_await s.reload_users(true);
        notify_service_manager("READY=1\nSTATUS=" + service_status(s));
      }(server));
      return;
    }
    shutdown(signo == SIGTERM ? "SIGTERM" : "SIGINT");
  });

  // Start-up runs on the Env (users, mailboxes, then the listeners); only then are we ready.
  env.tasks().spawn([](io::AsioEnv& e, const AppConfig& cfg, node::MailServer& s, bool& started_flag,
                       bool& stopping_flag, int& code, const decltype(say)& tell) -> rt::Task<void> {
    Status up = co_await s.start();
    if (stopping_flag) co_return;  // a signal arrived during start-up: the Env is stopping
    if (!up.ok()) {
      tell(rt::LogLevel::error, "cloudsdial: " + up.error().detail);
      code = 1;
      stopping_flag = true;
      e.stop();
      co_return;
    }
    started_flag = true;
    for (const auto& l : s.listeners()) {
      std::string line = "cloudsdial: listening on " + l.endpoint;
      if (l.label != "smtp") line += " (" + l.label + ")";
      tell(rt::LogLevel::info, line);
    }
    tell(rt::LogLevel::info, "cloudsdial: ready (pid " + std::to_string(::getpid()) + ", data dir " + cfg.data_dir + ")");
    notify_service_manager("READY=1\nMAINPID=" + std::to_string(::getpid()) + "\nSTATUS=" + service_status(s));
    // The status line systemctl shows, kept current (only under a service manager).
    if (std::getenv("NOTIFY_SOCKET") == nullptr) co_return;
    auto timer = e.clock().make_timer();
    while (!stopping_flag) {
      // A canceled timer (shutdown) ends the wait early; the loop condition decides.
      (void)co_await rt::sleep_until(*timer, e.clock().now() + Duration(30s));
      if (!stopping_flag) notify_service_manager("STATUS=" + service_status(s));
    }
  }(env, config, server, started, stopping, exit_code, say));

  env.run();
  return exit_code;
}

}  // namespace mail::app
