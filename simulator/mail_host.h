// A simulated mail server host: the production services (Directory, MaildirStore,
// LocalDelivery, SmtpServer) built on a SimEnv exactly as `cloudsdial serve` builds them on
// AsioEnv, re-created from scratch by every boot. Nothing here changes server behaviour;
// it only wires and starts it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "node/local_delivery.h"
#include "node/smtp_server.h"
#include "store/directory.h"
#include "store/maildir.h"
#include "world.h"

namespace mail::sim {

struct MailServerConfig {
  store::DirectoryConfig directory;
  std::string data_dir = "/data";
  std::uint16_t smtp_port = 25;
  smtp::SmtpLimits limits;  // session limits (timeouts included)
  node::ConnectionLimitsConfig connections;
  std::shared_ptr<tls::TlsContext> tls;  // STARTTLS offered when set (sim_tls.h makes it)
};

// Owned by the World's host record between a boot and the next crash.
struct MailServerServices {
  MailServerServices(SimEnv& env, const MailServerConfig& config);
  store::Directory directory;
  store::MaildirStore maildirs;
  node::LocalDelivery delivery;
  node::LocalMailHandler handler;
  node::SmtpServer server;
  bool ready = false;  // mailboxes ensured and listening
};

// The boot function for World::add_host/set_boot: builds the services and spawns the
// startup task (ensure every mailbox, then listen), like app/serve.cpp.
World::BootFn mail_server_boot(MailServerConfig config);

// Where a user's Maildir lives on the host's disk (data_dir/mail/<user>/Maildir).
std::string maildir_of(const MailServerConfig& config, std::string_view user);

}  // namespace mail::sim
