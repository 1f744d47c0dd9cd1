// SimWorld (see sim_world.h): wiring of hosts, scripted sessions, faults, bounded runs and
// inspection over mail::sim. Every argument that a simulator assertion would reject is
// checked here first and raised as a Python error (errors.h).
#include "sim_world.h"

#include <algorithm>

#include "errors.h"
#include "proto/smtp/address.h"
#include "node/queue_report.h"
#include "simulator/relay_workload.h"
#include "simulator/scenario.h"
#include "simulator/sim_disk.h"
#include "simulator/sim_env.h"
#include "simulator/sim_net.h"
#include "store/maildir.h"
#include "store/user_db.h"
#include "store/user_name.h"
#include "tls/sim_random.h"

namespace mail::py {

namespace {

bool valid_host_name(std::string_view n) {
  if (n.empty() || n.size() > 63 || n.front() == '-' || n.back() == '-') return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

void check_mailbox(const std::string& address, const char* what) {
  const auto at = address.rfind('@');
  if (at == std::string::npos || !smtp::parse_mailbox(address, smtp::SmtpLimits{}, true)) {
    raise_error(ErrorKind::config, std::string(what) + " is not a valid local@domain address: '" + address + "'");
  }
}

// mkdir -p with every level durable, as a package install leaves the data directory.
void provision(sim::DiskState& disk, const std::string& dir) {
  if (!sim::provision_data_dir(disk, dir).ok()) raise_error(ErrorKind::config, "bad data_dir " + dir);
}

std::optional<std::uint64_t> number_after(std::string_view s, std::string_view key) {
  const auto at = s.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  std::uint64_t v = 0;
  std::size_t i = at + key.size();
  if (i >= s.size() || s[i] < '0' || s[i] > '9') return std::nullopt;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) v = v * 10 + static_cast<std::uint64_t>(s[i] - '0');
  return v;
}

// A scripted session's record (index, names, commands) and its Script (every field but the
// one ending it: LOGOUT / QUIT), from its spec; the spec's strings are moved out.
template <class Script, class Command, class ScriptState>
Script start_script(ScriptSessionState<Command, ScriptState>& s, std::uint32_t index, ScriptSessionSpec<Command>& spec,
                    sim::HostId client, rt::Endpoint server, std::shared_ptr<tls::TlsContext> tls_client) {
  s.index = index;
  s.client = spec.client;
  s.server = spec.server;
  s.user = spec.user;
  s.commands = spec.commands;
  Script script;
  script.index = s.index;
  script.client = client;
  script.server = std::move(server);
  script.start = spec.start_delay;
  script.user = std::move(spec.user);
  script.password = std::move(spec.password);
  script.login = spec.login;
  script.commands = std::move(spec.commands);
  script.tls_client = std::move(tls_client);
  script.command_timeout = spec.command_timeout;
  return script;
}

}  // namespace

std::optional<SimEvent> classify(const sim::World& world, sim::HostId host, std::string_view kind,
                                 std::string_view detail, const EventFilter& filter) {
  auto make = [&](std::string k) {
    SimEvent e;
    e.kind = std::move(k);
    e.at_us = world.now().time_since_epoch().count();
    e.host = std::string(world.host_name(host));
    e.trace_kind = std::string(kind);
    e.detail = std::string(detail);
    return e;
  };
  if (kind == "log.info" && filter.accepted && detail.starts_with("session=") && detail.find(" acked ") != detail.npos) {
    if (auto id = number_after(detail, " msg=")) {
      SimEvent e = make("accepted");
      e.message_id = *id;
      return e;
    }
  }
  if (kind == "log.info" && filter.delivered && detail.starts_with("smtp[") && detail.find(" result=2") != detail.npos) {
    const auto open = detail.find("]: ");
    const auto colon = open == detail.npos ? detail.npos : detail.find(':', open + 3);
    if (colon != detail.npos) {
      SimEvent e = make("delivered");
      e.queue_id = std::string(detail.substr(open + 3, colon - open - 3));
      return e;
    }
  }
  for (const auto& p : filter.trace_prefixes) {
    if (kind.starts_with(p)) return make("trace");
  }
  return std::nullopt;
}

std::vector<StoredMessage> stored_messages(const sim::DiskState& disk, const sim::MailServerConfig& config) {
  std::vector<StoredMessage> out;
  for (const auto& u : config.directory.users) {
    for (store::MaildirFolder folder : store::maildir_message_folders) {
      const std::string dir = store::maildir_folder_path(config.data_dir, u.name, folder);
      auto list = disk.list(dir);
      if (!list) continue;
      for (const auto& entry : *list) {
        if (entry.is_dir) continue;
        auto data = disk.read(dir + "/" + entry.name);
        if (!data) continue;
        out.push_back(StoredMessage{u.name, std::string(store::to_string(folder)), entry.name, std::move(*data)});
      }
    }
  }
  return out;
}

std::string prepare_content(std::string_view content, std::uint64_t id) {
  if (content.find('\0') != std::string_view::npos) raise_error(ErrorKind::config, "message content contains NUL");
  std::string c;
  c.reserve(content.size() + 64);
  for (std::size_t i = 0; i < content.size(); ++i) {
    if (content[i] == '\n' && (i == 0 || content[i - 1] != '\r')) c += '\r';
    c += content[i];
  }
  if (!c.ends_with("\r\n")) c += "\r\n";
  const std::string header = "X-Sim-Id: " + std::to_string(id);
  if (c.starts_with("\r\n")) return "Subject: (no subject)\r\n" + header + "\r\n" + c;
  const auto end = c.find("\r\n\r\n");
  if (end == std::string::npos) return "Subject: (no subject)\r\n" + header + "\r\n\r\n" + c;
  c.insert(end, "\r\n" + header);
  return c;
}

// ============================================================================ SimWorld

SimWorld::SimWorld(std::uint64_t seed, sim::WorldConfig config)
    : world_(std::make_unique<sim::World>(seed, std::move(config))), openssl_rng_(world_->fork("openssl")) {
  world_->set_tap([this](sim::HostId h, std::string_view kind, std::string_view detail) { on_record(h, kind, detail); });
}

SimWorld::~SimWorld() {
  // No callbacks from the teardown; then the World goes first: its teardown destroys
  // client tasks that use the ledger and the sessions.
  world_->set_tap({});
  world_.reset();
}

sim::HostId SimWorld::id_of(const std::string& name) const {
  auto it = hosts_.find(name);
  if (it == hosts_.end()) raise_error(ErrorKind::not_found, "no host named '" + name + "'");
  return it->second;
}

void SimWorld::require_mutable(const char* what) const {
  if (in_callback_) {
    raise_error(ErrorKind::state, std::string(what) +
                                      " inside an event callback: schedule it with world.after(0, fn) instead");
  }
}

std::string SimWorld::add_server(ServerSpec spec) {
  require_mutable("add_server");
  if (spec.wait_ready && running_) {
    raise_error(ErrorKind::state, "add_server(wait_ready=True) during a run: pass wait_ready=False");
  }
  if (spec.name.empty()) spec.name = "mx" + std::to_string(next_server_);
  if (spec.address.empty()) spec.address = "10.0.1." + std::to_string(next_server_);
  ++next_server_;
  if (!valid_host_name(spec.name)) raise_error(ErrorKind::config, "host names are [a-z0-9-]+: '" + spec.name + "'");
  if (hosts_.count(spec.name)) raise_error(ErrorKind::config, "a host named '" + spec.name + "' exists");
  if (world_->net().host_at(spec.address)) raise_error(ErrorKind::config, "address " + spec.address + " is taken");
  sim::MailServerConfig cfg;
  if (spec.config) {
    cfg = *spec.config;
  } else {
    cfg.directory.domains = spec.domains;
    for (const auto& u : spec.users) cfg.directory.users.push_back(store::UserConfig{u.name, u.aliases});
    cfg.data_dir = spec.data_dir;
    cfg.smtp_port = spec.port;
    if (spec.tls) cfg.tls = tls().server;
    cfg.imaps_port = spec.imaps_port;
    cfg.pop3s_port = spec.pop3s_port;
  }
  for (std::size_t i = 0; i < spec.logins.size(); ++i) {
    const sim::SubmissionUser& l = spec.logins[i];
    if (!store::is_valid_user_name(l.name)) {
      raise_error(ErrorKind::config, "login '" + l.name + "' must be " + std::string(store::kUserNameRule));
    }
    if (!sim::imap_quoted(l.password)) raise_error(ErrorKind::config, "a password must not hold CR, LF or NUL");
    for (std::size_t j = 0; j < i; ++j) {
      if (store::canonical_user_name(spec.logins[j].name) == store::canonical_user_name(l.name)) {
        raise_error(ErrorKind::config, "login '" + l.name + "' is given twice");
      }
    }
    const bool known = std::any_of(cfg.directory.users.begin(), cfg.directory.users.end(), [&](const auto& u) {
      return store::canonical_user_name(u.name) == store::canonical_user_name(l.name);
    });
    if (!known) cfg.directory.users.push_back(store::UserConfig{l.name, {}});
  }
  if (!spec.logins.empty() && cfg.users_path.empty()) cfg.users_path = cfg.data_dir + "/users";
  if (cfg.imaps_port != 0) {
    if (!cfg.tls) raise_error(ErrorKind::config, "IMAP (implicit TLS) needs tls=True");
    if (cfg.users_path.empty()) raise_error(ErrorKind::config, "IMAP needs logins (name -> password)");
    if (cfg.imaps_port == cfg.smtp_port) raise_error(ErrorKind::config, "imap_port must differ from port");
  }
  if (cfg.pop3s_port != 0) {
    if (!cfg.tls) raise_error(ErrorKind::config, "POP3 (implicit TLS) needs tls=True");
    if (cfg.users_path.empty()) raise_error(ErrorKind::config, "POP3 needs logins (name -> password)");
    if (cfg.pop3s_port == cfg.smtp_port || cfg.pop3s_port == cfg.imaps_port) {
      raise_error(ErrorKind::config, "pop3_port must differ from port and imap_port");
    }
  }
  if (cfg.directory.domains.empty()) raise_error(ErrorKind::config, "a mail server needs at least one domain");
  if (cfg.directory.users.empty()) raise_error(ErrorKind::config, "a mail server needs at least one user");
  if (cfg.data_dir.empty() || cfg.data_dir.front() != '/') raise_error(ErrorKind::config, "data_dir must be absolute");
  if (cfg.smtp_port == 0) raise_error(ErrorKind::config, "port must not be 0");
  for (const auto& d : cfg.directory.domains) {
    if (!smtp::is_valid_domain(d, false)) raise_error(ErrorKind::config, "not a domain name: '" + d + "'");
  }
  for (const auto& u : cfg.directory.users) {
    if (!store::is_valid_user_name(u.name)) {
      raise_error(ErrorKind::config, "'" + u.name + "' must be " + std::string(store::kUserNameRule));
    }
    for (const auto& a : u.aliases) {
      if (!store::is_valid_alias(a)) raise_error(ErrorKind::config, "'" + a + "' must be " + std::string(store::kAliasRule));
    }
  }
  sim::HostConfig hc;
  hc.name = spec.name;
  hc.address = spec.address;
  hc.clock_skew = spec.clock_skew;
  hc.disk = spec.disk;
  const sim::HostId id = world_->add_host(hc, sim::mail_server_boot(cfg));
  if (spec.provision_data_dir) provision(world_->disk_state(id), cfg.data_dir);
  if (!spec.logins.empty()) {
    // As `cloudsdial user add` leaves it, with salts from the login names (scenario.h).
    const std::string text = sim::users_file_text(spec.logins);
    if (!sim::provision_file(world_->disk_state(id), cfg.users_path, text).ok()) {
      raise_error(ErrorKind::config, "cannot write the users file " + cfg.users_path);
    }
  }
  hosts_.emplace(spec.name, id);
  servers_.emplace(spec.name, Server{id, std::move(cfg)});
  world_->boot(id);
  if (spec.wait_ready) {
    tls::ScopedDeterministicRandom openssl_randomness(openssl_rng_);
    // As an operator waits for "ready": mailboxes made, listening. A disk fault may keep
    // it from ever getting there; the bound keeps this finite either way.
    (void)world_->run_until(
        [&] {
          auto services = std::static_pointer_cast<sim::MailServerServices>(world_->services(id));
          return services != nullptr && services->ready();
        },
        60s, 1'000'000);
  }
  return spec.name;
}

std::string SimWorld::add_client(std::string name, std::string address) {
  require_mutable("add_client");
  if (name.empty()) name = "client" + std::to_string(next_client_);
  if (address.empty()) address = "10.0.2." + std::to_string(next_client_);
  ++next_client_;
  if (!valid_host_name(name)) raise_error(ErrorKind::config, "host names are [a-z0-9-]+: '" + name + "'");
  if (hosts_.count(name)) raise_error(ErrorKind::config, "a host named '" + name + "' exists");
  if (world_->net().host_at(address)) raise_error(ErrorKind::config, "address " + address + " is taken");
  sim::HostConfig hc;
  hc.name = name;
  hc.address = address;
  const sim::HostId id = world_->add_host(hc);
  hosts_.emplace(name, id);
  world_->boot(id);
  return name;
}

std::vector<std::string> SimWorld::host_names() const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < world_->host_count(); ++i) out.emplace_back(world_->host_name(static_cast<sim::HostId>(i)));
  return out;
}

