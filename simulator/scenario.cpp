// Scenario runner and built-in scenarios (see scenario.h).
#include "scenario.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <mutex>

#include "core/json.h"
#include "imap_checker.h"
#include "pop3_checker.h"
#include "proto/sasl/credentials.h"
#include "relay_checker.h"
#include "relay_workload.h"
#include "sim_dns.h"
#include "sim_env.h"
#include "sim_net.h"
#include "sim_tls.h"
#include "store/user_db.h"
#include "tls/sasl_crypto.h"
#include "tls/sim_random.h"

namespace mail::sim {

struct ScenarioRun::Impl {
  enum class Phase : std::uint8_t { faults, drain, done };

  Impl(const Scenario& s, std::uint64_t seed_, RunOptions o) : sc(s), seed(seed_), opt(std::move(o)) {}
  ~Impl() { world.reset(); }  // first: its teardown destroys tasks that use the members below
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Scenario sc;
  std::uint64_t seed;
  RunOptions opt;
  // The ledger and stats outlive the World: its destructor destroys the client tasks.
  Ledger ledger;
  ImapLedger imap_ledger;
  Pop3Ledger pop3_ledger;
  SessionStats stats;
  std::unique_ptr<World> world;
  std::vector<HostId> servers;
  std::vector<HostId> clients;
  std::vector<rt::Endpoint> server_eps;
  std::vector<SessionPlan> liveness_plans;
  std::vector<ImapSessionPlan> imap_liveness_plans;
  std::vector<Pop3SessionPlan> pop3_liveness_plans;
  std::map<HostId, std::uint32_t> update_crash_armed;  // server -> syncs left before its crash
  // Relay scenarios: each server's own configuration (its domain, queue, trusted network)
  // and the log watcher; empty / null otherwise.
  std::vector<MailServerConfig> server_configs;
  std::unique_ptr<RelayLog> relay_log;
  std::uint32_t planned_sessions = 0;
  Prng chaos{0};
  Prng openssl_rng{0};  // OpenSSL's randomness while this World runs (TLS scenarios)
  bool chaos_active = true;
  Phase phase = Phase::faults;
  Instant fault_end{};
  Instant drain_end{};
  RunReport report;
  std::chrono::steady_clock::time_point wall_start;

  bool is_server(HostId h) const {
    for (HostId s : servers) {
      if (s == h) return true;
    }
    return false;
  }

