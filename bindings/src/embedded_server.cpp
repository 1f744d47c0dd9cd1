// EmbeddedServer (see embedded_server.h). The thread body runs node::MailServer — the
// assembly app/serve.cpp runs, TLS and AUTH included — minus the pid file and signals; the
// shutdown and the store inspections are posted onto the Env thread (executor().post is the
// one thread-safe entry into an AsioEnv).
#include "embedded_server.h"

#include <filesystem>

#include "errors.h"
#include "app/tls_setup.h"
#include "io/asio_env.h"
#include "node/mail_server.h"
#include "runtime/await.h"

namespace mail::py {

struct EmbeddedServer::Shared {
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  bool ready = false;
  bool finished = false;  // the thread's run() returned
  std::string error;      // startup failure
  std::vector<rt::Endpoint> endpoints;
  std::vector<ImapEndpoint> imap_endpoints;
  std::vector<ImapEndpoint> pop3_endpoints;
  std::vector<ImapEndpoint> http_endpoints;
  std::vector<ReceivedMessage> received;
  // Set while the Env runs; used (under mu) to post the shutdown.
  io::AsioEnv* env = nullptr;
  node::MailServer* server = nullptr;
  bool stop_posted = false;
};

namespace {

std::string mailbox_text(const smtp::Path& p) { return p.mailbox ? p.mailbox->to_string() : std::string(); }

// Decorates the production handler: records what it accepted.
class RecordingHandler final : public node::MailHandler {
 public:
  RecordingHandler(node::MailHandler& inner, EmbeddedServer::Shared& shared) : inner_(inner), shared_(shared) {}
  smtp::Reply check_mail_from(const smtp::Path& from, const smtp::MailParams& params,
                              const node::SessionFacts& facts) override {
    return inner_.check_mail_from(from, params, facts);
  }
  smtp::Reply check_recipient(const smtp::Path& to, const node::SessionFacts& facts) override {
    return inner_.check_recipient(to, facts);
  }
  rt::Task<node::DeliveryResult> deliver(const smtp::Envelope& envelope, std::string content) override {
    std::string copy = content;
    node::DeliveryResult result = co_await inner_.deliver(envelope, std::move(content));
    if (result.reply.positive()) {
      ReceivedMessage m;
      m.queue_id = result.queue_id;
      m.mail_from = mailbox_text(envelope.mail_from);
      for (const auto& r : envelope.recipients) m.recipients.push_back(mailbox_text(r.path));
      m.content = std::move(copy);
      m.reply = std::to_string(result.reply.code) + (result.reply.lines.empty() ? "" : " " + result.reply.lines.front());
      std::lock_guard<std::mutex> lock(shared_.mu);
      shared_.received.push_back(std::move(m));
      shared_.cv.notify_all();
    }
    co_return result;
  }