bool SimWorld::is_server(const std::string& name) const { return servers_.count(name) != 0; }

const sim::MailServerConfig& SimWorld::server_config(const std::string& name) const {
  auto it = servers_.find(name);
  if (it == servers_.end()) raise_error(ErrorKind::not_found, "no mail server named '" + name + "'");
  return it->second.config;
}

void SimWorld::set_personality(const std::string& server, const std::string& toml) {
  require_mutable("set_personality");
  if (!is_server(server)) raise_error(ErrorKind::config, "set_personality: '" + server + "' is not a mail server host");
  auto p = sim::parse_personality_toml(toml, "personality");
  if (!p.ok()) raise_error(ErrorKind::config, p.error().detail);
  world_->set_personality(id_of(server), *p);
}

void SimWorld::clear_personality(const std::string& server) {
  require_mutable("clear_personality");
  world_->clear_personality(id_of(server));
}

std::optional<sim::PersonalityCounters> SimWorld::personality_counters(const std::string& server) const {
  auto state = world_->personality(id_of(server));
  if (state == nullptr) return std::nullopt;
  return state->counters();
}

std::string SimWorld::address_of(const std::string& name) const { return world_->host_config(id_of(name)).address; }

std::uint32_t SimWorld::open_session(const SessionSpec& spec) {
  require_mutable("send");
  const sim::HostId client = id_of(spec.client);
  if (is_server(spec.client)) raise_error(ErrorKind::config, "'" + spec.client + "' is a mail server, not a client");
  const sim::MailServerConfig& server = server_config(spec.server);
  if (!world_->host_up(client)) raise_error(ErrorKind::state, "client host '" + spec.client + "' is down");
  if (spec.messages.empty()) raise_error(ErrorKind::config, "a session needs at least one message");
  for (const auto& m : spec.messages) {
    if (m.recipients.empty()) raise_error(ErrorKind::config, "a message needs at least one recipient");
    if (m.mail_from && !m.mail_from->empty()) check_mailbox(*m.mail_from, "mail_from");
    for (const auto& r : m.recipients) check_mailbox(r, "recipient");
  }
  SessionState& s = sessions_.emplace_back();
  s.index = static_cast<std::uint32_t>(sessions_.size() - 1);
  s.client = spec.client;
  s.server = spec.server;
  sim::SessionPlan plan;
  plan.index = s.index;
  plan.client = client;
  plan.server = rt::Endpoint{address_of(spec.server), server.smtp_port};
  plan.start = spec.start_delay;
  plan.pipelining = spec.pipelining;
  plan.chunking = spec.chunking;
  plan.hang_up_after_bytes = spec.hang_up_after_bytes;
  for (const auto& m : spec.messages) {
    sim::LedgerEntry& e = ledger_.add();
    e.session = s.index;
    e.server = plan.server.address;
    e.content = prepare_content(m.content, e.id);
    e.recipients = m.recipients;
    e.mail_from_set = m.mail_from.has_value();
    e.mail_from = m.mail_from.value_or("");
    plan.messages.push_back(e.id);
    s.messages.push_back(e.id);
  }
  sim::WorkloadConfig wc;
  wc.connect_timeout = spec.connect_timeout;
  std::vector<sim::SessionPlan> plans;
  plans.push_back(std::move(plan));
  sim::launch_sessions(*world_, world_->now(), std::move(plans), wc, ledger_, s.stats);
  return s.index;
}