  void setup();
  void setup_relay_servers(Prng& skew);
  bool queues_empty();
  void finish_relay(std::vector<Violation>& v);
  void crash_now(HostId h, std::string_view why);
  void schedule_random_crash(HostId h, Instant from);
  // Folds a server host's connection-memory high-water mark into `stats` (before a crash
  // drops its counters, and at the end).
  void note_server_memory(HostId h);
  void schedule_partition(Instant from);
  void heal();
  // imap-concurrent: deletes the IMAP user's index.sqlite* on a down host's disk.
  void lose_index(HostId h);
  void finish_imap(std::vector<Violation>& v);
  // pop3-basic: a session sent QUIT with messages marked; maybe crash its server soon.
  void on_pop3_quit(const std::string& server);
  void finish_pop3(std::vector<Violation>& v);
  void finish(std::string_view budget_note);
};

Status provision_data_dir(DiskState& disk, const std::string& dir) {
  if (auto made = disk.make_dirs(dir); !made.ok()) return made;
  std::string path = "/";
  if (auto synced = disk.sync_dir(path); !synced.ok()) return synced;
  std::size_t i = 0;
  while (i < dir.size()) {
    const std::size_t j = dir.find('/', i);
    const std::string part = dir.substr(i, j == std::string::npos ? std::string::npos : j - i);
    if (!part.empty()) {
      path += (path.back() == '/' ? "" : "/") + part;
      if (auto synced = disk.sync_dir(path); !synced.ok()) return synced;
    }
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return {};
}

Status provision_file(DiskState& disk, const std::string& path, std::string_view text) {
  const std::size_t slash = path.rfind('/');
  MAIL_ASSERT(slash != std::string::npos);
  const std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  if (Status made = provision_data_dir(disk, dir); !made.ok()) return made;
  if (Status written = disk.write(path, text, rt::WriteMode::truncate); !written.ok()) return written;
  if (Status synced = disk.sync_file(path); !synced.ok()) return synced;
  return disk.sync_dir(dir);
}

// Each login's salt comes from its name alone, so its SCRAM credentials (PBKDF2, 4096
// rounds: a quarter of a small scenario's run) are derived once per process and name.
std::string users_file_text(const std::vector<SubmissionUser>& logins) {
  static std::mutex mu;  // `cloudsdial sim --jobs` runs Worlds on several threads
  static std::map<std::pair<std::string, std::string>, sasl::ScramCredentials> derived;
  store::UserDb db;
  for (const auto& u : logins) {
    sasl::ScramCredentials creds;
    {
      const std::lock_guard<std::mutex> lock(mu);
      auto it = derived.find({u.name, u.password});
      if (it == derived.end()) {
        Prng rng = Prng(0x5a17'0f05'e125'0001ULL).fork(u.name);
        std::string salt(16, '\0');
        for (char& c : salt) c = static_cast<char>(rng.below(256));
        tls::OpenSslCrypto crypto;  // SHA-256/HMAC/PBKDF2 only: no randomness is drawn
        it = derived.emplace(std::make_pair(u.name, u.password),
                             sasl::derive_scram_credentials(crypto, u.password, salt, 4096)).first;
      }
      creds = it->second;
    }
    MAIL_ASSERT(db.add(u.name, std::move(creds)).ok());
  }
  return db.serialize();
}

void ScenarioRun::Impl::setup() {
  wall_start = std::chrono::steady_clock::now();
  WorldConfig wc;
  wc.net = sc.faults.net;
  wc.buggify.enabled = sc.faults.buggify;
  wc.trace = TraceOptions{opt.tail_records, opt.trace_file};
  wc.max_steps = sc.max_steps + 1'000'000;
  world = std::make_unique<World>(seed, wc);
  report.scenario = sc.name;
  report.seed = seed;

  if (sc.tls) {
    // The process's one certificate (sim_tls.h: made once, shared by every World).
    const SimTls& t = shared_sim_tls();
    sc.server.tls = t.server;
    sc.workload.tls_client = t.client;
  }

  // Before the boot functions copy the server configuration: where the users file goes.
  if (!sc.logins.empty() && sc.server.users_path.empty()) sc.server.users_path = sc.server.data_dir + "/users";
  if (sc.imap) {
    // IMAP over implicit TLS, logging in with a provisioned login.
    MAIL_ASSERT(sc.tls);
    MAIL_ASSERT(!sc.logins.empty());
    sc.server.imaps_port = sc.imap->workload.port;
    ImapWorkloadConfig& iw = sc.imap->workload;
    iw.tls_client = sc.workload.tls_client;
    if (iw.user.empty()) iw.user = sc.logins.front().name;
    for (const auto& l : sc.logins) {
      if (l.name == iw.user) iw.password = l.password;
    }
  }

  if (sc.pop3) {
    // POP3 over implicit TLS (RFC 8314), logging in with a provisioned login.
    MAIL_ASSERT(sc.tls);
    MAIL_ASSERT(!sc.logins.empty());
    sc.server.pop3s_port = sc.pop3->workload.port;
    Pop3WorkloadConfig& pw = sc.pop3->workload;
    pw.tls_client = sc.workload.tls_client;
    if (pw.user.empty()) pw.user = sc.logins.front().name;
    for (const auto& l : sc.logins) {
      if (l.name == pw.user) pw.password = l.password;
    }
    pw.on_quit = [this](const std::string& server) { on_pop3_quit(server); };
  }

  Prng skew = world->fork("clock-skew");
  if (sc.relay) setup_relay_servers(skew);
  for (std::uint32_t i = 0; i < sc.servers && !sc.relay; ++i) {
    HostConfig hc;
    hc.name = "mx" + std::to_string(i + 1);
    hc.address = "10.0.1." + std::to_string(i + 1);
    hc.clock_skew = Duration(static_cast<std::int64_t>(skew.below(5'000'000)));
    hc.disk = sc.faults.disk;
    hc.disk.lying_sync = hc.disk.lying_sync || opt.lying_sync;
    servers.push_back(world->add_host(hc, mail_server_boot(sc.server)));
    server_eps.push_back(rt::Endpoint{hc.address, sc.server.smtp_port});
  }
  for (std::uint32_t i = 0; i < sc.client_hosts; ++i) {
    HostConfig hc;
    hc.name = "client" + std::to_string(i + 1);
    hc.address = "10.0.2." + std::to_string(i + 1);
    hc.clock_skew = Duration(static_cast<std::int64_t>(skew.below(5'000'000)));
    clients.push_back(world->add_host(hc));
  }
  for (const auto& [name, personality] : sc.personalities) world->set_personality(world->host_by_name(name), personality);
  if (sc.provision_data_dir) {
    for (HostId h : servers) MAIL_ASSERT(provision_data_dir(world->disk_state(h), sc.server.data_dir).ok());
  }
  if (!sc.logins.empty()) {
    const std::string text = users_file_text(sc.logins);
    for (HostId h : servers) MAIL_ASSERT(provision_file(world->disk_state(h), sc.server.users_path, text).ok());
    sc.workload.submission_users = sc.logins;
    sc.workload.submission_port = sc.server.submission_port;
  }
  for (HostId h : servers) world->boot(h);
  for (HostId h : clients) world->boot(h);

  chaos = world->fork("chaos");
  openssl_rng = world->fork("openssl");
  fault_end = world->now() + sc.fault_phase;

  // Workload: every plan is drawn now, so faults never change what is sent.
  std::vector<std::string> users;
  for (const auto& u : sc.server.directory.users) users.push_back(u.name);
  Prng wl = world->fork("workload");
  WorkloadConfig w = sc.workload;
  if (w.session_start.max > sc.fault_phase) w.session_start.max = sc.fault_phase;
  if (w.session_start.min > w.session_start.max) w.session_start.min = w.session_start.max;
  std::vector<SessionPlan> plans;
  if (sc.relay) {
    plans = plan_relay_sessions(wl, w, *sc.relay, w.sessions, 0, clients, server_eps, users, false, ledger);
    liveness_plans = plan_relay_sessions(wl, w, *sc.relay, w.liveness_sessions, w.sessions, clients, server_eps, users,
                                         true, ledger);
  } else {
    plans = plan_sessions(wl, w, w.sessions, 0, clients, server_eps, sc.server.directory.domains, users, false, ledger);
    liveness_plans = plan_sessions(wl, w, w.liveness_sessions, w.sessions, clients, server_eps,
                                   sc.server.directory.domains, users, true, ledger);
  }
  planned_sessions = w.sessions + w.liveness_sessions;
  launch_sessions(*world, world->now(), std::move(plans), sc.workload, ledger, stats);
  if (sc.imap) {
    // Its own stream: the SMTP plans above are what they would be without IMAP.
    Prng iwl = world->fork("imap-workload");
    ImapWorkloadConfig iw = sc.imap->workload;
    if (iw.session_start.max > sc.fault_phase) iw.session_start.max = sc.fault_phase;
    if (iw.session_start.min > iw.session_start.max) iw.session_start.min = iw.session_start.max;
    const std::uint32_t first = planned_sessions;
    // The IMAP server hosts: mx1..mxN, each with its own store; liveness sessions per host.
    const std::size_t n = sc.imap->servers == 0 ? server_eps.size() : sc.imap->servers;
    MAIL_ASSERT(n >= 1 && n <= server_eps.size());
    const std::vector<rt::Endpoint> imap_eps(server_eps.begin(), server_eps.begin() + static_cast<std::ptrdiff_t>(n));
    const auto liveness = static_cast<std::uint32_t>(iw.liveness_sessions * n);
    auto imap_plans = plan_imap_sessions(iwl, iw, iw.sessions, first, clients, imap_eps, false, imap_ledger);
    imap_liveness_plans =
        plan_imap_sessions(iwl, iw, liveness, first + iw.sessions, clients, imap_eps, true, imap_ledger);
    planned_sessions += iw.sessions + liveness;
    launch_imap_sessions(*world, world->now(), std::move(imap_plans), sc.imap->workload, imap_ledger, stats);
  }

  if (sc.pop3) {
    // Its own stream: the SMTP (and IMAP) plans above are what they would be without POP3.
    Prng pwl = world->fork("pop3-workload");
    Pop3WorkloadConfig pw = sc.pop3->workload;
    if (pw.session_start.max > sc.fault_phase) pw.session_start.max = sc.fault_phase;
    if (pw.session_start.min > pw.session_start.max) pw.session_start.min = pw.session_start.max;
    const std::uint32_t first = planned_sessions;
    const auto liveness = static_cast<std::uint32_t>(pw.liveness_sessions * server_eps.size());
    auto pop3_plans = plan_pop3_sessions(pwl, pw, pw.sessions, first, clients, server_eps, false);
    pop3_liveness_plans = plan_pop3_sessions(pwl, pw, liveness, first + pw.sessions, clients, server_eps, true);
    planned_sessions += pw.sessions + liveness;
    launch_pop3_sessions(*world, world->now(), std::move(pop3_plans), sc.pop3->workload, pop3_ledger, stats);
  }

  // Chaos: crash points at durability boundaries...
  world->set_observer([this](HostId h, std::string_view kind, std::string_view detail) {
    if (relay_log != nullptr && h != kWorldHost && is_server(h)) relay_log->observe(h, world->now(), kind, detail);
    // pop3-basic: a crash armed by a QUIT fires after the k-th sync of that server since.
    if (auto armed = update_crash_armed.find(h); armed != update_crash_armed.end() && chaos_active &&
        (kind == "disk.sync_files" || kind == "disk.sync_dir" || kind == "sfile.sync") && --armed->second == 0) {
      update_crash_armed.erase(armed);
      world->schedule_at(world->now(), kWorldHost, [this, h] {
        if (!chaos_active || !world->host_up(h)) return;
        ++report.update_crashes;
        crash_now(h, "during pop3 update (after a sync)");
      });
    }
    if (!chaos_active || sc.faults.crash_after_sync_ppm == 0 || h == kWorldHost || !is_server(h)) return;
    if (kind != "disk.sync_files" && kind != "disk.sync_dir") return;
    if (!chaos.chance_ppm(sc.faults.crash_after_sync_ppm)) return;
    world->schedule_at(world->now(), kWorldHost, [this, h] { crash_now(h, "after sync"); });
  });
  world->net().set_write_observer([this](HostId h, std::string_view bytes) {
    if (!chaos_active || sc.faults.crash_after_ack_ppm == 0 || !is_server(h)) return;
    if (bytes.find(" queued as ") == std::string_view::npos) return;
    if (!chaos.chance_ppm(sc.faults.crash_after_ack_ppm)) return;
    // Late enough for the 250 to reach the client.
    world->schedule_after(50ms, kWorldHost, [this, h] { crash_now(h, "after 250"); });
  });
  // ...and at random times; partitions between clients and servers.
  for (HostId h : servers) schedule_random_crash(h, world->now());
  if (sc.faults.partition_interval) schedule_partition(world->now());
}

void ScenarioRun::Impl::setup_relay_servers(Prng& skew) {
  const RelayScenario& r = *sc.relay;
  MAIL_ASSERT(r.hosts.size() == sc.servers);
  relay_log = std::make_unique<RelayLog>();
  relay_log->set_arrival_lookup([this](HostId h, const std::string& qid) -> std::optional<Instant> {
    if (!world->host_up(h)) return std::nullopt;
    auto services = std::static_pointer_cast<MailServerServices>(world->services(h));
    node::QueueManager* q = services ? services->server.outbound() : nullptr;
    if (q == nullptr) return std::nullopt;
    auto m = q->show(qid);
    if (!m) return std::nullopt;
    // The host's wall clock is the epoch plus virtual time plus its skew (sim_env.h).
    const Instant host_time{Duration(m->arrival.unix_us - kWallEpochUnixSeconds * 1'000'000)};
    return world->to_world_time(h, host_time);
  });
  world->dns().config().servfail_ppm = r.dns_servfail_ppm;
  world->dns().config().timeout_ppm = r.dns_timeout_ppm;
  for (std::uint32_t i = 0; i < sc.servers; ++i) {
    HostConfig hc;
    hc.name = "mx" + std::to_string(i + 1);
    hc.address = "10.0.1." + std::to_string(i + 1);
    hc.clock_skew = Duration(static_cast<std::int64_t>(skew.below(5'000'000)));
    hc.disk = sc.faults.disk;
    hc.disk.lying_sync = hc.disk.lying_sync || opt.lying_sync;
    server_configs.push_back(relay_host_config(sc, i));
    add_relay_dns(world->dns(), sc, i, hc.address);
    servers.push_back(world->add_host(hc, mail_server_boot(server_configs.back())));
    relay_log->set_policy(servers.back(), r.hosts[i].retry);
    server_eps.push_back(rt::Endpoint{hc.address, sc.server.smtp_port});
  }
}

MailServerConfig relay_host_config(const Scenario& sc, std::uint32_t i) {
  MAIL_ASSERT(sc.relay.has_value());
  MAIL_ASSERT(i < sc.relay->hosts.size());
  const RelayHost& rh = sc.relay->hosts[i];
  // The organisation's MTA: its own domain, the queue, relay for its trusted networks.
  MailServerConfig c = sc.server;
  c.directory.domains = {rh.domain};
  for (const auto& net : rh.trusted_networks) {
    auto cidr = parse_cidr(net);
    MAIL_ASSERT(cidr.has_value());
    c.relay.policy.trusted_networks.push_back(*cidr);
  }
  node::QueueManagerConfig q;
  q.retry = rh.retry;
  q.router.routes = rh.routes;
  q.router.own_names = {"mx" + std::to_string(i + 1) + "." + rh.domain};
  c.outbound = q;
  return c;
}

void add_relay_dns(DnsZones& dns, const Scenario& sc, std::uint32_t i, const std::string& address) {
  MAIL_ASSERT(sc.relay.has_value());
  const RelayHost& rh = sc.relay->hosts.at(i);
  // RFC 5321 §5.1: routing goes through the MX record; an unreachable organisation's MX
  // points at an address where nothing ever answers (connects time out).
  const std::string exchange = "mx" + std::to_string(i + 1) + "." + rh.domain;
  dns.add_mx(rh.domain, 10, exchange);
  dns.add_a(exchange, rh.unreachable ? "10.0.9." + std::to_string(i + 1) : address);
}

bool ScenarioRun::Impl::queues_empty() {
  for (HostId h : servers) {
    if (!world->host_up(h)) return false;
    auto services = std::static_pointer_cast<MailServerServices>(world->services(h));
    if (services == nullptr || !services->ready()) return false;
    node::QueueManager* q = services->server.outbound();
    if (q == nullptr || !q->started() || q->counters().messages != 0) return false;
  }
  return true;
}

void ScenarioRun::Impl::finish_relay(std::vector<Violation>& v) {
  if (!queues_empty()) {
    for (HostId h : servers) {
      auto services = world->host_up(h) ? std::static_pointer_cast<MailServerServices>(world->services(h)) : nullptr;
      node::QueueManager* q = services ? services->server.outbound() : nullptr;
      v.push_back({"queue-not-empty", std::string(world->host_name(h)) + ": " +
                                          (q == nullptr ? std::string("no running queue")
                                                        : std::to_string(q->counters().messages) + " message(s) left")});
    }
  }
  std::vector<DiskState> durable;
  durable.reserve(servers.size());
  for (HostId h : servers) durable.push_back(world->disk_state(h).durable_view());
  const auto drops = world->dropped_after_dot();
  for (int view = 0; view < 2; ++view) {
    std::vector<RelayMta> mtas;
    for (std::size_t i = 0; i < servers.size(); ++i) {
      RelayMta m;
      m.host = servers[i];
      m.domain = sc.relay->hosts[i].domain;
      m.host_name = std::string(world->host_name(servers[i]));
      m.address = server_eps[i].address;
      m.config = &server_configs[i];
      m.disk = view == 0 ? &world->disk_state(servers[i]) : &durable[i];
      m.label = m.host_name + (view == 0 ? " live" : " after power loss");
      mtas.push_back(std::move(m));
    }
    RelayTotals totals;
    std::vector<Violation> found;
    check_relay(ledger, mtas, *relay_log, drops, found, totals);
    if (view == 0) {
      report.relay = true;
      report.relay_delivered = totals.delivered;
      report.relay_bounced = totals.bounced;
      report.relay_dsns = totals.dsns;
      report.relay_success_dsns = totals.success_dsns;
      report.dup_dropped = totals.dup_dropped;
      report.dup_crash = totals.dup_crash;
      report.dup_lost_reply = totals.dup_lost_reply;
      report.relay_retries_checked = relay_log->retries_checked();
      v.insert(v.end(), found.begin(), found.end());
    } else {
      // After a power loss: every delivery and bounce must already be durable.
      for (auto& x : found) {
        if (x.invariant == "lost-after-ack" || x.invariant == "corrupt") {
          x.detail += " (after power loss)";
          v.push_back(std::move(x));
        }
      }
    }
  }
}

void ScenarioRun::Impl::crash_now(HostId h, std::string_view why) {
  if (!chaos_active || !world->host_up(h)) return;
  world->record(kWorldHost, "chaos.crash", std::string(world->host_name(h)) + " " + std::string(why));
  note_server_memory(h);
  world->crash(h);
  if (relay_log != nullptr) relay_log->crashed(h, world->now());
  ++report.crashes;
  const Instant back = world->now() + sc.faults.downtime.draw(chaos);
  world->schedule_at(back, kWorldHost, [this, h] {
    if (!chaos_active || world->host_up(h)) return;
    // Drawn only in IMAP scenarios, so the others' chaos streams do not move.
    if (sc.imap && sc.imap->index_loss_ppm > 0 && chaos.chance_ppm(sc.imap->index_loss_ppm)) lose_index(h);
    world->boot(h);
  });
}

void ScenarioRun::Impl::note_server_memory(HostId h) {
  if (!world->host_up(h)) return;
  auto services = std::static_pointer_cast<MailServerServices>(world->services(h));
  if (services == nullptr) return;
  stats.server_buffered_max = std::max(stats.server_buffered_max, services->server.smtp().counters().session_buffered_max);
}

void ScenarioRun::Impl::schedule_random_crash(HostId h, Instant from) {
  if (!sc.faults.crash_interval) return;
  const Instant at = from + sc.faults.crash_interval->draw(chaos);
  if (at >= fault_end) return;
  world->schedule_at(at, kWorldHost, [this, h] {
    crash_now(h, "random");
    schedule_random_crash(h, world->now() + sc.faults.downtime.max);
  });
}

void ScenarioRun::Impl::schedule_partition(Instant from) {
  const Instant at = from + sc.faults.partition_interval->draw(chaos);
  if (at >= fault_end) return;
  world->schedule_at(at, kWorldHost, [this] {
    if (!chaos_active) return;
    HostId c = clients[chaos.below(clients.size())];
    const HostId s = servers[chaos.below(servers.size())];
    // Relay scenarios also cut the MTAs from each other (drawn only there).
    if (sc.relay && servers.size() > 1 && chaos.chance_ppm(sc.relay->server_partition_ppm)) {
      const auto k = static_cast<std::size_t>(std::find(servers.begin(), servers.end(), s) - servers.begin());
      c = servers[(k + 1 + chaos.below(servers.size() - 1)) % servers.size()];
    }
    if (chaos.chance_ppm(sc.faults.one_way_partition_ppm)) {
      if (chaos.below(2) == 0) {
        world->net().partition_one_way(c, s);
      } else {
        world->net().partition_one_way(s, c);
      }
    } else {
      world->net().partition(c, s);
    }
    ++report.partitions;
    world->schedule_after(sc.faults.partition_duration.draw(chaos), kWorldHost, [this, c, s] {
      if (chaos_active) world->net().heal(c, s);
    });
    schedule_partition(world->now());
  });
}

void ScenarioRun::Impl::heal() {
  chaos_active = false;
  world->record(kWorldHost, "phase", "heal");
  world->net().heal_all();
  NetConfig& nc = world->net().config();
  nc.stall_ppm = 0;
  nc.reset_ppm = 0;
  world->buggify().config().enabled = false;
  world->dns().config().servfail_ppm = 0;
  world->dns().config().timeout_ppm = 0;
  // Personalities are faults of the fault phase: the liveness sessions must find servers
  // that answer (their state — greylist, drops — stays inspectable in the World).
  for (const auto& [name, personality] : sc.personalities) world->clear_personality(world->host_by_name(name));
  for (HostId h : servers) {
    DiskConfig d = world->host_config(h).disk;
    d.read_eio_ppm = 0;
    d.write_eio_ppm = 0;
    d.sync_eio_ppm = 0;
    d.quota_bytes = 0;
    world->set_disk_config(h, d);
    // A server whose startup hit a fault never listens: restart it, as an operator would.
    if (world->host_up(h)) {
      auto services = std::static_pointer_cast<MailServerServices>(world->services(h));
      const bool ready = services != nullptr && services->ready();
      services.reset();  // the crash must destroy the services before their Env
      if (!ready) {
        world->record(kWorldHost, "chaos.restart", std::string(world->host_name(h)) + " not ready");
        note_server_memory(h);
        world->crash(h);
        if (relay_log != nullptr) relay_log->crashed(h, world->now());
      }
    }
    if (!world->host_up(h)) world->boot(h);
  }
  launch_sessions(*world, world->now() + sc.settle, std::move(liveness_plans), sc.workload, ledger, stats);
  liveness_plans.clear();
  if (sc.imap) {
    launch_imap_sessions(*world, world->now() + sc.settle, std::move(imap_liveness_plans), sc.imap->workload,
                         imap_ledger, stats);
    imap_liveness_plans.clear();
  }
  if (sc.pop3) {
    // After the SMTP liveness sessions have had their time: the final listing of each maildrop.
    launch_pop3_sessions(*world, world->now() + sc.settle + sc.settle, std::move(pop3_liveness_plans),
                         sc.pop3->workload, pop3_ledger, stats);
    pop3_liveness_plans.clear();
  }
  drain_end = world->now() + sc.settle + sc.drain_phase;
}

void ScenarioRun::Impl::lose_index(HostId h) {
  MAIL_ASSERT(!world->host_up(h));
  DiskState& disk = world->disk_state(h);
  const std::string dir = sc.server.data_dir + "/mail/" + sc.imap->workload.user;
  auto entries = disk.list(dir);
  if (!entries) return;  // no account yet
  std::string removed;
  for (const auto& e : *entries) {
    if (!e.name.starts_with("index.sqlite")) continue;
    MAIL_ASSERT(disk.remove(dir + "/" + e.name).ok());
    removed += " " + e.name;
  }
  if (removed.empty()) return;
  MAIL_ASSERT(disk.sync_dir(dir).ok());
  world->record(kWorldHost, "chaos.index-loss", std::string(world->host_name(h)) + removed);
  ++report.index_losses;
  const auto i = static_cast<std::size_t>(std::find(servers.begin(), servers.end(), h) - servers.begin());
  imap_ledger.index_losses.emplace_back(server_eps.at(i).address, imap_ledger.tick());
}

void ScenarioRun::Impl::finish_imap(std::vector<Violation>& v) {
  report.imap = true;
  ImapTotals totals;
  check_imap_protocol(imap_ledger, ledger, v, report.notes, totals);
  check_imap_final(imap_ledger, v);
  std::vector<std::string> folders = sc.imap->workload.folders;
  for (std::size_t i = 0; i < servers.size(); ++i) {
    const std::string name(world->host_name(servers[i]));
    const DiskState& live = world->disk_state(servers[i]);
    check_imap_mailbox(imap_ledger, sc.server, server_eps[i].address, sc.imap->workload.user, folders,
                       MailboxView{name + " live", &live}, v);
    const DiskState durable = live.durable_view();
    check_imap_mailbox(imap_ledger, sc.server, server_eps[i].address, sc.imap->workload.user, folders,
                       MailboxView{name + " after power loss", &durable}, v);
  }
  for (const auto& a : imap_ledger.appends()) {
    ++report.imap_appends;
    if (a.outcome == ImapAppend::Outcome::acked) ++report.imap_appends_acked;
  }
  report.imap_uid_observations = totals.uid_observations;
  report.imap_counter_observations = totals.counter_observations;
  report.uidvalidity_changes = static_cast<std::uint32_t>(totals.uidvalidity_changes);
  for (const auto& n : report.notes) world->record(kWorldHost, "note", n);
}

void ScenarioRun::Impl::on_pop3_quit(const std::string& server) {
  // Drawn only in POP3 scenarios with update crashes, so other chaos streams do not move.
  if (!chaos_active || sc.pop3->update_crash_ppm == 0 || !chaos.chance_ppm(sc.pop3->update_crash_ppm)) return;
  const bool at_sync = chaos.chance_ppm(sc.pop3->update_crash_at_sync_ppm);
  const Duration delay = sc.pop3->update_crash_delay.draw(chaos);
  const auto syncs = static_cast<std::uint32_t>(chaos.between(1, 3));
  for (std::size_t i = 0; i < server_eps.size(); ++i) {
    if (server_eps[i].address != server) continue;
    const HostId h = servers[i];
    if (at_sync) {
      // Inside UPDATE: after the expunge's first, second or third sync (Maildir directory,
      // index WAL, ...), whichever comes; an SMTP delivery's sync may come first.
      update_crash_armed[h] = syncs;
      continue;
    }
    world->schedule_after(delay, kWorldHost, [this, h] {
      if (!chaos_active || !world->host_up(h)) return;
      ++report.update_crashes;
      crash_now(h, "during pop3 update");
    });
  }
}

void ScenarioRun::Impl::finish_pop3(std::vector<Violation>& v) {
  report.pop3 = true;
  Pop3Totals totals;
  check_pop3(pop3_ledger, ledger, v, totals);
  for (std::size_t i = 0; i < servers.size(); ++i) {
    const std::string name(world->host_name(servers[i]));
    check_pop3_maildrop(pop3_ledger, sc.server, server_eps[i].address, sc.pop3->workload.user,
                        MailboxView{name + " live", &world->disk_state(servers[i])}, v);
  }
  report.pop3_committed = totals.committed;
  report.pop3_update_unknown = totals.update_unknown;
  report.pop3_aborted = totals.aborted;
  report.pop3_in_use = totals.in_use;
  report.pop3_retrs = totals.retrs;
  report.pop3_deles = totals.deles;
}

void ScenarioRun::Impl::finish(std::string_view budget_note) {
  phase = Phase::done;
  auto& v = report.violations;
  if (!budget_note.empty()) v.push_back({"step-budget", std::string(budget_note)});
  check_liveness(ledger, stats, v);
  check_submission(ledger, v);
  const smtp::ReplyLimits reply_limits;
  for (HostId h : servers) note_server_memory(h);
  const smtp::SmtpLimits& l = sc.server.limits;
  // The session's own bound (its property tests prove it) plus one read buffer.
  const std::uint64_t server_bound = l.message_bytes_max + l.pipelined_input_bytes_max + l.command_line_bytes_max +
                                     node::SmtpServerConfig{}.read_buffer_bytes;
  check_memory(stats, std::uint64_t{reply_limits.reply_bytes_max} + reply_limits.line_bytes_tolerated, server_bound, v);
  for (std::size_t i = 0; i < servers.size(); ++i) {
    const HostId h = servers[i];
    const std::string name(world->host_name(h));
    const DiskState& live = world->disk_state(h);
    if (sc.relay) continue;  // finish_relay reads the mailboxes
    // POP3: messages an UPDATE removed (or may have) are no loss; pop3_checker.h checks them.
    std::set<std::pair<std::string, std::uint64_t>> removed;
    if (sc.pop3) removed = pop3_removable(pop3_ledger, server_eps[i].address, sc.pop3->workload.user);
    const auto* removed_ok = sc.pop3 ? &removed : nullptr;
    check_mailboxes(ledger, sc.server, server_eps[i].address, MailboxView{name + " live", &live}, v, removed_ok);
    const DiskState durable = live.durable_view();
    check_mailboxes(ledger, sc.server, server_eps[i].address, MailboxView{name + " after power loss", &durable}, v,
                    removed_ok);
  }
  if (sc.relay) finish_relay(v);
  if (sc.imap) finish_imap(v);
  if (sc.pop3) finish_pop3(v);
  for (const auto& e : ledger.entries()) {
    ++report.messages;
    switch (e.outcome) {
      case LedgerEntry::Outcome::acked: ++report.acked; break;
      case LedgerEntry::Outcome::refused: ++report.refused; break;
      case LedgerEntry::Outcome::unknown:
      case LedgerEntry::Outcome::pending: ++report.unknown; break;
      case LedgerEntry::Outcome::not_sent: ++report.not_sent; break;
    }
  }
  if (!sc.strict_refusals) {
    std::vector<Violation> fatal;
    for (auto& x : v) (x.invariant == "refused-but-delivered" ? report.warnings : fatal).push_back(std::move(x));
    v = std::move(fatal);
  }
  // The verdict is part of the run: fold it into the trace before taking the hash.
  world->record(kWorldHost, "check",
                "messages=" + std::to_string(report.messages) + " acked=" + std::to_string(report.acked) +
                    " refused=" + std::to_string(report.refused) + " unknown=" + std::to_string(report.unknown) +
                    " violations=" + std::to_string(v.size()) + " warnings=" + std::to_string(report.warnings.size()));
  for (const auto& violation : v) world->record(kWorldHost, "violation", violation.invariant + ": " + violation.detail);
  for (const auto& warning : report.warnings) world->record(kWorldHost, "warning", warning.invariant + ": " + warning.detail);
  report.sessions = stats.started;
  report.connect_failures = stats.connect_failures;
  report.hung_up = stats.hung_up;
  report.tls_sessions = stats.tls_sessions;
  report.submission_sessions = stats.submission_sessions;
  report.authenticated_sessions = stats.authenticated_sessions;
  report.steps = world->steps();
  report.virtual_us = world->now().time_since_epoch().count();
  report.trace_hash = world->trace().hash();
  if (!v.empty()) report.trace_tail = world->trace().tail(opt.tail_records);
  report.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
}

ScenarioRun::ScenarioRun(const Scenario& scenario, std::uint64_t seed, RunOptions options)
    : impl_(std::make_unique<Impl>(scenario, seed, std::move(options))) {
  impl_->setup();
}

ScenarioRun::~ScenarioRun() = default;

World& ScenarioRun::world() { return *impl_->world; }

const Ledger& ScenarioRun::ledger() const { return impl_->ledger; }

const ImapLedger& ScenarioRun::imap_ledger() const { return impl_->imap_ledger; }
const Pop3Ledger& ScenarioRun::pop3_ledger() const { return impl_->pop3_ledger; }

const RunReport& ScenarioRun::report() const {
  MAIL_ASSERT(impl_->phase == Impl::Phase::done);
  return impl_->report;
}

bool ScenarioRun::advance(std::uint64_t max_steps) {
  Impl& s = *impl_;
  World& w = *s.world;
  // Every random byte OpenSSL draws while this World runs comes from its seed.
  tls::ScopedDeterministicRandom openssl_randomness(s.openssl_rng);
  if (s.phase == Impl::Phase::done) return false;
  if (w.steps() >= s.sc.max_steps) {
    s.finish("more than " + std::to_string(s.sc.max_steps) + " events: a livelock or a runaway workload");
    return false;
  }
  const std::uint64_t slice = std::min<std::uint64_t>(max_steps, s.sc.max_steps - w.steps());
  if (s.phase == Impl::Phase::faults) {
    const RunStatus st = w.run_until([] { return false; }, s.fault_end - w.now(), slice);
    if (st == RunStatus::budget_exhausted) return true;
    if (w.now() < s.fault_end) (void)w.run_for(s.fault_end - w.now());
    s.heal();
    s.phase = Impl::Phase::drain;
    return true;
  }
  const RunStatus st = w.run_until(
      [&s] { return s.stats.finished == s.planned_sessions && (!s.sc.relay || s.queues_empty()); },
      s.drain_end - w.now(), slice);
  if (st == RunStatus::budget_exhausted) return true;
  s.finish("");
  return false;
}

RunReport run_scenario(const Scenario& scenario, std::uint64_t seed, const RunOptions& options) {
  ScenarioRun run(scenario, seed, options);
  while (run.advance(1'000'000)) {
  }
  return run.report();
}

// ============================================================================ built-ins

namespace {

smtp::Reply reply_of(std::string_view text) {
  auto r = parse_personality_reply(text);
  MAIL_ASSERT(r.ok());
  return *r;
}

Scenario base(std::string name, std::string description) {
  Scenario s;
  s.name = std::move(name);
  s.description = std::move(description);
  s.server.directory.domains = {"example.test", "example.org"};
  s.server.directory.users = {store::UserConfig{"alice", {"al"}}, store::UserConfig{"bob", {}},
                              store::UserConfig{"carol", {}}};
  s.server.data_dir = "/var/lib/cloudsdial";
  // Keep every fault a fault: no random segmentation stalls beyond the scenario's own.
  s.faults.net = NetConfig{};
  s.faults.disk = DiskConfig{};
  return s;
}

}  // namespace

std::vector<std::string> builtin_scenario_names() {
  return {"smtp-basic",  "smtp-faults",  "smtp-crash",     "smtp-tls",
          "smtp-submission", "relay-basic", "relay-faults", "imap-concurrent",
          "pop3-basic"};
}

std::optional<Scenario> builtin_scenario(std::string_view name) {
  if (name == "smtp-basic") {
    Scenario s = base("smtp-basic", "one server, two client hosts, no faults beyond random segmentation");
    s.workload.sessions = 30;
    s.workload.session_start = DurationRange{0s, 2min};
    s.workload.abrupt_disconnect_ppm = 0;
    s.fault_phase = 3min;
    return s;
  }
  if (name == "smtp-faults") {
    Scenario s = base("smtp-faults", "network, disk, BUGGIFY and crash faults, then heal and check");
    s.workload.sessions = 40;
    s.workload.session_start = DurationRange{0s, 8min};
    s.fault_phase = 10min;
    s.faults.net.stall_ppm = 2'000;
    s.faults.net.reset_ppm = 20'000;
    s.faults.disk.read_eio_ppm = 1'000;
    s.faults.disk.write_eio_ppm = 2'000;
    s.faults.disk.sync_eio_ppm = 5'000;
    s.faults.disk.tear_ppm = 500'000;
    s.faults.disk.quota_bytes = 400 * 1024;
    s.faults.disk.sync_latency = Latency{500us, 5ms, 10'000, 200ms};
    s.faults.crash_interval = DurationRange{1min, 5min};
    s.faults.downtime = DurationRange{1s, 30s};
    s.faults.crash_after_sync_ppm = 5'000;
    s.faults.crash_after_ack_ppm = 30'000;
    s.faults.partition_interval = DurationRange{30s, 3min};
    s.faults.partition_duration = DurationRange{1s, 40s};
    s.faults.buggify = true;
    return s;
  }
  if (name == "smtp-tls") {
    // STARTTLS inside the simulation (issue 4): a per-World certificate, OpenSSL's
    // randomness from the seed; network faults and crashes while sessions upgrade.
    Scenario s = base("smtp-tls", "most sessions use STARTTLS; resets, stalls, partitions and crashes");
    s.tls = true;
    s.workload.sessions = 30;
    s.workload.starttls_ppm = 700'000;
    s.workload.session_start = DurationRange{0s, 4min};
    s.fault_phase = 5min;
    s.faults.net.stall_ppm = 2'000;
    s.faults.net.reset_ppm = 10'000;
    s.faults.crash_interval = DurationRange{1min, 4min};
    s.faults.downtime = DurationRange{1s, 20s};
    s.faults.crash_after_ack_ppm = 30'000;
    s.faults.partition_interval = DurationRange{30s, 3min};
    s.faults.partition_duration = DurationRange{1s, 30s};
    return s;
  }
  if (name == "smtp-submission") {
    // Submission and AUTH inside the simulation (issue 11): each host runs the submission
    // listener (587, STARTTLS, AUTH before MAIL) from a users file provisioned on its disk.
    // Most sessions log in with AUTH PLAIN (some with SCRAM-SHA-256); some with a wrong
    // password (535) or without AUTH (530): none of their messages may be acked or stored.
    // The rest go to port 25.
    // The faults and the pace of smtp-tls.
    Scenario s = *builtin_scenario("smtp-tls");
    s.name = "smtp-submission";
    s.description =
        "submission on 587 with STARTTLS and AUTH PLAIN/SCRAM (good and bad passwords, no AUTH) and MX sessions "
        "on 25; resets, stalls, partitions and crashes";
    s.server.submission_port = 587;
    s.logins = {SubmissionUser{"alice", "alice-secret"}, SubmissionUser{"bob", "correct horse"},
                SubmissionUser{"carol", "c4r0l!"}};
    s.workload.starttls_ppm = 500'000;  // of the port-25 sessions
    s.workload.submission_ppm = 700'000;
    s.workload.bad_password_ppm = 150'000;
    s.workload.no_auth_ppm = 150'000;
    s.workload.scram_ppm = 300'000;  // of the logins; the rest use PLAIN
    return s;
  }
  if (name == "relay-basic") {
    // Two organisations, each with a relaying MTA (issue 13): mail both ways through MX
    // lookups, some to unknown users (bounced back to the sender), some with NOTIFY=SUCCESS.
    // A short retry schedule so the drain phase stays short.
    Scenario s = base("relay-basic", "two relaying MTAs (a.test, b.test): mail both ways, bounces, NOTIFY=SUCCESS");
    s.servers = 2;
    s.relay = RelayScenario{};
    for (const char* domain : {"a.test", "b.test"}) {
      RelayHost h;
      h.domain = domain;
      h.retry.first = 1min;
      h.retry.max = 10min;
      h.retry.lifetime = 2h;
      h.retry.delay_warning = Duration(0);
      s.relay->hosts.push_back(std::move(h));
    }
    s.workload.sessions = 20;
    s.workload.session_start = DurationRange{0s, 2min};
    s.workload.abrupt_disconnect_ppm = 0;
    s.workload.unknown_recipient_ppm = 150'000;
    s.workload.liveness_sessions = 2;
    s.fault_phase = 3min;
    s.drain_phase = 6h;
    return s;
  }
  if (name == "relay-faults") {
    // The relay under every fault the simulator has: remote-MX personalities on both MTAs
    // (greylist, 4xx/5xx at stages, slow, silent, garbled replies, drop after the dot),
    // partitions (clients and MTAs), DNS SERVFAIL and timeouts, crashes of either MTA with
    // torn writes. Healed after 10 minutes; then every queue must drain.
    Scenario s = *builtin_scenario("relay-basic");
    s.name = "relay-faults";
    s.description = "two relaying MTAs under personalities, partitions, DNS faults and crashes with torn writes";
    s.workload.sessions = 24;
    s.workload.session_start = DurationRange{0s, 8min};
    s.workload.abrupt_disconnect_ppm = 20'000;
    s.fault_phase = 10min;
    s.relay->dns_servfail_ppm = 100'000;
    s.relay->dns_timeout_ppm = 50'000;
    s.relay->server_partition_ppm = 500'000;
    s.faults.net.stall_ppm = 2'000;
    s.faults.disk.tear_ppm = 500'000;
    s.faults.crash_interval = DurationRange{1min, 5min};
    s.faults.downtime = DurationRange{1s, 30s};
    s.faults.crash_after_sync_ppm = 5'000;
    s.faults.crash_after_ack_ppm = 30'000;
    s.faults.partition_interval = DurationRange{30s, 2min};
    s.faults.partition_duration = DurationRange{1s, 90s};
    Personality greylist;
    greylist.greylist = true;
    greylist.greylist_delay = 3min;
    greylist.drop_after_dot_ppm = 100'000;
    greylist.at(Stage::end_of_data).delay_min = 1s;
    greylist.at(Stage::end_of_data).delay_max = 20min;  // past the client's timeout: a lost reply
    greylist.at(Stage::end_of_data).delay_ppm = 50'000;
    s.personalities["mx1"] = greylist;
    Personality difficult;
    difficult.at(Stage::rcpt).reply = reply_of("452 4.2.2 Mailbox full");
    difficult.at(Stage::rcpt).reply_ppm = 150'000;
    difficult.at(Stage::end_of_data).reply = reply_of("554 5.6.0 Message rejected");
    difficult.at(Stage::end_of_data).reply_ppm = 30'000;
    difficult.at(Stage::mail).silent_ppm = 20'000;
    difficult.at(Stage::mail).garble_ppm = 20'000;
    difficult.at(Stage::greeting).reply = reply_of("421 4.3.2 Too busy");
    difficult.at(Stage::greeting).reply_ppm = 50'000;
    difficult.drop_after_dot_ppm = 50'000;
    s.personalities["mx2"] = difficult;
    return s;
  }
  if (name == "imap-concurrent") {
    // IMAP in the simulator (issue 14): concurrent IMAP sessions (implicit TLS) on alice's
    // mailbox — append, fetch, store, expunge, move, IDLE — while SMTP delivers into it;
    // random crashes with torn writes, crashes right after syncs, and, when a crashed
    // server comes back, sometimes without its index (rebuilt from the Maildir).
    Scenario s = base("imap-concurrent",
                      "concurrent IMAP sessions and SMTP deliveries on one mailbox; crashes, torn writes, index loss");
    s.tls = true;
    s.logins = {SubmissionUser{"alice", "alice-secret"}};
    s.workload.sessions = 10;
    s.workload.session_start = DurationRange{0s, 4min};
    s.workload.transactions_per_session = Range{1, 2};
    s.workload.abrupt_disconnect_ppm = 20'000;
    s.workload.liveness_sessions = 1;
    s.fault_phase = 5min;
    s.faults.disk.tear_ppm = 500'000;
    s.faults.crash_interval = DurationRange{30s, 2min};
    s.faults.downtime = DurationRange{1s, 15s};
    s.faults.crash_after_sync_ppm = 3'000;
    s.faults.partition_interval = DurationRange{30s, 3min};
    s.faults.partition_duration = DurationRange{1s, 20s};
    ImapScenario imap;
    imap.workload.sessions = 8;
    imap.workload.session_start = DurationRange{0s, 4min};
    imap.workload.ops_per_session = Range{4, 14};
    imap.workload.idle = DurationRange{1s, 30s};
    imap.index_loss_ppm = 400'000;
    s.imap = imap;
    return s;
  }
  if (name == "pop3-basic") {
    // POP3 in the simulator (issue 15): POP3 sessions (implicit TLS) on alice's maildrop —
    // STAT, UIDL, LIST, RETR, DELE, sometimes RSET, QUIT or a hang-up — while SMTP delivers
    // into it; random crashes with torn writes, and crashes around QUIT: before it arrives,
    // while UPDATE expunges, after its +OK.
    Scenario s = base("pop3-basic", "POP3 sessions and SMTP deliveries on one maildrop; crashes during UPDATE");
    s.tls = true;
    s.logins = {SubmissionUser{"alice", "alice-secret"}};
    s.workload.sessions = 12;
    s.workload.session_start = DurationRange{0s, 4min};
    s.workload.transactions_per_session = Range{1, 3};
    s.workload.recipients = Range{1, 2};
    s.workload.abrupt_disconnect_ppm = 20'000;
    s.workload.liveness_sessions = 1;
    s.fault_phase = 5min;
    s.faults.disk.tear_ppm = 500'000;
    s.faults.crash_interval = DurationRange{1min, 3min};
    s.faults.downtime = DurationRange{1s, 10s};
    s.faults.crash_after_sync_ppm = 2'000;
    Pop3Scenario pop3;
    pop3.workload.sessions = 16;
    pop3.workload.session_start = DurationRange{0s, 5min};
    pop3.workload.think = DurationRange{0s, 20s};
    pop3.update_crash_ppm = 350'000;
    pop3.update_crash_delay = DurationRange{0s, 20ms};
    s.pop3 = pop3;
    return s;
  }
  if (name == "smtp-crash") {
    Scenario s = base("smtp-crash", "crash-heavy: crashes between fsync and 250, after 250 and at random; torn writes");
    s.workload.sessions = 40;
    s.workload.session_start = DurationRange{0s, 4min};
    s.workload.abrupt_disconnect_ppm = 20'000;
    s.fault_phase = 5min;
    s.faults.disk.tear_ppm = 1'000'000;
    s.faults.crash_interval = DurationRange{10s, 60s};
    s.faults.downtime = DurationRange{100ms, 10s};
    s.faults.crash_after_sync_ppm = 50'000;
    s.faults.crash_after_ack_ppm = 150'000;
    return s;
  }
  return std::nullopt;
}

// ============================================================================ reports

std::string summary_line(const RunReport& r) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "seed=0x%016" PRIx64 " scenario=%s hash=%016" PRIx64
                " %s messages=%" PRIu64 " acked=%" PRIu64 " refused=%" PRIu64 " unknown=%" PRIu64
                " not_sent=%" PRIu64 " warnings=%zu sessions=%u crashes=%u partitions=%u steps=%" PRIu64
                " virtual=%.1fs wall=%.3fs",
                r.seed, r.scenario.c_str(), r.trace_hash, r.ok() ? "ok" : "VIOLATION", r.messages, r.acked, r.refused,
                r.unknown, r.not_sent, r.warnings.size(), r.sessions, r.crashes, r.partitions, r.steps,
                static_cast<double>(r.virtual_us) / 1e6, r.wall_seconds);
  std::string line = buf;
  if (r.tls_sessions > 0) line += " tls_sessions=" + std::to_string(r.tls_sessions);
  if (r.submission_sessions > 0) {
    line += " submission_sessions=" + std::to_string(r.submission_sessions) +
            " authenticated=" + std::to_string(r.authenticated_sessions);
  }
  if (r.relay) {
    line += " delivered=" + std::to_string(r.relay_delivered) + " bounced=" + std::to_string(r.relay_bounced) +
            " dsns=" + std::to_string(r.relay_dsns) + " success_dsns=" + std::to_string(r.relay_success_dsns) +
            " duplicates=" + std::to_string(r.dup_dropped + r.dup_crash + r.dup_lost_reply) + "(drop=" +
            std::to_string(r.dup_dropped) + ",lost_reply=" + std::to_string(r.dup_lost_reply) +
            ",crash=" + std::to_string(r.dup_crash) + ") retries_checked=" + std::to_string(r.relay_retries_checked);
  }
  if (r.imap) {
    line += " appends=" + std::to_string(r.imap_appends) + " appends_acked=" + std::to_string(r.imap_appends_acked) +
            " uid_observations=" + std::to_string(r.imap_uid_observations) +
            " counter_observations=" + std::to_string(r.imap_counter_observations) +
            " index_losses=" + std::to_string(r.index_losses) +
            " uidvalidity_changes=" + std::to_string(r.uidvalidity_changes);
  }
  if (r.pop3) {
    line += " pop3_committed=" + std::to_string(r.pop3_committed) +
            " pop3_update_unknown=" + std::to_string(r.pop3_update_unknown) +
            " pop3_aborted=" + std::to_string(r.pop3_aborted) + " pop3_in_use=" + std::to_string(r.pop3_in_use) +
            " retrs=" + std::to_string(r.pop3_retrs) + " deles=" + std::to_string(r.pop3_deles) +
            " update_crashes=" + std::to_string(r.update_crashes);
  }
  return line;
}


std::string to_json(const RunReport& r) {
  std::string out = "{";
  out += "\"scenario\":" + json_string(r.scenario);
  out += ",\"seed\":" + std::to_string(r.seed);
  out += ",\"hash\":\"" + hex64(r.trace_hash) + "\"";
  out += ",\"ok\":" + std::string(r.ok() ? "true" : "false");
  out += ",\"messages\":" + std::to_string(r.messages);
  out += ",\"acked\":" + std::to_string(r.acked);
  out += ",\"refused\":" + std::to_string(r.refused);
  out += ",\"unknown\":" + std::to_string(r.unknown);
  out += ",\"not_sent\":" + std::to_string(r.not_sent);
  out += ",\"sessions\":" + std::to_string(r.sessions);
  out += ",\"crashes\":" + std::to_string(r.crashes);
  out += ",\"partitions\":" + std::to_string(r.partitions);
  if (r.submission_sessions > 0) {
    out += ",\"submission_sessions\":" + std::to_string(r.submission_sessions);
    out += ",\"authenticated_sessions\":" + std::to_string(r.authenticated_sessions);
  }
  if (r.relay) {
    out += ",\"relay\":{\"delivered\":" + std::to_string(r.relay_delivered) +
           ",\"bounced\":" + std::to_string(r.relay_bounced) + ",\"dsns\":" + std::to_string(r.relay_dsns) +
           ",\"success_dsns\":" + std::to_string(r.relay_success_dsns) +
           ",\"duplicates_dropped_after_dot\":" + std::to_string(r.dup_dropped) +
           ",\"duplicates_lost_reply\":" + std::to_string(r.dup_lost_reply) +
           ",\"duplicates_crash\":" + std::to_string(r.dup_crash) +
           ",\"retries_checked\":" + std::to_string(r.relay_retries_checked) + "}";
  }
  if (r.imap) {
    out += ",\"imap\":{\"appends\":" + std::to_string(r.imap_appends) +
           ",\"appends_acked\":" + std::to_string(r.imap_appends_acked) +
           ",\"uid_observations\":" + std::to_string(r.imap_uid_observations) +
           ",\"counter_observations\":" + std::to_string(r.imap_counter_observations) +
           ",\"index_losses\":" + std::to_string(r.index_losses) +
           ",\"uidvalidity_changes\":" + std::to_string(r.uidvalidity_changes) + "}";
  }
  if (r.pop3) {
    out += ",\"pop3\":{\"committed\":" + std::to_string(r.pop3_committed) +
           ",\"update_unknown\":" + std::to_string(r.pop3_update_unknown) +
           ",\"aborted\":" + std::to_string(r.pop3_aborted) + ",\"in_use\":" + std::to_string(r.pop3_in_use) +
           ",\"retrs\":" + std::to_string(r.pop3_retrs) + ",\"deles\":" + std::to_string(r.pop3_deles) +
           ",\"update_crashes\":" + std::to_string(r.update_crashes) + "}";
  }
  out += ",\"steps\":" + std::to_string(r.steps);
  out += ",\"virtual_us\":" + std::to_string(r.virtual_us);
  out += ",\"violations\":[";
  for (std::size_t i = 0; i < r.violations.size(); ++i) {
    if (i) out += ",";
    out += "{\"invariant\":" + json_string(r.violations[i].invariant) + ",\"detail\":" +
           json_string(r.violations[i].detail) + "}";
  }
  out += "],\"warnings\":[";
  for (std::size_t i = 0; i < r.warnings.size(); ++i) {
    if (i) out += ",";
    out += "{\"invariant\":" + json_string(r.warnings[i].invariant) + ",\"detail\":" +
           json_string(r.warnings[i].detail) + "}";
  }
  out += "]}";
  return out;
}

}  // namespace mail::sim
