// The clients under test (client_under_test.h). Ours runs on an AsioEnv driven by a thread
// of its own, so the runner's thread can play the server with blocking sockets; the only
// things crossing threads are start (before run()), the outcome (under a mutex) and
// AsioEnv::stop(), which is thread-safe. A command runs in its own process group.
#include "client_under_test.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/assert.h"
#include "io/asio_env.h"
#include "node/smtp_client_connection.h"
#include "proto/smtp/address.h"
#include "proto/smtp/params.h"
#include "runtime/await.h"
#include "tls_connection.h"

namespace mail::conformance {
namespace {

using namespace std::chrono_literals;

// The message of a case as a MailTransaction; false with `error` when the case's addresses
// or parameters do not parse (a broken case file: ERROR, not FAIL).
bool build_transaction(const ClientMessage& m, smtp::MailTransaction& tx, std::string& error) {
  const smtp::SmtpLimits limits;
  const auto from = smtp::parse_path("<" + m.from + ">", limits, true, true);
  if (!from.path) {
    error = "from: " + m.from + " is not a path (" + std::string(smtp::to_string(from.error)) + ")";
    return false;
  }
  tx.mail_from = *from.path;
  smtp::Extensions all;
  std::string mail_params;
  for (const auto& p : m.mail_params) mail_params += " " + p;
  auto mp = smtp::parse_mail_params(mail_params, all);
  if (!mp.params) {
    error = "mail-param: " + mp.error.text;
    return false;
  }
  tx.mail_params = *mp.params;
  std::string rcpt_params;
  for (const auto& p : m.rcpt_params) rcpt_params += " " + p;
  auto rp = smtp::parse_rcpt_params(rcpt_params, all);
  if (!rp.params) {
    error = "rcpt-param: " + rp.error.text;
    return false;
  }
  for (const auto& to : m.to) {
    const auto path = smtp::parse_path("<" + to + ">", limits, true, false);
    if (!path.path) {
      error = "to: " + to + " is not a path (" + std::string(smtp::to_string(path.error)) + ")";
      return false;
    }
    smtp::Recipient r;
    r.path = *path.path;
    r.params = *rp.params;
    tx.recipients.push_back(std::move(r));
  }
  tx.content = m.content;
  return true;
}

std::string describe_reply(const smtp::Reply& r, bool local) {
  std::string s = std::to_string(r.code);
  if (!r.lines.empty()) s += " " + r.lines.front();
  if (local) s += " (local)";
  return s;
}

class OurClient final : public ClientUnderTest {
 public:
  ~OurClient() override {
    if (thread_.joinable()) (void)finish(0ms);
  }
  std::string describe() const override {
    return "our client (node::SmtpClientConnection + smtp::ClientSession over io::AsioEnv)";
  }
  bool reports_outcome() const override { return true; }

  bool start(std::uint16_t port, const ClientCase& c, std::string& error) override {
    MAIL_ASSERT(!thread_.joinable());
    smtp::MailTransaction tx;
    if (!build_transaction(c.message, tx, error)) return false;
    if (!tls_) {
      tls_ = make_client_tls_context("", error);
      if (!tls_) return false;
    }
    node::SmtpClientOptions options;
    smtp::ClientConfig& s = options.session;
    s.helo_name = "client.example.org";
    s.use_pipelining = true;
    s.use_chunking = true;
    s.chunk_bytes = 4096;
    s.use_starttls = true;
    const Duration t = std::chrono::milliseconds(1500);
    s.timeouts = smtp::ClientTimeouts{t, t, t, t, t, t, t, t};
    if (c.auth) {
      smtp::ClientAuth auth;
      auth.user = kClientUser;
      auth.password = kClientPassword;
      auth.mechanisms = {sasl::Mechanism::plain, sasl::Mechanism::login};
      auth.plaintext_without_tls = true;
      s.auth = std::move(auth);
    }
    options.tls_context = tls_;
    options.tls_server_name = "mx.example.test";
    options.write_timeout = t;
    options.tls_handshake_timeout = t;

    {
      std::lock_guard lock(mutex_);
      outcome_ = ClientOutcome{};
      outcome_.known = true;
      ended_ = false;
    }
    io::AsioEnvOptions env_options;
    env_options.disk_threads = 1;
    env_options.dns_threads = 1;
    env_options.log_level_min = rt::LogLevel::error;
    env_ = std::make_unique<io::AsioEnv>(env_options);
    env_->tasks().spawn(drive(*env_, port, std::move(options), std::move(tx), c.message.to.size()));
    thread_ = std::thread([env = env_.get()] { env->run(); });
    return true;
  }

  ClientOutcome finish(std::chrono::milliseconds grace) override {
    MAIL_ASSERT(thread_.joinable());
    {
      std::unique_lock lock(mutex_);
      ended_cv_.wait_for(lock, grace, [this] { return ended_; });
      if (!ended_) outcome_.detail = "still running after the case: stopped";
    }
    env_->stop();
    thread_.join();
    env_.reset();  // tears down whatever is left (a stopped run's frames) on this thread
    std::lock_guard lock(mutex_);
    return outcome_;
  }