std::uint32_t SimWorld::open_imap_session(ImapSessionSpec spec) {
  require_mutable("imap_session");
  const sim::HostId client = id_of(spec.client);
  if (is_server(spec.client)) raise_error(ErrorKind::config, "'" + spec.client + "' is a mail server, not a client");
  const sim::MailServerConfig& server = server_config(spec.server);
  if (server.imaps_port == 0) {
    raise_error(ErrorKind::config, "'" + spec.server + "' serves no IMAP: add_server(..., imap=True, logins={...})");
  }
  if (!world_->host_up(client)) raise_error(ErrorKind::state, "client host '" + spec.client + "' is down");
  if (spec.login && (!sim::imap_quoted(spec.user) || !sim::imap_quoted(spec.password))) {
    raise_error(ErrorKind::config, "user and password must not hold CR, LF or NUL");
  }
  for (const auto& c : spec.commands) {
    const std::string& line = c.kind == sim::ImapScriptCommand::Kind::append ? c.folder + c.flags : c.text;
    if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      raise_error(ErrorKind::config, "an IMAP command must not hold CR, LF or NUL (APPEND takes the message apart)");
    }
    if (c.kind == sim::ImapScriptCommand::Kind::text && c.text.empty()) raise_error(ErrorKind::config, "empty IMAP command");
    if (c.kind == sim::ImapScriptCommand::Kind::append && c.folder.empty()) raise_error(ErrorKind::config, "APPEND needs a folder");
  }
  ImapSessionState& s = imap_sessions_.emplace_back();
  auto script = start_script<sim::ImapScript>(s, static_cast<std::uint32_t>(imap_sessions_.size() - 1), spec, client,
                                            rt::Endpoint{address_of(spec.server), server.imaps_port}, tls().client);
  script.logout = spec.end;
  sim::launch_imap_script(*world_, std::move(script), s.state);
  return s.index;
}

