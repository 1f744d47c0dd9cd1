// Mail server host wiring (see mail_host.h).
#include "mail_host.h"

#include "personality_handler.h"
#include "personality_net.h"
#include "runtime/await.h"
#include "sim_env.h"

namespace mail::sim {

node::MailServerConfig server_config(SimEnv& env, const MailServerConfig& config) {
  node::MailServerConfig c;
  c.data_dir = config.data_dir;
  c.directory = config.directory;
  c.smtp.listen.push_back(rt::Endpoint{"0.0.0.0", config.smtp_port});
  if (config.submission_port != 0) c.smtp.listen_submission.push_back(rt::Endpoint{"0.0.0.0", config.submission_port});
  if (config.submissions_port != 0) c.smtp.listen_submissions.push_back(rt::Endpoint{"0.0.0.0", config.submissions_port});
  c.smtp.session.hostname = std::string(env.hostname());
  c.smtp.session.limits = config.limits;
  c.smtp.connections = config.connections;
  c.smtp.auth_plaintext_on_loopback = config.auth_plaintext_on_loopback;
  c.users_path = config.users_path;
  c.tls = config.tls;
  c.relay = config.relay;
  c.outbound = config.outbound;
  if (config.imaps_port != 0) {
    node::ImapServerConfig imap;
    imap.listen_tls.push_back(rt::Endpoint{"0.0.0.0", config.imaps_port});
    c.imap = imap;
  }
  if (config.pop3s_port != 0) {
    node::Pop3ServerConfig pop3;
    pop3.listen_tls.push_back(rt::Endpoint{"0.0.0.0", config.pop3s_port});
    c.pop3 = pop3;
  }
  return c;
}

namespace {
rt::Task<void> startup(SimEnv& env, std::shared_ptr<MailServerServices> s) {
  // As `cloudsdial serve` does, a host that cannot create its mailboxes does not serve;
  // the scenario's liveness phase reboots it (with disk faults healed).
  if (Status started = co_await s->server.start(); !started.ok()) {
    env.log().write(rt::LogLevel::error, "sim: " + started.error().detail);
    co_return;
  }
  env.log().write(rt::LogLevel::info, "sim: ready");
}
}  // namespace

MailServerServices::MailServerServices(SimEnv& env, const MailServerConfig& config)
    : server(env, server_config(env, config),
             [&env](node::MailHandler& local) { return personality_handler(env, local); }) {}

World::BootFn mail_server_boot(MailServerConfig config) {
  return [config = std::move(config)](SimEnv& env) -> std::shared_ptr<void> {
    // Remote-MX personalities (personality_net.h): the SMTP listener is wrapped, and each
    // connection it accepts gets the host's personality when the World has one for it.
    env.host_net().set_listen_filter(personality_listen_filter(env, config.smtp_port));
    auto services = std::make_shared<MailServerServices>(env, config);
    env.tasks().spawn(startup(env, services));
    return services;
  };
}

std::string maildir_of(const MailServerConfig& config, std::string_view user) {
  return store::maildir_path(config.data_dir, user);
}

}  // namespace mail::sim
