// A simulated mail server host: node::MailServer — the assembly `cloudsdial serve` runs on
// AsioEnv — on a SimEnv, re-created from scratch by every boot. Nothing here changes server
// behaviour; it only translates the scenario's host settings into the server's
// configuration and starts it, with the remote-MX personality hooks in front (a listener
// filter and a MailHandler wrapper, both pass-through while the host has no personality).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "node/mail_server.h"
#include "store/directory.h"
#include "world.h"

namespace mail::sim {

struct MailServerConfig {
  store::DirectoryConfig directory;
  std::string data_dir = "/data";
  std::uint16_t smtp_port = 25;
  std::uint16_t submission_port = 0;   // RFC 6409 listener (STARTTLS, AUTH before MAIL); 0 = none
  std::uint16_t submissions_port = 0;  // RFC 8314 implicit TLS listener (needs `tls`); 0 = none
  std::uint16_t imaps_port = 0;        // IMAP over implicit TLS (needs `tls`, `users_path`); 0 = no IMAP
  std::uint16_t pop3s_port = 0;        // POP3 over implicit TLS (needs `tls`, `users_path`); 0 = no POP3
  smtp::SmtpLimits limits;  // session limits (timeouts included)
  node::ConnectionLimitsConfig connections;
  std::shared_ptr<tls::TlsContext> tls;  // STARTTLS offered when set (sim_tls.h makes it)
  // The users file on the host's disk (SCRAM credentials; see store/user_db.h). Set: AUTH
  // is offered exactly as `serve` offers it. Empty: no AUTH, as for a plain MX.
  std::string users_path;
  bool auth_plaintext_on_loopback = false;
  // The relay policy and submission checks. The simulated clients submit as senderN@
  // clients.test whatever they log in as, and the smtp-* scenarios' digests predate the
  // submission fix-ups: both are off unless a scenario turns them on.
  node::RelayHandlerConfig relay = [] {
    node::RelayHandlerConfig r;
    r.sender_must_match_login = false;
    r.add_missing_headers = false;
    return r;
  }();
  // Set: the host runs the outbound queue and delivery agent (the relay-* scenarios).
  std::optional<node::QueueManagerConfig> outbound;
};

// Owned by the World's host record between a boot and the next crash.
struct MailServerServices {
  MailServerServices(SimEnv& env, const MailServerConfig& config);
  node::MailServer server;
  bool ready() const noexcept { return server.ready(); }  // mailboxes ensured and listening
};

// The server's configuration for a host, as `cloudsdial serve` would read it from TOML.
node::MailServerConfig server_config(SimEnv& env, const MailServerConfig& config);

// The boot function for World::add_host/set_boot: builds the services and spawns the
// start-up task (node::MailServer::start), as app/serve.cpp does.
World::BootFn mail_server_boot(MailServerConfig config);

// Where a user's Maildir lives on the host's disk (data_dir/mail/<user>/Maildir).
std::string maildir_of(const MailServerConfig& config, std::string_view user);

}  // namespace mail::sim