const ImapSessionState& SimWorld::imap_session(std::uint32_t index) const {
  if (index >= imap_sessions_.size()) raise_error(ErrorKind::not_found, "no IMAP session " + std::to_string(index));
  return imap_sessions_[index];
}

std::uint32_t SimWorld::open_pop3_session(Pop3SessionSpec spec) {
  require_mutable("pop3_session");
  const sim::HostId client = id_of(spec.client);
  if (is_server(spec.client)) raise_error(ErrorKind::config, "'" + spec.client + "' is a mail server, not a client");
  const sim::MailServerConfig& server = server_config(spec.server);
  if (server.pop3s_port == 0) {
    raise_error(ErrorKind::config, "'" + spec.server + "' serves no POP3: add_server(..., pop3=True, logins={...})");
  }
  if (!world_->host_up(client)) raise_error(ErrorKind::state, "client host '" + spec.client + "' is down");
  const auto bad_line = [](const std::string& l) {
    return l.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos;
  };
  if (spec.login && (bad_line(spec.user) || bad_line(spec.password))) {
    raise_error(ErrorKind::config, "user and password must not hold CR, LF or NUL");
  }
  for (const auto& c : spec.commands) {
    if (c.kind != sim::Pop3ScriptCommand::Kind::text) continue;
    if (bad_line(c.text)) raise_error(ErrorKind::config, "a POP3 command must not hold CR, LF or NUL");
    if (c.text.empty()) raise_error(ErrorKind::config, "empty POP3 command");
  }
  Pop3SessionState& s = pop3_sessions_.emplace_back();
  auto script = start_script<sim::Pop3Script>(s, static_cast<std::uint32_t>(pop3_sessions_.size() - 1), spec, client,
                                            rt::Endpoint{address_of(spec.server), server.pop3s_port}, tls().client);
  script.quit = spec.end;
  sim::launch_pop3_script(*world_, std::move(script), s.state);
  return s.index;
}