 private:
  node::MailHandler& inner_;
  EmbeddedServer::Shared& shared_;
};

rt::Task<void> startup(io::AsioEnv& env, node::MailServer& server, EmbeddedServer::Shared& shared) {
  Status started = co_await server.start();
  std::lock_guard<std::mutex> lock(shared.mu);
  if (started.ok()) {
    shared.ready = true;
    shared.endpoints = server.smtp().bound_endpoints();
    if (node::ImapServer* imap = server.imap(); imap != nullptr) {
      const auto& bound = imap->bound_endpoints();
      for (std::size_t i = 0; i < bound.size(); ++i) shared.imap_endpoints.push_back(ImapEndpoint{imap->bound_label(i), bound[i]});
    }
    if (node::Pop3Server* pop3 = server.pop3(); pop3 != nullptr) {
      const auto& bound = pop3->bound_endpoints();
      for (std::size_t i = 0; i < bound.size(); ++i) shared.pop3_endpoints.push_back(ImapEndpoint{pop3->bound_label(i), bound[i]});
    }
    if (node::HttpServer* http = server.http(); http != nullptr) {
      const auto& bound = http->bound_endpoints();
      for (std::size_t i = 0; i < bound.size(); ++i) shared.http_endpoints.push_back(ImapEndpoint{http->bound_label(i), bound[i]});
    }
  } else {
    shared.error = started.error().detail;
    env.stop();
  }
  shared.cv.notify_all();
}

// One store inspection: its result, set on the server thread under Shared::mu.
struct StoreCall {
  std::optional<Result<std::vector<StoreFolderView>>> result;
};

rt::Task<void> store_task(store::MailStore& store, std::string user, std::optional<std::string> folder, bool bodies,
                          std::shared_ptr<StoreCall> call, std::shared_ptr<EmbeddedServer::Shared> shared) {
  auto read = co_await read_store(store, std::move(user), std::move(folder), bodies);
  std::lock_guard<std::mutex> lock(shared->mu);
  call->result.emplace(std::move(read));
  shared->cv.notify_all();
}

rt::Task<void> shutdown_task(io::AsioEnv& env, node::MailServer& server, Duration grace, bool started) {
  if (started) co_await server.stop(env.clock().now() + grace);
  env.stop();
}

}  // namespace

EmbeddedServer::EmbeddedServer(app::AppConfig config)
    : config_(std::move(config)), shared_(std::make_shared<Shared>()) {}

EmbeddedServer::~EmbeddedServer() { stop(2s); }

void EmbeddedServer::start(std::chrono::milliseconds timeout) {
  if (thread_.joinable()) raise_error(ErrorKind::state, "the server was already started");
  if (Status made = app::make_private_dirs(config_.data_dir); !made.ok()) {
    raise_error(ErrorKind::storage, "data dir: " + made.error().detail);
  }
  thread_ = std::thread([this] { thread_main(); });
  std::unique_lock<std::mutex> lock(shared_->mu);
  const bool settled = shared_->cv.wait_for(lock, timeout, [&] { return shared_->ready || shared_->finished; });
  std::string error = shared_->error;
  lock.unlock();
  if (!settled) {
    stop(0s);
    raise_error(ErrorKind::timeout, "the embedded server did not start in time");
  }
  if (!shared_->ready) {
    stop(0s);
    raise_error(ErrorKind::network, "the embedded server did not start: " + error);
  }
}

void EmbeddedServer::thread_main() {
  {
    io::AsioEnvOptions options;
    options.hostname = config_.hostname;
    options.log_level_min = app::parse_log_level(config_.log_level);
    options.disk_threads = 2;
    options.dns_threads = 1;
    options.dns.servers = config_.dns.servers;  // [dns], as serve does
    options.dns.timeout = config_.dns.timeout;
    options.dns.attempts = config_.dns.attempts;
    io::AsioEnv env(options);
    const auto record = [this](node::MailHandler& local) -> std::unique_ptr<node::MailHandler> {
      return std::make_unique<RecordingHandler>(local, *shared_);
    };
    node::MailServer server(env, config_.server_config(), record);
    std::string error;
    if (config_.tls.enabled) {
      auto tls = app::load_server_tls(config_, server.config().smtp.session.hostname);
      if (tls.ok()) {
        server.set_tls(tls->context);
      } else {
        error = "TLS: " + tls.error().detail;
      }
    }
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      shared_->env = &env;
      shared_->server = &server;
      if (!error.empty()) shared_->error = error;
    }
    if (error.empty()) {
      env.tasks().spawn(startup(env, server, *shared_));
      env.run();
    }
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->env = nullptr;
    shared_->server = nullptr;
  }
  std::lock_guard<std::mutex> lock(shared_->mu);
  shared_->finished = true;
  shared_->cv.notify_all();
}

void EmbeddedServer::stop(Duration grace) {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    if (shared_->env != nullptr && !shared_->stop_posted) {
      shared_->stop_posted = true;
      io::AsioEnv* env = shared_->env;
      node::MailServer* server = shared_->server;
      const bool started = shared_->ready;
      env->executor().post([env, server, grace, started] { env->tasks().spawn(shutdown_task(*env, *server, grace, started)); });
    }
  }
  thread_.join();
}

bool EmbeddedServer::running() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->ready && !shared_->finished;
}

std::vector<rt::Endpoint> EmbeddedServer::endpoints() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->endpoints;
}

std::vector<ImapEndpoint> EmbeddedServer::imap_endpoints() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->imap_endpoints;
}

std::vector<ImapEndpoint> EmbeddedServer::pop3_endpoints() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->pop3_endpoints;
}

std::vector<ImapEndpoint> EmbeddedServer::http_endpoints() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->http_endpoints;
}

std::vector<StoreFolderView> EmbeddedServer::store_folders(const std::string& user, std::optional<std::string> folder,
                                                           bool bodies, std::chrono::milliseconds timeout) const {
  auto call = std::make_shared<StoreCall>();
  std::unique_lock<std::mutex> lock(shared_->mu);
  if (!shared_->ready || shared_->finished || shared_->stop_posted || shared_->env == nullptr) {
    raise_error(ErrorKind::state, "the embedded server is not running");
  }
  io::AsioEnv* env = shared_->env;
  node::MailServer* server = shared_->server;
  std::shared_ptr<Shared> shared = shared_;
  env->executor().post([env, server, user, folder = std::move(folder), bodies, call, shared]() mutable {
    env->tasks().spawn(store_task(server->mailboxes(), user, std::move(folder), bodies, call, shared));
  });
  const bool settled = shared_->cv.wait_for(lock, timeout, [&] { return call->result.has_value() || shared_->finished; });
  if (!call->result) {
    raise_error(settled ? ErrorKind::state : ErrorKind::timeout,
                settled ? "the embedded server stopped during the inspection" : "the store inspection timed out");
  }
  if (!call->result->ok()) raise_error(call->result->error(), "folders of '" + user + "'");
  return std::move(*call->result).value();
}

std::vector<ReceivedMessage> EmbeddedServer::received() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->received;
}

bool EmbeddedServer::wait_received(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(shared_->mu);
  return shared_->cv.wait_for(lock, timeout, [&] { return shared_->received.size() >= count; });
}

}  // namespace mail::py
