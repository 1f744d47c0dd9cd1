// The POP3 workload: plans and the scripted client sessions (see pop3_workload.h).
#include "pop3_workload.h"

#include <algorithm>
#include <span>

#include "imap_workload.h"  // header_sim_id
#include "node/smtp_client_connection.h"
#include "pop3_client.h"
#include "proto/sasl/base64.h"
#include "runtime/await.h"
#include "sim_connect_tls.h"
#include "sim_env.h"
#include "sim_tls.h"
#include "spawn_sessions.h"

namespace mail::sim {

std::string_view to_string(Pop3SessionRecord::End e) noexcept {
  switch (e) {
    case Pop3SessionRecord::End::not_started: return "not_started";
    case Pop3SessionRecord::End::login_failed: return "login_failed";
    case Pop3SessionRecord::End::in_use: return "in_use";
    case Pop3SessionRecord::End::aborted: return "aborted";
    case Pop3SessionRecord::End::update_unknown: return "update_unknown";
    case Pop3SessionRecord::End::update_failed: return "update_failed";
    case Pop3SessionRecord::End::committed: return "committed";
  }
  return "?";
}

std::vector<Pop3SessionPlan> plan_pop3_sessions(Prng& rng, const Pop3WorkloadConfig& config, std::uint32_t count,
                                                std::uint32_t first_index, const std::vector<HostId>& clients,
                                                const std::vector<rt::Endpoint>& servers, bool liveness) {
  MAIL_ASSERT(!clients.empty());
  MAIL_ASSERT(!servers.empty());
  std::vector<Pop3SessionPlan> plans;
  for (std::uint32_t i = 0; i < count; ++i) {
    Pop3SessionPlan p;
    p.index = first_index + i;
    p.liveness = liveness;
    p.client = clients[rng.below(clients.size())];
    p.server = servers[rng.below(servers.size())];
    if (liveness) p.server = servers[i % servers.size()];
    p.server.port = config.port;
    p.start = liveness ? Duration(static_cast<std::int64_t>(rng.below(1'000'000))) : config.session_start.draw(rng);
    p.rng_seed = rng.next_u64();
    p.auth_plain = rng.chance_ppm(config.auth_plain_ppm);
    p.retrs = static_cast<std::uint32_t>(config.retrs_per_session.draw(rng));
    p.deletes = static_cast<std::uint32_t>(config.deletes_per_session.draw(rng));
    p.rset = rng.chance_ppm(config.rset_ppm);
    p.abrupt = rng.chance_ppm(config.abrupt_disconnect_ppm);
    // Drawn only when configured, so scenarios without a pause draw what they drew before.
    if (config.think.max > Duration(0)) p.think = config.think.draw(rng);
    if (liveness) {
      p.think = Duration(0);  // reads everything, deletes nothing, QUITs
      p.deletes = 0;
      p.rset = false;
      p.abrupt = false;
    }
    plans.push_back(std::move(p));
  }
  return plans;
}

namespace {

struct Session {
  Session(rt::Env& e, const Pop3SessionPlan& p, const Pop3WorkloadConfig& c, Pop3Ledger& l, SessionStats& st,
          std::size_t rec)
      : env(e), plan(p), config(c), ledger(l), stats(st), record(rec), tag("pop3-session=" + std::to_string(p.index)),
        rng(p.rng_seed), buf(16 * 1024) {}
  rt::Env& env;
  const Pop3SessionPlan& plan;
  const Pop3WorkloadConfig& config;
  Pop3Ledger& ledger;
  SessionStats& stats;
  std::size_t record;  // index into ledger.sessions (the vector grows while we wait)
  std::string tag;
  Prng rng;
  std::vector<std::byte> buf;
  std::unique_ptr<rt::Stream> stream;
  Pop3Client client;
  bool dead = false;