const Pop3SessionState& SimWorld::pop3_session(std::uint32_t index) const {
  if (index >= pop3_sessions_.size()) raise_error(ErrorKind::not_found, "no POP3 session " + std::to_string(index));
  return pop3_sessions_[index];
}

const SessionState& SimWorld::session(std::uint32_t index) const {
  if (index >= sessions_.size()) raise_error(ErrorKind::not_found, "no session " + std::to_string(index));
  return sessions_[index];
}

std::vector<std::uint32_t> SimWorld::add_workload(const sim::WorkloadConfig& config, std::vector<std::string> clients,
                                                  std::vector<std::string> servers) {
  require_mutable("add_workload");
  if (clients.empty()) {
    for (const auto& [name, id] : hosts_) {
      if (!is_server(name)) clients.push_back(name);
    }
  }
  if (servers.empty()) {
    for (const auto& [name, s] : servers_) servers.push_back(name);
  }
  if (clients.empty() || servers.empty()) raise_error(ErrorKind::config, "a workload needs clients and servers");
  if (config.session_start.min > config.session_start.max) raise_error(ErrorKind::config, "start: min > max");
  std::vector<sim::HostId> client_ids;
  for (const auto& c : clients) {
    if (is_server(c)) raise_error(ErrorKind::config, "'" + c + "' is a mail server, not a client");
    client_ids.push_back(id_of(c));
    if (!world_->host_up(client_ids.back())) raise_error(ErrorKind::state, "client host '" + c + "' is down");
  }
  sim::WorkloadConfig wc = config;
  wc.tls_client = nullptr;
  if (wc.starttls_ppm > 0) {
    for (const auto& s : servers) {
      if (!server_config(s).tls) raise_error(ErrorKind::config, "starttls_ppm: '" + s + "' has no TLS (add_server(tls=True))");
    }
    wc.tls_client = tls().client;
  }
  std::vector<rt::Endpoint> endpoints;
  for (const auto& s : servers) endpoints.push_back(rt::Endpoint{address_of(s), server_config(s).smtp_port});
  const sim::MailServerConfig& first = server_config(servers.front());
  std::vector<std::string> users;
  for (const auto& u : first.directory.users) users.push_back(u.name);
  Prng rng = world_->fork("workload-" + std::to_string(++workloads_));
  auto plans = sim::plan_sessions(rng, wc, wc.sessions, static_cast<std::uint32_t>(sessions_.size()), client_ids,
                                  endpoints, first.directory.domains, users, false, ledger_);
  return launch(std::move(plans), wc);
}

std::vector<std::uint32_t> SimWorld::add_relay_workload(const sim::WorkloadConfig& config,
                                                        const sim::RelayScenario& relay) {
  require_mutable("add_relay_workload");
  std::vector<sim::HostId> client_ids;
  std::vector<rt::Endpoint> endpoints;
  for (const auto& [name, id] : hosts_) {
    if (!is_server(name)) client_ids.push_back(id);
  }
  for (std::size_t i = 0; i < relay.hosts.size(); ++i) {
    const std::string name = "mx" + std::to_string(i + 1);
    endpoints.push_back(rt::Endpoint{address_of(name), server_config(name).smtp_port});
  }
  if (client_ids.empty() || endpoints.empty()) raise_error(ErrorKind::config, "a workload needs clients and servers");
  std::vector<std::string> users;
  for (const auto& u : server_config("mx1").directory.users) users.push_back(u.name);
  sim::WorkloadConfig wc = config;
  wc.tls_client = nullptr;
  wc.starttls_ppm = 0;
  Prng rng = world_->fork("workload-" + std::to_string(++workloads_));
  auto plans = sim::plan_relay_sessions(rng, wc, relay, wc.sessions, static_cast<std::uint32_t>(sessions_.size()),
                                        client_ids, endpoints, users, false, ledger_);
  return launch(std::move(plans), wc);
}

