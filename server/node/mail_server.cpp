// MailServer: the one server assembly (see header). Must not: touch Asio, read the OS clock,
// print (everything goes to env.log(); the callers print their own readiness), or start
// listening before every configured mailbox exists.
#include "node/mail_server.h"

#include "core/assert.h"
#include "runtime/await.h"

namespace mail::node {
namespace {

MailServerConfig resolve(rt::Env& env, MailServerConfig config) {
  if (config.smtp.session.hostname.empty()) config.smtp.session.hostname = std::string(env.hostname());
  return config;
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
      maildirs_(env, store::MaildirConfig{config_.data_dir}),
      delivery_(env, directory_, maildirs_, LocalDeliveryConfig{config_.smtp.session.hostname}),
      local_handler_(delivery_),
      wrapped_handler_(wrap ? wrap(local_handler_) : nullptr),
      smtp_(env, wire(config_, crypto_, users_),
            wrapped_handler_ ? static_cast<MailHandler&>(*wrapped_handler_) : local_handler_),
      users_timer_(env.clock().make_timer()) {
  MAIL_ASSERT(!config_.data_dir.empty());
  MAIL_ASSERT(!wrap || wrapped_handler_ != nullptr);
  smtp_.set_tls(config_.tls);
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
  for (const auto& user : config_.directory.users) {
    Status made = co_await maildirs_.ensure_mailbox(user.name);
    if (!made.ok()) co_return fail(made.error().code, "cannot create the mailbox of " + user.name + ": " + made.error().detail);
  }
  if (Status listening = smtp_.start(); !listening.ok()) co_return listening;
  ready_ = true;
  co_return Status{};
}

rt::Task<void> MailServer::stop(Instant deadline) {
  MAIL_ASSERT(!stopping_);
  stopping_ = true;
  if (polling_) users_timer_->cancel();
  if (ready_) co_await smtp_.stop(deadline);
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