  Pop3SessionRecord& rec() { return ledger.sessions[record]; }
  Instant now() const { return env.clock().now(); }
  void log(const std::string& what) { env.log().write(rt::LogLevel::info, tag + " " + what); }
  void problem(const std::string& what) { ledger.problems.push_back(tag + ": " + what); }
  void close() {
    if (stream) stream->close();
    dead = true;
  }
};

rt::Task<bool> send(Session& s, std::string bytes) {
  if (s.dead) co_return false;
  const std::span<const std::byte> out = std::as_bytes(std::span<const char>(bytes.data(), bytes.size()));
  const Instant deadline = s.now() + s.config.command_timeout;
  auto written = co_await rt::write_all(*s.stream, out, deadline);
  if (!written) {
    s.log("write failed: " + std::string(to_string(written.code())));
    s.close();
    co_return false;
  }
  co_return true;
}

rt::Task<std::optional<Pop3Response>> next_response(Session& s) {
  const Instant deadline = s.now() + s.config.command_timeout;
  for (;;) {
    if (auto r = s.client.poll()) co_return r;
    if (!s.client.error().empty()) {
      s.problem(s.client.error());
      s.close();
      co_return std::nullopt;
    }
    if (s.dead) co_return std::nullopt;
    auto n = co_await rt::read_some(*s.stream, std::span<std::byte>(s.buf), deadline);
    if (!n) {
      s.log("read: " + std::string(to_string(n.code())));
      s.close();
      co_return std::nullopt;
    }
    s.client.feed(std::string_view(reinterpret_cast<const char*>(s.buf.data()), *n));
  }
}

rt::Task<std::optional<Pop3Response>> exchange(Session& s, std::string line, bool multiline) {
  std::string bytes = s.client.command(line, multiline);
  if (!co_await send(s, std::move(bytes))) co_return std::nullopt;
  auto r = co_await next_response(s);
  co_return r;
}

rt::Task<bool> login(Session& s) {
  if (!co_await connect_tls(s)) co_return false;
  auto greeting = co_await next_response(s);
  if (!greeting) co_return false;
  if (!greeting->ok) {
    s.log("greeting: -ERR " + greeting->text.substr(0, 80));
    s.close();
    co_return false;
  }
  s.rec().login_sent = s.ledger.tick();
  std::optional<Pop3Response> r;
  if (s.plan.auth_plain) {
    // RFC 5034 §4: AUTH with an initial response (RFC 4616 PLAIN: authzid NUL authcid NUL passwd).
    std::string creds;
    creds += '\0';
    creds += s.config.user;
    creds += '\0';
    creds += s.config.password;
    r = co_await exchange(s, "AUTH PLAIN " + sasl::base64_encode(creds), false);
  } else {
    auto u = co_await exchange(s, "USER " + s.config.user, false);
    if (u && u->ok) r = co_await exchange(s, "PASS " + s.config.password, false);
    if (u && !u->ok) r = u;
  }
  if (!r) co_return false;
  s.rec().login_received = s.ledger.tick();
  if (!r->ok) {
    s.rec().reply = "-ERR " + r->text.substr(0, 100);
    if (r->text.starts_with("[IN-USE]")) {
      s.rec().end = Pop3SessionRecord::End::in_use;
      ++s.ledger.in_use;
    } else {
      s.rec().end = Pop3SessionRecord::End::login_failed;
      s.problem("login refused: " + s.rec().reply);
    }
    std::optional<Pop3Response> q = co_await exchange(s, "QUIT", false);
    (void)q;
    s.close();
    co_return false;
  }
  s.rec().end = Pop3SessionRecord::End::aborted;  // until QUIT is sent
  ++s.stats.authenticated_sessions;
  co_return true;
}

rt::Task<void> transaction(Session& s) {
  // STAT, then the snapshot (UIDL, LIST): RFC 1939 §5 and §7.
  auto stat = co_await exchange(s, "STAT", false);
  if (!stat) co_return;
  if (!stat->ok) s.problem("STAT: -ERR " + stat->text.substr(0, 80));
  auto uidl = co_await exchange(s, "UIDL", true);
  if (!uidl) co_return;
  auto list = co_await exchange(s, "LIST", true);
  if (!list) co_return;
  auto uidls = parse_pop3_listing(uidl->body);
  auto sizes = parse_pop3_listing(list->body);
  if (!uidl->ok || !list->ok || !uidls || !sizes || uidls->size() != sizes->size()) {
    s.problem("UIDL/LIST answers do not match: " + uidl->text.substr(0, 60) + " / " + list->text.substr(0, 60));
    s.close();
    co_return;
  }
  const std::size_t n = uidls->size();
  std::vector<std::uint64_t> size_of(n);
  for (std::size_t i = 0; i < n; ++i) {
    if ((*uidls)[i].msg != i + 1 || (*sizes)[i].msg != i + 1) {
      s.problem("UIDL/LIST message numbers are not 1..n");
      s.close();
      co_return;
    }
    size_of[i] = std::strtoull((*sizes)[i].value.c_str(), nullptr, 10);
    s.rec().snapshot.emplace_back((*uidls)[i].value, size_of[i]);
  }
  if (stat->ok) {
    const std::string want = std::to_string(n) + " ";
    if (!stat->text.starts_with(want)) s.problem("STAT " + stat->text + " but LIST has " + std::to_string(n) + " messages");
  }
  if (s.plan.think > Duration(0)) {
    auto timer = s.env.clock().make_timer();
    auto slept = co_await rt::sleep_until(*timer, s.now() + s.plan.think);
    (void)slept;
  }
  // Which messages: RETRs first, then DELEs (each one RETRed first, for its X-Sim-Id).
  std::vector<std::uint32_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::uint32_t>(i + 1);
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[s.rng.below(i)]);
  std::vector<std::uint32_t> retr, dele;
  const std::size_t want_retr = s.plan.liveness ? n : std::min<std::size_t>(s.plan.retrs, n);
  for (std::size_t i = 0; i < want_retr; ++i) retr.push_back(order[i]);
  for (std::size_t i = 0; i < std::min<std::size_t>(s.plan.deletes, n); ++i) {
    const std::uint32_t m = order[n - 1 - i];
    dele.push_back(m);
    if (std::find(retr.begin(), retr.end(), m) == retr.end()) retr.push_back(m);
  }
  std::map<std::uint32_t, std::string> sim_of;
  for (std::uint32_t m : retr) {
    Pop3Retr o;
    o.sent = s.ledger.tick();
    auto r = co_await exchange(s, "RETR " + std::to_string(m), true);
    if (!r) co_return;
    if (!r->ok) {
      s.problem("RETR " + std::to_string(m) + ": -ERR " + r->text.substr(0, 80));
      continue;
    }
    o.received = s.ledger.tick();
    o.server = s.plan.server.address;
    o.session = s.plan.index;
    o.uidl = (*uidls)[m - 1].value;
    o.listed = size_of[m - 1];
    o.content = std::move(r->body);
    o.sim_id = header_sim_id(o.content);
    sim_of[m] = o.sim_id;
    s.ledger.retrs.push_back(std::move(o));
  }
  for (std::uint32_t m : dele) {
    if (sim_of.count(m) == 0) continue;  // its RETR failed: leave it
    auto r = co_await exchange(s, "DELE " + std::to_string(m), false);
    if (!r) co_return;
    if (!r->ok) {
      s.problem("DELE " + std::to_string(m) + ": -ERR " + r->text.substr(0, 80));
      continue;
    }
    ++s.ledger.deles_acked;
    s.rec().marked[(*uidls)[m - 1].value] = sim_of[m];
  }
  if (s.plan.rset && !s.rec().marked.empty()) {
    auto r = co_await exchange(s, "RSET", false);
    if (!r) co_return;  // RSET's effect unknown: still "aborted", nothing may be deleted
    if (r->ok) s.rec().marked.clear();
  }
  auto noop = co_await exchange(s, "NOOP", false);
  if (!noop) co_return;
  if (s.plan.abrupt) {
    s.log("hangs up without QUIT");
    ++s.stats.hung_up;
    s.close();
    co_return;
  }
  s.rec().quit_sent = s.ledger.tick();
  s.rec().end = Pop3SessionRecord::End::update_unknown;
  if (!s.rec().marked.empty() && s.config.on_quit) s.config.on_quit(s.plan.server.address);
  auto q = co_await exchange(s, "QUIT", false);
  if (!q) co_return;
  s.rec().reply = (q->ok ? "+OK " : "-ERR ") + q->text.substr(0, 100);
  s.rec().end = q->ok ? Pop3SessionRecord::End::committed : Pop3SessionRecord::End::update_failed;
  s.close();
}

}  // namespace

rt::Task<void> run_pop3_session(rt::Env& env, Pop3SessionPlan plan, Pop3WorkloadConfig config, Pop3Ledger& ledger,
                                SessionStats& stats) {
  ++stats.started;
  Pop3SessionRecord rec;
  rec.index = plan.index;
  rec.server = plan.server.address;
  rec.liveness = plan.liveness;
  ledger.sessions.push_back(std::move(rec));
  Session s(env, plan, config, ledger, stats, ledger.sessions.size() - 1);
  if (co_await login(s)) co_await transaction(s);
  s.close();
  s.rec().ended = ledger.tick();
  s.log("ended: " + std::string(to_string(s.rec().end)));
  ++stats.finished;
}

void launch_pop3_sessions(World& world, Instant phase_start, std::vector<Pop3SessionPlan> plans,
                          const Pop3WorkloadConfig& config, Pop3Ledger& ledger, SessionStats& stats) {
  spawn_sessions(world, phase_start, std::move(plans), config, ledger, stats, &run_pop3_session);
}

}  // namespace mail::sim