std::vector<std::uint32_t> SimWorld::launch(std::vector<sim::SessionPlan> plans, const sim::WorkloadConfig& wc) {
  std::vector<std::uint32_t> out;
  for (auto& plan : plans) {
    SessionState& s = sessions_.emplace_back();
    s.index = static_cast<std::uint32_t>(sessions_.size() - 1);
    MAIL_ASSERT(s.index == plan.index);
    s.client = std::string(world_->host_name(plan.client));
    for (const auto& [name, srv] : servers_) {
      if (address_of(name) == plan.server.address) s.server = name;
    }
    s.messages = plan.messages;
    out.push_back(s.index);
    std::vector<sim::SessionPlan> one;
    one.push_back(std::move(plan));
    sim::launch_sessions(*world_, world_->now(), std::move(one), wc, ledger_, s.stats);
  }
  return out;
}

std::pair<std::string, std::vector<std::string>> SimWorld::queue_json(const std::string& server) {
  if (!is_server(server)) raise_error(ErrorKind::config, "queue: '" + server + "' is not a mail server host");
  const sim::HostId id = id_of(server);
  if (!world_->host_up(id)) raise_error(ErrorKind::state, "queue: '" + server + "' is down");
  auto services = std::static_pointer_cast<sim::MailServerServices>(world_->services(id));
  node::QueueManager* q = services ? services->server.outbound() : nullptr;
  if (q == nullptr) raise_error(ErrorKind::config, "queue: '" + server + "' has no outbound queue (not a relaying host)");
  const auto list = q->list();
  std::vector<std::string> shown;
  for (const auto& m : list) {
    auto msg = q->show(m.id);
    if (msg) shown.push_back(node::queue_show_json(*msg));
  }
  return {node::queue_list_json(list), std::move(shown)};
}

const sim::SimTls& SimWorld::tls() {
  if (!tls_.server) tls_ = sim::shared_sim_tls();  // the process's one certificate (sim_tls.h)
  return tls_;
}

void SimWorld::partition(const std::string& a, const std::string& b, bool one_way) {
  require_mutable("partition");
  const sim::HostId x = id_of(a), y = id_of(b);
  if (x == y) raise_error(ErrorKind::config, "cannot partition a host from itself");
  if (one_way) {
    world_->net().partition_one_way(x, y);
  } else {
    world_->net().partition(x, y);
  }
}

void SimWorld::isolate(const std::string& host) {
  require_mutable("isolate");
  world_->net().isolate(id_of(host));
}

void SimWorld::heal(const std::string& a, const std::string& b) {
  require_mutable("heal");
  world_->net().heal(id_of(a), id_of(b));
}

void SimWorld::heal_all() {
  require_mutable("heal");
  world_->net().heal_all();
}

void SimWorld::set_link(const std::string& a, const std::string& b, const sim::LinkConfig& link) {
  require_mutable("set_link");
  const sim::HostId x = id_of(a), y = id_of(b);
  if (x == y) raise_error(ErrorKind::config, "a link joins two different hosts");
  if (link.latency && link.latency->min > link.latency->max) {
    raise_error(ErrorKind::config, "link latency: (min, max) with min <= max");
  }
  if (link.loss_ppm > 1'000'000) raise_error(ErrorKind::config, "link loss is a probability in [0, 1]");
  world_->net().set_link(x, y, link);
}

void SimWorld::clear_link(const std::string& a, const std::string& b) {
  require_mutable("clear_link");
  world_->net().clear_link(id_of(a), id_of(b));
}

void SimWorld::crash(const std::string& host) {
  require_mutable("crash");
  const sim::HostId id = id_of(host);
  if (!world_->host_up(id)) raise_error(ErrorKind::state, "host '" + host + "' is already down");
  world_->crash(id);
}

void SimWorld::restart(const std::string& host) {
  require_mutable("restart");
  world_->restart(id_of(host));
}

void SimWorld::boot(const std::string& host) {
  require_mutable("boot");
  const sim::HostId id = id_of(host);
  if (world_->host_up(id)) raise_error(ErrorKind::state, "host '" + host + "' is already up");
  world_->boot(id);
}

bool SimWorld::host_up(const std::string& host) const { return world_->host_up(id_of(host)); }

void SimWorld::set_disk(const std::string& host, const sim::DiskConfig& disk) {
  require_mutable("set_disk");
  if (disk.latency.min > disk.latency.max || disk.sync_latency.min > disk.sync_latency.max) {
    raise_error(ErrorKind::config, "disk latency min must not exceed max");
  }
  world_->set_disk_config(id_of(host), disk);
}

sim::DiskConfig SimWorld::disk(const std::string& host) const { return world_->host_config(id_of(host)).disk; }

sim::NetConfig& SimWorld::net() { return world_->net().config(); }