 private:
  class Hooks final : public node::SmtpClientHooks {
   public:
    explicit Hooks(OurClient& self) : self_(self) {}
    void on_event(node::SmtpClientConnection&, smtp::ClientEvent event) override {
      const auto* r = std::get_if<smtp::ev::TransactionResult>(&event);
      if (!r) return;
      std::lock_guard lock(self_.mutex_);
      auto& o = self_.outcome_;
      o.recipients.clear();
      for (std::size_t i = 0; i < r->recipients.size(); ++i) {
        if (r->delivered(i)) o.recipients.push_back("delivered");
        else o.recipients.push_back(r->outcome(i).code >= 500 ? "permanent" : "transient");
      }
      o.detail = describe_reply(r->reply, r->local);
    }

   private:
    OurClient& self_;
  };

  rt::Task<void> drive(rt::Env& env, std::uint16_t port, node::SmtpClientOptions options, smtp::MailTransaction tx,
                       std::size_t recipients) {
    const rt::Endpoint at{"127.0.0.1", port};
    auto stream = co_await rt::connect(env.net(), at, env.clock().now() + std::chrono::seconds(5));
    if (!stream.ok()) {
      std::lock_guard lock(mutex_);
      outcome_.error = "our client could not connect to 127.0.0.1:" + std::to_string(port);
    } else {
      Hooks hooks(*this);
      node::SmtpClientConnection client(env, std::move(*stream), std::move(options), hooks);
      client.submit(std::move(tx));
      client.quit();
      co_await client.run();
      std::lock_guard lock(mutex_);
      if (outcome_.recipients.size() != recipients && outcome_.error.empty())
        outcome_.error = "our client reported no result for the transaction";
    }
    {
      std::lock_guard lock(mutex_);
      ended_ = true;
    }
    ended_cv_.notify_all();
  }

  std::shared_ptr<tls::TlsContext> tls_;
  std::unique_ptr<io::AsioEnv> env_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable ended_cv_;
  bool ended_ = false;
  ClientOutcome outcome_;
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) s.replace(at, from.size(), to);
  return s;
}

class CommandClient final : public ClientUnderTest {
 public:
  explicit CommandClient(std::string command) : command_(std::move(command)) {}
  ~CommandClient() override {
    if (pid_ > 0) (void)finish(0ms);
  }
  std::string describe() const override { return "command: " + command_; }
  bool reports_outcome() const override { return false; }

  bool start(std::uint16_t port, const ClientCase& c, std::string& error) override {
    MAIL_ASSERT(pid_ <= 0);
    const auto dir = std::filesystem::temp_directory_path();
    const std::string stem = "cloudsdial-smtp-client-" + std::to_string(::getpid());
    message_file_ = (dir / (stem + ".eml")).string();
    output_file_ = (dir / (stem + ".out")).string();
    {
      std::ofstream f(message_file_, std::ios::binary | std::ios::trunc);
      f << c.message.content;
      if (!f) {
        error = "cannot write " + message_file_;
        return false;
      }
    }
    std::string to;
    for (const auto& r : c.message.to) to += (to.empty() ? "" : ",") + r;
    std::string cmd = command_;
    cmd = replace_all(cmd, "{host}", "127.0.0.1");
    cmd = replace_all(cmd, "{port}", std::to_string(port));
    cmd = replace_all(cmd, "{from}", c.message.from);
    cmd = replace_all(cmd, "{to}", to);
    cmd = replace_all(cmd, "{message_file}", message_file_);
    const pid_t pid = ::fork();
    if (pid < 0) {
      error = "fork failed";
      return false;
    }
    if (pid == 0) {
      ::setpgid(0, 0);
      const int in = ::open("/dev/null", O_RDONLY);
      const int out = ::open(output_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (in >= 0) ::dup2(in, 0);
      if (out >= 0) {
        ::dup2(out, 1);
        ::dup2(out, 2);
      }
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::setpgid(pid, pid);
    pid_ = pid;
    return true;
  }

  ClientOutcome finish(std::chrono::milliseconds grace) override {
    MAIL_ASSERT(pid_ > 0);
    ClientOutcome o;
    const auto until = std::chrono::steady_clock::now() + grace;
    int status = 0;
    pid_t done = 0;
    while ((done = ::waitpid(pid_, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(20ms);
    if (done == 0) {
      ::kill(-pid_, SIGKILL);  // its own process group: the shell and what it started
      (void)::waitpid(pid_, &status, 0);
      o.detail = "still running after the case: killed";
    } else if (WIFEXITED(status)) {
      o.detail = "exit status " + std::to_string(WEXITSTATUS(status));
      if (WEXITSTATUS(status) == 127) o.error = "the client command could not be run (exit status 127)";
    }
    pid_ = -1;
    std::ifstream f(output_file_);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string out = ss.str();
    if (!out.empty()) {
      if (out.size() > 200) out = out.substr(0, 200) + "...";
      for (char& ch : out)
        if (ch == '\n' || ch == '\r') ch = ' ';
      o.detail += "; output: " + out;
    }
    std::error_code ec;
    std::filesystem::remove(message_file_, ec);
    std::filesystem::remove(output_file_, ec);
    return o;
  }

 private:
  std::string command_;
  std::string message_file_, output_file_;
  pid_t pid_ = -1;
};

}  // namespace

std::unique_ptr<ClientUnderTest> make_our_client() { return std::make_unique<OurClient>(); }
std::unique_ptr<ClientUnderTest> make_command_client(std::string command) {
  return std::make_unique<CommandClient>(std::move(command));
}

}  // namespace mail::conformance
