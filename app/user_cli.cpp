// user_main (see header): option parsing, the password prompt, and one locked
// load-modify-save of the users file through the production Env (durable replace).
#include "app/user_cli.h"

#include <fcntl.h>
#include <sys/file.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "app/config.h"
#include "app/control_client.h"
#include "app/privileges.h"
#include "app/tls_setup.h"
#include "io/asio_env.h"
#include "store/user_db.h"
#include "tls/sasl_crypto.h"

namespace mail::app {
namespace {

constexpr std::string_view kUserHelp = R"(usage: cloudsdial user <add|passwd|del|list> [NAME] [--config FILE]
                       [--iterations N]

Manages the users: each is a login (SMTP AUTH, IMAP) and a mailbox of the same name. The users
file is <data_dir>/users (or [auth] users_file), mode 0600. A server running on the same
data dir is told at once (SIGHUP through its pid file); it also re-reads the file every
5 seconds.

  add NAME      create NAME; the password is asked twice (or read from stdin's first line)
  passwd NAME   set a new password for NAME
  del NAME      remove NAME
  list          print the user names

Only SCRAM-SHA-256 credentials are stored (RFC 5802, RFC 7677): a salt, an iteration
count (default 4096, --iterations), StoredKey and ServerKey — never the password.
)";

std::optional<std::string> read_password() {
  if (::isatty(STDIN_FILENO) != 0) {
    termios old{};
    if (::tcgetattr(STDIN_FILENO, &old) != 0) return std::nullopt;
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    std::string first, second;
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    std::cerr << "Password: " << std::flush;
    std::getline(std::cin, first);
    std::cerr << "\nRepeat password: " << std::flush;
    std::getline(std::cin, second);
    std::cerr << "\n";
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    if (first != second) {
      std::cerr << "cloudsdial user: the passwords differ\n";
      return std::nullopt;
    }
    return first;
  }
  std::string line;
  if (!std::getline(std::cin, line)) line.clear();
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// Holds an exclusive lock on <users>.lock for one edit (two admins, one file).
class EditLock {
 public:
  explicit EditLock(const std::string& users_path) {
    const std::string path = users_path + ".lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~EditLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

struct Edit {
  std::string verb;
  std::string name;
  std::optional<std::string> password;
  std::uint32_t iterations = 4096;
};

rt::Task<void> run_edit(io::AsioEnv& env, std::string path, Edit edit, int& code) {
  if (edit.verb == "list") {
    auto loaded = co_await store::load_user_db(env.disk(), path);
    if (!loaded.ok()) {
      std::cerr << "cloudsdial user: " << loaded.error().detail << "\n";
      code = 1;
      co_return;
    }
    for (const auto& n : loaded->names()) std::cout << n << "\n";
    co_return;
  }
  // The one edit path, shared with the admin API (store::apply_user_edit).
  store::UserEdit change;
  change.verb = edit.verb == "add"      ? store::UserEdit::Verb::add
                : edit.verb == "passwd" ? store::UserEdit::Verb::passwd
                                        : store::UserEdit::Verb::del;
  change.name = edit.name;
  change.password = edit.password.value_or(std::string());
  change.iterations = edit.iterations;
  tls::OpenSslCrypto crypto;
  Status changed = co_await store::apply_user_edit(env.disk(), crypto, path, std::move(change));
  if (!changed.ok()) {
    std::cerr << "cloudsdial user: " << changed.error().detail << "\n";
    code = 1;
    co_return;
  }
  std::cerr << "cloudsdial user: " << edit.verb << " " << store::canonical_user_name(edit.name) << ": done (" << path
            << ")\n";
}

}  // namespace

namespace {
// Run as root for a server that drops to [server] user: the users file (replaced by this
// edit, so now root's) must stay readable by the account the server runs as.
Status give_users_file(const AppConfig& config, const std::string& path) {
  if (::geteuid() != 0) return {};
  auto account = resolve_service_account(config);
  if (!account.ok()) return fail(account.error());
  if (!account->has_value() || (*account)->uid == 0) return {};
  for (const std::string& p : {path, path + ".lock"}) {
    if (::lchown(p.c_str(), (*account)->uid, (*account)->gid) != 0 && errno != ENOENT) {
      return fail(error_from_errno(errno, "chown " + p));
    }
  }
  return {};
}

// A server serving this data dir holds an exclusive flock on its pid file (app/serve.cpp).
// Tell it to re-read the users now (SIGHUP), so a new login works at once instead of after
// the next 5 s poll. Quiet when no server runs.
void notify_running_server(const std::string& pid_path) {
  if (!server_holds_lock(pid_path)) return;
  const long pid = read_pid_file(pid_path);
  if (pid <= 1) return;
  if (::kill(static_cast<pid_t>(pid), SIGHUP) == 0) {
    std::cerr << "cloudsdial user: told the running server (pid " << pid << ") to reload the users\n";
  }
}
}  // namespace

int user_main(const std::vector<std::string_view>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUserHelp;
    return args.empty() ? 2 : 0;
  }
  Edit edit;
  edit.verb = std::string(args[0]);
  if (edit.verb != "add" && edit.verb != "passwd" && edit.verb != "del" && edit.verb != "list") {
    std::cerr << "cloudsdial user: unknown action '" << edit.verb << "' (add, passwd, del, list)\n";
    return 2;
  }
  std::optional<std::string> config_path;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if ((a == "--config" || a == "-c") && i + 1 < args.size()) {
      config_path = std::string(args[++i]);
    } else if (a == "--iterations" && i + 1 < args.size()) {
      const std::string n(args[++i]);
      edit.iterations = static_cast<std::uint32_t>(std::strtoul(n.c_str(), nullptr, 10));
      if (edit.iterations < 4096 || edit.iterations > 10'000'000) {
        std::cerr << "cloudsdial user: --iterations must be 4096..10000000 (RFC 7677 section 4)\n";
        return 2;
      }
    } else if (a.starts_with("-")) {
      std::cerr << "cloudsdial user: unknown option '" << a << "'\n";
      return 2;
    } else if (edit.name.empty() && edit.verb != "list") {
      edit.name = std::string(a);
    } else {
      std::cerr << "cloudsdial user: unexpected argument '" << a << "'\n";
      return 2;
    }
  }
  if (edit.verb != "list" && edit.name.empty()) {
    std::cerr << "cloudsdial user " << edit.verb << ": needs a NAME\n";
    return 2;
  }
  if (edit.verb != "list" && !store::storable_user_name(edit.name)) {
    std::cerr << "cloudsdial user: '" << edit.name
              << "' is not a usable name (1-255 octets, no / \\ % space tab CR LF NUL, no leading #)\n";
    return 2;
  }
  auto config = config_path ? load_config_file(*config_path) : parse_config(default_config_text(), "embedded default");
  if (!config.ok()) {
    std::cerr << "cloudsdial: configuration error: " << config.error().detail << "\n";
    return 2;
  }
  if (edit.verb == "add" || edit.verb == "passwd") {
    edit.password = read_password();
    if (!edit.password || edit.password->empty()) {
      std::cerr << "cloudsdial user: no password given\n";
      return 1;
    }
  }
  const std::string path = config->users_path();
  if (const std::string dir = std::filesystem::path(path).parent_path().string(); !dir.empty()) {
    if (auto made = make_private_dirs(dir); !made.ok()) {
      std::cerr << "cloudsdial user: " << made.error().detail << "\n";
      return 1;
    }
  }
  EditLock lock(path);
  if (!lock.ok()) {
    std::cerr << "cloudsdial user: cannot lock " << path << ".lock: " << std::strerror(errno) << "\n";
    return 1;
  }
  io::AsioEnvOptions options;
  options.log_level_min = rt::LogLevel::error;
  io::AsioEnv env(options);
  int code = 0;
  const bool edit_changes_users = edit.verb != "list";
  env.tasks().spawn([](io::AsioEnv& e, std::string p, Edit ed, int& c) -> rt::Task<void> {
    co_await run_edit(e, std::move(p), std::move(ed), c);
    e.stop();
  }(env, path, std::move(edit), code));
  env.run();
  if (code == 0 && edit_changes_users) {
    if (Status given = give_users_file(*config, path); !given.ok()) {
      std::cerr << "cloudsdial user: " << given.error().detail << "\n";
      code = 1;
    }
    notify_running_server(config->pid_path());
  }
  return code;
}

}  // namespace mail::app