void SimWorld::begin_run() {
  require_mutable("run");
  if (running_) raise_error(ErrorKind::state, "the world is already running (run_* called from inside a run)");
  running_ = true;
}

sim::RunStatus SimWorld::finish_run(sim::RunStatus status) {
  running_ = false;
  if (failed_) {
    std::exception_ptr e = failed_;
    failed_ = nullptr;
    std::rethrow_exception(e);
  }
  if (status == sim::RunStatus::budget_exhausted) {
    raise_error(ErrorKind::simulation, "step budget exhausted at " + std::to_string(world_->steps()) +
                                           " steps (a livelock, or pass a larger max_steps)");
  }
  return status;
}

sim::RunStatus SimWorld::run_for(Duration d, std::uint64_t max_steps) {
  if (d < Duration(0)) raise_error(ErrorKind::config, "negative duration");
  begin_run();
  tls::ScopedDeterministicRandom openssl_randomness(openssl_rng_);
  const Instant end = world_->now() + d;
  sim::RunStatus st = world_->run_until([this] { return failed_ != nullptr; }, d, max_steps);
  if (st == sim::RunStatus::idle && world_->now() < end) st = world_->run_for(end - world_->now());
  return finish_run(st);
}

sim::RunStatus SimWorld::run_until_idle(std::uint64_t max_steps) {
  begin_run();
  tls::ScopedDeterministicRandom openssl_randomness(openssl_rng_);
  const sim::RunStatus st = world_->run_until([this] { return failed_ != nullptr; }, Duration(INT64_MAX / 4), max_steps);
  return finish_run(st);
}

sim::RunStatus SimWorld::run_until(const std::function<bool()>& done, Duration max, std::uint64_t max_steps) {
  if (max < Duration(0)) raise_error(ErrorKind::config, "negative duration");
  begin_run();
  tls::ScopedDeterministicRandom openssl_randomness(openssl_rng_);
  const sim::RunStatus st = world_->run_until(
      [&] {
        if (failed_) return true;
        try {
          return done();
        } catch (...) {
          fail(std::current_exception());
          return true;
        }
      },
      max, max_steps);
  return finish_run(st);
}

sim::RunStatus SimWorld::run_until_sessions_done(const std::vector<std::uint32_t>& ids, Duration max,
                                                 std::uint64_t max_steps) {
  for (auto i : ids) (void)session(i);
  return run_until(
      [&] { return std::all_of(ids.begin(), ids.end(), [&](std::uint32_t i) { return sessions_[i].done(); }); }, max,
      max_steps);
}

sim::RunStatus SimWorld::run_until_imap_sessions_done(const std::vector<std::uint32_t>& ids, Duration max,
                                                      std::uint64_t max_steps) {
  for (auto i : ids) (void)imap_session(i);
  return run_until(
      [&] {
        return std::all_of(ids.begin(), ids.end(), [&](std::uint32_t i) { return imap_sessions_[i].state.done(); });
      },
      max, max_steps);
}

sim::RunStatus SimWorld::run_until_pop3_sessions_done(const std::vector<std::uint32_t>& ids, Duration max,
                                                      std::uint64_t max_steps) {
  for (auto i : ids) (void)pop3_session(i);
  return run_until(
      [&] {
        return std::all_of(ids.begin(), ids.end(), [&](std::uint32_t i) { return pop3_sessions_[i].state.done(); });
      },
      max, max_steps);
}

void SimWorld::after(Duration delay, std::function<void()> fn) {
  if (delay < Duration(0)) raise_error(ErrorKind::config, "negative delay");
  world_->schedule_after(delay, sim::kWorldHost, [this, fn = std::move(fn)]() mutable {
    if (failed_) return;
    try {
      fn();
    } catch (...) {
      fail(std::current_exception());
    }
  });
}

std::vector<StoredMessage> SimWorld::mailbox(const std::string& server, bool durable) const {
  const sim::MailServerConfig& cfg = server_config(server);
  const sim::DiskState& live = world_->disk_state(servers_.at(server).id);
  if (!durable) return stored_messages(live, cfg);
  const sim::DiskState after_crash = live.durable_view();
  return stored_messages(after_crash, cfg);
}

namespace {
using StoreResult = std::optional<Result<std::vector<StoreFolderView>>>;
rt::Task<void> inspect_store(store::MailStore& store, std::string user, std::optional<std::string> folder, bool bodies,
                             std::shared_ptr<StoreResult> out) {
  auto read = co_await read_store(store, std::move(user), std::move(folder), bodies);
  out->emplace(std::move(read));
}
}  // namespace

