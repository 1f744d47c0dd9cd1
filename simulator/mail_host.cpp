// Mail server host wiring (see mail_host.h).
#include "mail_host.h"

#include "runtime/await.h"
#include "sim_env.h"

namespace mail::sim {

namespace {
node::SmtpServerConfig smtp_config(SimEnv& env, const MailServerConfig& config) {
  node::SmtpServerConfig c;
  c.listen.push_back(rt::Endpoint{"0.0.0.0", config.smtp_port});
  c.session.hostname = std::string(env.hostname());
  c.session.limits = config.limits;
  c.connections = config.connections;
  return c;
}

rt::Task<void> startup(SimEnv& env, std::shared_ptr<MailServerServices> s, std::vector<std::string> users) {
  for (const auto& user : users) {
    Status made = co_await s->maildirs.ensure_mailbox(user);
    if (!made.ok()) {
      // As `cloudsdial serve` does, a host that cannot create its mailboxes does not serve;
      // the scenario's liveness phase reboots it (with disk faults healed).
      env.log().write(rt::LogLevel::error, "sim: cannot create the mailbox of " + user + ": " + made.error().detail);
      co_return;
    }
  }
  if (auto listening = s->server.start(); !listening.ok()) {
    env.log().write(rt::LogLevel::error, "sim: " + listening.error().detail);
    co_return;
  }
  s->ready = true;
  env.log().write(rt::LogLevel::info, "sim: ready");
}
}  // namespace

MailServerServices::MailServerServices(SimEnv& env, const MailServerConfig& config)
    : directory(config.directory),
      maildirs(env, store::MaildirConfig{config.data_dir}),
      delivery(env, directory, maildirs, node::LocalDeliveryConfig{std::string(env.hostname())}),
      handler(delivery),
      server(env, smtp_config(env, config), handler) {
  server.set_tls(config.tls);
}

World::BootFn mail_server_boot(MailServerConfig config) {
  return [config = std::move(config)](SimEnv& env) -> std::shared_ptr<void> {
    auto services = std::make_shared<MailServerServices>(env, config);
    std::vector<std::string> users;
    for (const auto& u : config.directory.users) users.push_back(u.name);
    env.tasks().spawn(startup(env, services, std::move(users)));
    return services;
  };
}

std::string maildir_of(const MailServerConfig& config, std::string_view user) {
  return store::maildir_path(config.data_dir, user);
}

}  // namespace mail::sim
