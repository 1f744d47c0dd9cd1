// MailServer: the one server assembly (see header). Must not: touch Asio, read the OS clock,
// print (everything goes to env.log(); the callers print their own readiness), or start
// listening before every configured mailbox exists.
#include "node/mail_server.h"

#include <algorithm>

#include "core/assert.h"
#include "core/json.h"
#include "node/http/metrics.h"
#include "node/http/webmail_routes.h"
#include "proto/message/mime.h"
#include "proto/message/search_text.h"
#include "runtime/await.h"

namespace mail::node {
namespace {

MailServerConfig resolve(rt::Env& env, MailServerConfig config) {
  if (config.smtp.session.hostname.empty()) config.smtp.session.hostname = std::string(env.hostname());
  if (config.relay.hostname.empty()) config.relay.hostname = config.smtp.session.hostname;
  return config;
}

store::IndexedStoreConfig store_config(const MailServerConfig& c) {
  store::IndexedStoreConfig s;
  s.data_dir = c.data_dir;
  s.quota_bytes_max = c.quota_bytes;
  s.quota_messages_max = c.quota_messages;
  // Full-text search sees the decoded text (RFC 2047 headers, transfer encodings, charsets).
  s.text_extractor = [](std::string_view message) {
    auto tree = message::parse_mime(message);
    auto text = message::searchable_text(message, tree);
    return text.headers + "\n" + text.body;
  };
  return s;
}

}  // namespace

SmtpServerConfig MailServer::wire(const MailServerConfig& config, tls::OpenSslCrypto& crypto,
                                  store::LiveUserDb& users) {
  SmtpServerConfig smtp = config.smtp;
  MAIL_ASSERT(!smtp.session.hostname.empty());
  if (!config.users_path.empty()) {
    smtp.session.auth.crypto = &crypto;
    smtp.session.auth.credentials = &users;
  }
  return smtp;
}

MailServer::MailServer(rt::Env& env, MailServerConfig config, const HandlerWrapper& wrap)
    : env_(env),
      config_(resolve(env, std::move(config))),
      directory_(config_.directory),
      store_(env, store_config(config_)),
      delivery_(env, directory_, store_, LocalDeliveryConfig{config_.smtp.session.hostname}),
      queue_(make_queue()),
      relay_handler_(env, directory_, delivery_, queue_.get(), config_.relay),
      wrapped_handler_(wrap ? wrap(relay_handler_) : nullptr),
      smtp_(env, wire(config_, crypto_, users_),
            wrapped_handler_ ? static_cast<MailHandler&>(*wrapped_handler_) : relay_handler_),
      users_timer_(env.clock().make_timer()) {
  MAIL_ASSERT(!config_.data_dir.empty());
  MAIL_ASSERT(!wrap || wrapped_handler_ != nullptr);
  directory_.set_logins(&users_);
  if (config_.imap) {
    ImapServerConfig imap = *config_.imap;
    imap.commands.quota_bytes = config_.quota_bytes;
    imap.commands.quota_messages = config_.quota_messages;
    if (imap.session.greeting.empty()) imap.session.greeting = config_.smtp.session.hostname + " IMAP ready";
    imap_ = std::make_unique<ImapServer>(env_, std::move(imap), store_, &crypto_,
                                         config_.users_path.empty() ? nullptr : &users_, smtp_.auth_guard());
    imap_->set_mailbox_of_login([this](std::string_view login) { return directory_.mailbox_of_login(login); });
  }
  if (config_.pop3) {
    Pop3ServerConfig pop3 = *config_.pop3;
    if (pop3.session.greeting.empty()) pop3.session.greeting = config_.smtp.session.hostname + " POP3 ready";
    pop3_ = std::make_unique<Pop3Server>(env_, std::move(pop3), store_, &crypto_,
                                         config_.users_path.empty() ? nullptr : &users_, smtp_.auth_guard());
    pop3_->set_mailbox_of_login([this](std::string_view login) { return directory_.mailbox_of_login(login); });
  }
  if (config_.http) {
    http_ = std::make_unique<HttpServer>(env_, *config_.http);
    add_metrics_route(http_->router(), *this);
    add_webmail_routes(http_->router());
    JmapServiceConfig jmap;
    jmap.hostname = config_.smtp.session.hostname;
    jmap.plaintext_on_loopback = config_.http->auth_plaintext_on_loopback;
    jmap.address_of = [this](std::string_view user) { return address_of_user(user); };
    MailHandler& outbound = wrapped_handler_ ? static_cast<MailHandler&>(*wrapped_handler_) : relay_handler_;
    jmap_ = std::make_unique<JmapService>(env_, store_, outbound, crypto_, config_.users_path.empty() ? nullptr : &users_,
                                          smtp_.auth_guard(), std::move(jmap));
    jmap_->set_mailbox_of_login([this](std::string_view login) { return directory_.mailbox_of_login(login); });
    jmap_->add_routes(http_->router());
    if (config_.admin.enabled()) {
      admin_ = std::make_unique<AdminApi>(env_, *this, config_.admin);
      admin_->add_routes(http_->router());
    }
  }
  set_tls(config_.tls);
}

Status MailServer::bind() {
  if (Status bound = smtp_.bind(); !bound.ok()) return bound;
  if (imap_) {
    if (Status bound = imap_->bind(); !bound.ok()) return bound;
  }
  if (pop3_) {
    if (Status bound = pop3_->bind(); !bound.ok()) return bound;
  }
  if (http_) return http_->bind();
  return Status{};
}

void MailServer::set_tls(std::shared_ptr<tls::TlsContext> context) {
  if (imap_) imap_->set_tls(context);
  if (pop3_) pop3_->set_tls(context);
  if (http_) http_->set_tls(context);
  smtp_.set_tls(std::move(context));
}

std::string MailServer::address_of_user(std::string_view user) const {
  if (user.find('@') != std::string_view::npos) return std::string(user);
  const auto& domains = config_.directory.domains;
  return std::string(user) + "@" + (domains.empty() ? config_.smtp.session.hostname : domains.front());
}

std::unique_ptr<QueueManager> MailServer::make_queue() {
  if (!config_.outbound) return nullptr;
  QueueManagerConfig q = *config_.outbound;
  q.data_dir = config_.data_dir;
  if (q.hostname.empty()) q.hostname = config_.smtp.session.hostname;
  q.policy = relay_policy_for(directory_, config_.smtp.session.hostname, config_.relay.policy);
  if (q.crypto == nullptr) q.crypto = &crypto_;
  // Our own names: an MX pointing back at us is a loop (RFC 5321 §5.1).
  if (std::find(q.router.own_names.begin(), q.router.own_names.end(), q.hostname) == q.router.own_names.end()) {
    q.router.own_names.push_back(q.hostname);
  }
  if (!q.client_tls) {
    tls::TlsConfig client;
    client.verify_peer = false;  // opportunistic: any certificate beats cleartext (RFC 7435)
    auto made = tls::TlsContext::create(tls::Role::client, client);
    if (made.ok()) q.client_tls = std::shared_ptr<tls::TlsContext>(std::move(*made));
  }
  return std::make_unique<QueueManager>(env_, std::move(q), delivery_);
}

rt::Task<Status> MailServer::start() {
  MAIL_ASSERT(!ready_);
  MAIL_ASSERT(!stopping_);
  if (!config_.users_path.empty()) {
    co_await reload_users(true);
    if (config_.users_poll_interval > Duration::zero()) {
      polling_ = true;
      env_.tasks().spawn(poll_users());
    }
  }
  if (Status made = co_await ensure_mailboxes(); !made.ok()) co_return made;
  if (queue_) {
    if (Status resumed = co_await queue_->start(); !resumed.ok()) co_return resumed;
  }
  if (config_.control_socket) {
    control_ = std::make_unique<ControlServer>(env_, config_.data_dir, queue_.get());
    control_->set_status_source([this] { return status_json(); });
    if (Status listening = control_->start(); !listening.ok()) {
      co_return fail(listening.code(), "cannot open the control socket: " + listening.error().detail);
    }
  }
  if (Status listening = smtp_.start(); !listening.ok()) co_return listening;
  if (imap_) {
    if (Status listening = imap_->start(); !listening.ok()) co_return listening;
  }
  if (pop3_) {
    if (Status listening = pop3_->start(); !listening.ok()) co_return listening;
  }
  if (http_) {
    if (Status listening = http_->start(); !listening.ok()) co_return listening;
  }
  ready_ = true;
  started_at_ = env_.clock().now();
  co_return Status{};
}

std::vector<MailServer::BoundListener> MailServer::listeners() const {
  std::vector<BoundListener> out;
  for (std::size_t i = 0; i < smtp_.bound_endpoints().size(); ++i) {
    out.push_back({smtp_.bound_endpoints()[i].to_string(), std::string(to_string(smtp_.bound_kind(i)))});
  }
  auto add = [&out](const auto* service) {
    if (service == nullptr) return;
    for (std::size_t i = 0; i < service->bound_endpoints().size(); ++i) {
      out.push_back({service->bound_endpoints()[i].to_string(), service->bound_label(i)});
    }
  };
  add(imap_.get());
  add(pop3_.get());
  add(http_.get());
  return out;
}

MailServer::SessionCounts MailServer::session_counts() const {
  SessionCounts n;
  n.smtp = smtp_.connection_count();
  n.imap = imap_ ? imap_->connection_count() : 0;
  n.pop3 = pop3_ ? pop3_->connection_count() : 0;
  n.http = http_ ? http_->connection_count() : 0;
  return n;
}

std::string MailServer::status_json() const {
  const auto uptime = ready_ ? std::chrono::duration_cast<std::chrono::seconds>(env_.clock().now() - started_at_).count() : 0;
  std::string out = "{\"ok\":true,\"uptime_seconds\":" + std::to_string(uptime) + ",\"listeners\":[";
  const auto bound = listeners();
  for (std::size_t i = 0; i < bound.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"endpoint\":" + json_string(bound[i].endpoint) + ",\"serves\":" + json_string(bound[i].label) + "}";
  }
  const SessionCounts n = session_counts();
  out += "],\"sessions\":{\"smtp\":" + std::to_string(n.smtp) + ",\"imap\":" + std::to_string(n.imap) +
         ",\"pop3\":" + std::to_string(n.pop3) + ",\"http\":" + std::to_string(n.http) +
         ",\"total\":" + std::to_string(n.total()) + "},\"logins\":" + std::to_string(users_.size()) +
         ",\"queue\":";
  if (queue_) {
    const QueueCounters q = queue_->counters();
    out += "{\"messages\":" + std::to_string(q.messages) + ",\"active_connections\":" + std::to_string(q.active_connections) + "}";
  } else {
    out += "null";
  }
  out += "}";
  return out;
}

rt::Task<void> MailServer::stop(Instant deadline) {
  MAIL_ASSERT(!stopping_);
  stopping_ = true;
  if (polling_) users_timer_->cancel();
  if (ready_) co_await smtp_.stop(deadline);
  if (ready_ && imap_) co_await imap_->stop(deadline);
  if (ready_ && pop3_) co_await pop3_->stop(deadline);
  if (ready_ && http_) co_await http_->stop(deadline);
  if (control_) co_await control_->stop(deadline);
  if (queue_ && queue_->started()) co_await queue_->stop(deadline);
}

// Swaps in the users file when its text changed; keeps the old copy on errors (a
// half-edited file never locks everybody out).
rt::Task<void> MailServer::reload_users(bool announce) {
  MAIL_ASSERT(!config_.users_path.empty());
  const std::string& path = config_.users_path;
  auto text = co_await rt::read_file(env_.disk(), path);
  std::string current = text.ok() ? std::move(*text) : std::string();
  if (!text.ok() && text.code() != Errc::not_found) {
    env_.log().write(rt::LogLevel::error, "cloudsdial: cannot read " + path + ": " + text.error().detail);
    co_return;
  }
  if (current == users_text_ && !announce) co_return;
  auto db = store::UserDb::parse(current);
  if (!db.ok()) {
    env_.log().write(rt::LogLevel::error, "cloudsdial: " + path + ": " + db.error().detail + " (keeping the previous users)");
    co_return;
  }
  users_text_ = std::move(current);
  const std::size_t n = db->size();
  users_.replace(std::move(db.value()));
  env_.log().write(rt::LogLevel::info, "cloudsdial: " + std::to_string(n) + " user(s) from " + path);
  // A new login gets its mailbox now, so mail to it is accepted at once (one user model).
  if (ready_) {
    if (Status made = co_await ensure_mailboxes(); !made.ok()) {
      env_.log().write(rt::LogLevel::error, "cloudsdial: " + made.error().detail);
    }
  }
}

rt::Task<Status> MailServer::ensure_mailboxes() {
  std::vector<std::string> names;
  for (const auto& user : config_.directory.users) names.push_back(user.name);
  for (const auto& login : users_.names()) names.push_back(directory_.mailbox_of_login(login));
  for (const auto& name : names) {
    if (!store::is_valid_mailbox_user(name)) continue;
    Status made = co_await store_.ensure_mailbox(name);
    if (!made.ok()) co_return fail(made.error().code, "cannot create the mailbox of " + name + ": " + made.error().detail);
  }
  co_return Status{};
}

// Re-reads the users file every users_poll_interval, so `cloudsdial user add` takes effect
// without a signal.
rt::Task<void> MailServer::poll_users() {
  while (!stopping_) {
    (void)co_await rt::sleep_until(*users_timer_, env_.clock().now() + config_.users_poll_interval);
    if (stopping_) break;
    co_await reload_users(false);
  }
}

}  // namespace mail::node