std::vector<StoreFolderView> SimWorld::store_folders(const std::string& server, const std::string& user,
                                                     std::optional<std::string> folder, bool bodies) {
  require_mutable("folders");
  if (!is_server(server)) raise_error(ErrorKind::config, "'" + server + "' is not a mail server host");
  const sim::HostId id = id_of(server);
  if (!world_->host_up(id)) raise_error(ErrorKind::state, "'" + server + "' is down");
  auto services = std::static_pointer_cast<sim::MailServerServices>(world_->services(id));
  if (services == nullptr || !services->ready()) {
    raise_error(ErrorKind::state, "'" + server + "' is not ready (still starting, or its start failed)");
  }
  services.reset();
  auto out = std::make_shared<StoreResult>();
  world_->schedule_after(Duration(0), id, [this, id, user, folder, bodies, out] {
    auto now_services = std::static_pointer_cast<sim::MailServerServices>(world_->services(id));
    if (now_services == nullptr) return;  // crashed meanwhile
    sim::SimEnv& env = world_->env(id);
    env.tasks().spawn(inspect_store(now_services->server.mailboxes(), user, folder, bodies, out));
  });
  (void)run_until([&] { return out->has_value(); }, 1h, 10'000'000);
  if (!out->has_value()) raise_error(ErrorKind::state, "'" + server + "' went down during the inspection");
  if (!(*out)->ok()) raise_error((*out)->error(), "folders of '" + user + "' on " + server);
  return std::move(**out).value();
}

std::vector<sim::Violation> SimWorld::check() const {
  std::vector<sim::Violation> out;
  for (const auto& [name, s] : servers_) {
    const sim::DiskState& live = world_->disk_state(s.id);
    const std::string address = world_->host_config(s.id).address;
    sim::check_mailboxes(ledger_, s.config, address, sim::MailboxView{name + " live", &live}, out);
    const sim::DiskState durable = live.durable_view();
    sim::check_mailboxes(ledger_, s.config, address, sim::MailboxView{name + " after power loss", &durable}, out);
  }
  return out;
}

std::vector<std::pair<std::string, std::int64_t>> SimWorld::stats() const {
  std::vector<std::pair<std::string, std::int64_t>> out;
  auto add = [&](std::string k, std::uint64_t v) { out.emplace_back(std::move(k), static_cast<std::int64_t>(v)); };
  add("steps", world_->steps());
  add("virtual_us", static_cast<std::uint64_t>(world_->now().time_since_epoch().count()));
  add("pending_events", world_->pending_events());
  add("connections_opened", world_->net().connections_opened());
  add("trace_records", world_->trace().records());
  std::uint64_t started = 0, finished = 0, failures = 0, hung = 0, tls_sessions = 0;
  for (const auto& s : sessions_) {
    tls_sessions += s.stats.tls_sessions;
    started += s.stats.started;
    finished += s.stats.finished;
    failures += s.stats.connect_failures;
    hung += s.stats.hung_up;
  }
  add("sessions", sessions_.size());
  add("sessions_started", started);
  add("sessions_finished", finished);
  add("connect_failures", failures);
  add("hung_up", hung);
  add("tls_sessions", tls_sessions);
  std::uint64_t imap_finished = 0;
  for (const auto& s : imap_sessions_) imap_finished += s.state.stats.finished;
  add("imap_sessions", imap_sessions_.size());
  add("imap_sessions_finished", imap_finished);
  std::uint64_t pop3_finished = 0;
  for (const auto& s : pop3_sessions_) pop3_finished += s.state.stats.finished;
  add("pop3_sessions", pop3_sessions_.size());
  add("pop3_sessions_finished", pop3_finished);
  std::uint64_t by[5] = {0, 0, 0, 0, 0};
  for (const auto& e : ledger_.entries()) ++by[static_cast<int>(e.outcome)];
  add("messages", ledger_.entries().size());
  add("not_sent", by[0]);
  add("pending", by[1]);
  add("acked", by[2]);
  add("refused", by[3]);
  add("unknown", by[4]);
  for (const auto& [name, s] : servers_) {
    add(name + ".incarnation", world_->incarnation(s.id));
    if (!world_->host_up(s.id)) continue;
    auto services = std::static_pointer_cast<sim::MailServerServices>(world_->services(s.id));
    if (services == nullptr) continue;
    const auto& c = services->server.smtp().counters();
    add(name + ".connections_accepted", c.connections_accepted);
    add(name + ".messages_accepted", c.messages_accepted);
    add(name + ".messages_refused", c.messages_refused);
  }
  return out;
}

void SimWorld::set_events(EventFilter filter, EventFn fn) {
  filter_ = std::move(filter);
  on_event_ = std::move(fn);
}

void SimWorld::fail(std::exception_ptr error) {
  if (!failed_) failed_ = std::move(error);
}

void SimWorld::on_record(sim::HostId host, std::string_view kind, std::string_view detail) {
  if (!on_event_ || !filter_.any() || failed_) return;
  auto event = classify(*world_, host, kind, detail, filter_);
  if (!event) return;
  in_callback_ = true;
  try {
    on_event_(*event);
  } catch (...) {
    fail(std::current_exception());
  }
  in_callback_ = false;
}

}  // namespace mail::py
