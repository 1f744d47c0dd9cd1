// Scenario files (TOML, docs/SIMULATOR.md). The only toml++ translation unit of the
// simulator (toml++ is slow to compile). Unknown keys are errors, so a typo never turns
// into a silently default knob. toml++ exceptions are caught here and become Results.
// Every error names "FILE:LINE: key: problem", as the server configuration's do.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <limits>
#include <set>
#include <toml++/toml.h>
#include <vector>

#include "core/units.h"
#include "scenario.h"
#include "sim_args.h"
#include "store/user_name.h"

namespace mail::sim {

namespace {

// An error in the file: where (toml++ keeps every node's line and column), which key, and
// what is wrong with it. Rendered "FILE:LINE: key: problem", as app/config.cpp does.
struct Bad {
  toml::source_region where;
  std::string key;
  std::string problem;
};

class Reader {
 public:
  Reader(const toml::table& t, std::string path) : t_(t), path_(std::move(path)) {}

  // Keys not read by the time done() runs are errors; every key a table knows has been
  // asked for by then, so they are the candidates for "did you mean".
  void done() const {
    for (auto&& [k, v] : t_) {
      if (seen_.count(std::string(k.str())) != 0) continue;
      std::string problem = "unknown key";
      if (auto near = nearest_name(k.str(), known_)) {
        problem += " (did you mean '" + *near + "'?)";
      } else {
        std::string list;
        for (const auto& known : known_) list += (list.empty() ? "" : ", ") + known;
        problem += " (known keys: " + list + ")";
      }
      throw Bad{k.source(), name(k.str()), problem};
    }
  }
  const toml::node* get(std::string_view key) {
    if (seen_.insert(std::string(key)).second) known_.emplace_back(key);
    return t_.get(key);
  }
  std::string name(std::string_view key) const { return path_.empty() ? std::string(key) : path_ + "." + std::string(key); }
  [[noreturn]] void reject(const toml::node& n, std::string_view key, std::string problem) const {
    throw Bad{n.source(), name(key), std::move(problem)};
  }

  // An integer in [min, max]; by default whatever `Int` holds from 0 up, so a value never
  // wraps into the field.
  template <class Int>
  void integer(std::string_view key, Int& out, std::int64_t min = 0,
               std::int64_t max = static_cast<std::int64_t>(std::min<std::uint64_t>(
                   std::numeric_limits<Int>::max(), std::numeric_limits<std::int64_t>::max()))) {
    if (const auto* n = get(key)) {
      if (!n->is_integer()) reject(*n, key, "must be an integer");
      const std::int64_t v = *n->value<std::int64_t>();
      if (v < min || v > max) {
        reject(*n, key,
               "must be between " + std::to_string(min) + " and " + std::to_string(max) + " (got " +
                   std::to_string(v) + ")");
      }
      out = static_cast<Int>(v);
    }
  }
  // Parts per million: 0..1000000.
  void ppm(std::string_view key, std::uint32_t& out) { integer(key, out, 0, 1'000'000); }
  void boolean(std::string_view key, bool& out) {
    if (const auto* n = get(key)) {
      if (!n->is_boolean()) reject(*n, key, "must be true or false");
      out = *n->value<bool>();
    }
  }
  void string(std::string_view key, std::string& out) {
    if (const auto* n = get(key)) {
      if (!n->is_string()) reject(*n, key, "must be a string");
      out = *n->value<std::string>();
    }
  }
  // A string for parse_duration (core/units.h); its reason (e.g. overflow) joins the error.
  static Duration duration_of(const toml::node& n, const std::string& what) {
    const std::string usage = "must be a duration like \"500ms\", \"30s\", \"5m\"";
    if (!n.is_string()) throw Bad{n.source(), what, usage};
    auto d = parse_duration(*n.value<std::string>());
    if (!d) throw Bad{n.source(), what, usage + " (" + d.error().detail + ")"};
    return *d;
  }
  void duration(std::string_view key, Duration& out) {
    if (const auto* n = get(key)) out = duration_of(*n, name(key));
  }
  void duration_range(std::string_view key, DurationRange& out) {
    if (const auto* n = get(key)) out = duration_range_of(*n, name(key));
  }
  void optional_duration_range(std::string_view key, std::optional<DurationRange>& out) {
    if (const auto* n = get(key)) {
      if (auto s = n->value<std::string>(); s && *s == "none") {
        out.reset();
        return;
      }
      out = duration_range_of(*n, name(key));
    }
  }
  static DurationRange duration_range_of(const toml::node& n, const std::string& what) {
    const auto* a = n.as_array();
    if (a == nullptr || a->size() != 2) throw Bad{n.source(), what, "must be [min, max] durations (or \"none\")"};
    DurationRange r{duration_of(*a->get(0), what), duration_of(*a->get(1), what)};
    if (r.min > r.max) throw Bad{n.source(), what, "min > max"};
    return r;
  }
  // [min, max] non-negative integers; returns the node, for checks the caller adds.
  const toml::node* range(std::string_view key, Range& out) {
    const auto* n = get(key);
    if (n == nullptr) return nullptr;
    const auto* a = n->as_array();
    const toml::node* first = a != nullptr && a->size() == 2 ? a->get(0) : nullptr;
    const toml::node* second = a != nullptr && a->size() == 2 ? a->get(1) : nullptr;
    auto lo = first != nullptr && first->is_integer() ? first->value<std::int64_t>() : std::nullopt;
    auto hi = second != nullptr && second->is_integer() ? second->value<std::int64_t>() : std::nullopt;
    if (!lo || !hi || *lo < 0 || *hi < *lo) reject(*n, key, "must be [min, max] integers, 0 <= min <= max");
    out = Range{static_cast<std::uint64_t>(*lo), static_cast<std::uint64_t>(*hi)};
    return n;
  }
  // Latency: [min, max] or {min, max, slow_ppm, slow_max}.
  void latency(std::string_view key, Latency& out) {
    const auto* n = get(key);
    if (n == nullptr) return;
    if (n->is_array()) {
      const DurationRange r = duration_range_of(*n, name(key));
      out = Latency{r.min, r.max, 0, Duration(0)};
      return;
    }
    const auto* t = n->as_table();
    if (t == nullptr) reject(*n, key, "must be [min, max] or a table {min, max, slow_ppm, slow_max}");
    Reader r(*t, name(key));
    r.duration("min", out.min);
    r.duration("max", out.max);
    r.integer("slow_ppm", out.slow_ppm);
    r.duration("slow_max", out.slow_max);
    r.done();
    if (out.min > out.max) reject(*n, key, "min > max");
  }
  const toml::table* table(std::string_view key) {
    const auto* n = get(key);
    if (n == nullptr) return nullptr;
    const auto* t = n->as_table();
    if (t == nullptr) reject(*n, key, "must be a table");
    return t;
  }

 private:
  const toml::table& t_;
  std::string path_;
  std::set<std::string> seen_;
  std::vector<std::string> known_;  // seen_ in the order the reader asked, for messages
};

// A reply line of a personality ("450 4.7.1 text", personality.h).
void reply_of(Reader& r, std::string_view key, std::optional<smtp::Reply>& out) {
  if (const auto* n = r.get(key)) {
    if (!n->is_string()) r.reject(*n, key, "must be a string like \"450 4.7.1 Try again later\"");
    auto reply = parse_personality_reply(*n->value<std::string>());
    if (!reply.ok()) r.reject(*n, key, reply.error().detail);
    out = std::move(*reply);
  }
}

void read_stage(const toml::table& t, const std::string& path, StagePersonality& sp) {
  Reader r(t, path);
  reply_of(r, "reply", sp.reply);
  r.ppm("reply_ppm", sp.reply_ppm);
  if (const auto* n = r.get("delay")) {
    const DurationRange d = Reader::duration_range_of(*n, r.name("delay"));
    sp.delay_min = d.min;
    sp.delay_max = d.max;
    if (sp.delay_ppm == 0) sp.delay_ppm = 1'000'000;  // a delay given is a delay meant
  }
  r.ppm("delay_ppm", sp.delay_ppm);
  r.ppm("silent_ppm", sp.silent_ppm);
  r.ppm("garble_ppm", sp.garble_ppm);
  if (const auto* n = r.get("garble")) {
    const auto* a = n->as_array();
    const std::string usage = "must be an array of \"corrupt\", \"split\", \"endless\", \"long_line\"";
    if (a == nullptr || a->empty()) r.reject(*n, "garble", usage);
    sp.garble.clear();
    for (const auto& e : *a) {
      auto g = e.is_string() ? garble_from_string(*e.value<std::string>()) : std::nullopt;
      if (!g) r.reject(e, "garble", usage);
      sp.garble.push_back(*g);
    }
  }
  r.done();
}

void read_personality(const toml::table& t, const std::string& path, Personality& p) {
  Reader r(t, path);
  r.boolean("greylist", p.greylist);
  r.duration("greylist_delay", p.greylist_delay);
  r.ppm("drop_after_dot_ppm", p.drop_after_dot_ppm);
  r.boolean("starttls", p.starttls);
  for (std::size_t i = 0; i < kStageCount; ++i) {
    const auto stage = static_cast<Stage>(i);
    if (const auto* st = r.table(to_string(stage))) read_stage(*st, r.name(to_string(stage)), p.at(stage));
  }
  r.done();
}

// An array of strings (trusted_networks).
std::vector<std::string> strings_of(Reader& r, const toml::node& n, std::string_view key) {
  const auto* a = n.as_array();
  if (a == nullptr) r.reject(n, key, "must be an array of strings");
  std::vector<std::string> out;
  for (auto&& e : *a) {
    if (!e.is_string()) r.reject(e, key, "must be strings");
    out.push_back(*e.value<std::string>());
  }
  return out;
}

// The per-MTA relay keys, named as in the server configuration ([relay] trusted_networks
// and [[relay.routes]], [queue] first_retry/max_retry/lifetime/delay_warning), in
// [relay] (every host) or [hosts.NAME.relay] (that host).
void read_relay_host(Reader& r, RelayHost& h, bool per_host) {
  if (per_host) {
    r.string("domain", h.domain);
    r.boolean("unreachable", h.unreachable);
  }
  if (const auto* n = r.get("trusted_networks")) {
    h.trusted_networks = strings_of(r, *n, "trusted_networks");
    for (const auto& net : h.trusted_networks) {
      if (!parse_cidr(net)) r.reject(*n, "trusted_networks", "'" + net + "' is not an address or CIDR (e.g. \"10.0.2.0/24\")");
    }
  }
  if (const auto* n = r.get("routes")) {
    const auto* a = n->as_array();
    if (a == nullptr) r.reject(*n, "routes", "must be an array of tables {domain, host, port}");
    h.routes.clear();
    for (auto&& e : *a) {
      const auto* t = e.as_table();
      if (t == nullptr) r.reject(e, "routes", "must be tables {domain, host, port}");
      Reader rr(*t, r.name("routes"));
      node::StaticRoute route;
      rr.string("domain", route.domain);
      rr.string("host", route.host);
      rr.integer("port", route.port, 1, 65535);
      rr.done();
      if (route.domain.empty() || route.host.empty()) r.reject(e, "routes", "needs domain and host");
      h.routes.push_back(std::move(route));
    }
  }
  r.duration("first_retry", h.retry.first);
  r.integer("retry_factor", h.retry.factor, 1, 100);
  r.duration("max_retry", h.retry.max);
  r.duration("lifetime", h.retry.lifetime);
  r.duration("delay_warning", h.retry.delay_warning);
}

// [imap]: the IMAP sessions of imap-concurrent (scenario.h ImapScenario, imap_workload.h),
// with [imap.mix] the relative weights of their operations. A scenario without IMAP gets
// one (the defaults of ImapWorkloadConfig, no index loss) when the file has the table.
void read_imap(Reader& r, const toml::table& t, Scenario& s) {
  Reader im(t, r.name("imap"));
  if (!s.imap) s.imap = ImapScenario{};
  ImapScenario& c = *s.imap;
  ImapWorkloadConfig& w = c.workload;
  im.integer("servers", c.servers, 1, 200);
  im.string("user", w.user);
  im.integer("sessions", w.sessions);
  im.duration_range("session_start", w.session_start);
  im.range("ops_per_session", w.ops_per_session);
  if (const auto* n = im.get("folders")) {
    std::string list;
    for (auto f : kImapAccountFolders) list += (list.empty() ? "" : ", ") + std::string(f);
    const std::string usage = "must be a non-empty array of folders every account has (" + list + ")";
    const auto* a = n->as_array();
    if (a == nullptr || a->empty()) im.reject(*n, "folders", usage);
    w.folders.clear();
    for (const auto& e : *a) {
      const auto f = e.value<std::string>();
      if (!f) im.reject(e, "folders", usage);
      const auto* known = std::find(std::begin(kImapAccountFolders), std::end(kImapAccountFolders), *f);
      if (known == std::end(kImapAccountFolders)) {
        // INBOX is read, flagged and IDLEd on by every session anyway; its contents belong
        // to the SMTP checks.
        const std::string why = *f == "INBOX" ? "INBOX belongs to the SMTP checks; " : "";
        im.reject(e, "folders", "'" + *f + "': " + why + usage);
      }
      if (std::find(w.folders.begin(), w.folders.end(), *f) != w.folders.end()) {
        im.reject(e, "folders", "'" + *f + "' twice");
      }
      w.folders.push_back(*f);
    }
  }
  im.range("message_bytes", w.message_bytes);
  im.duration_range("idle", w.idle);
  im.ppm("abrupt_disconnect_ppm", w.abrupt_disconnect_ppm);
  im.integer("liveness_sessions", w.liveness_sessions, 0, 1000);
  im.duration("command_timeout", w.command_timeout);
  im.ppm("index_loss_ppm", c.index_loss_ppm);
  if (const auto* mt = im.table("mix")) {
    Reader m(*mt, im.name("mix"));
    ImapOpMix& x = w.mix;
    constexpr std::int64_t kWeightMax = 1'000'000;
    m.integer("append", x.append, 0, kWeightMax);
    m.integer("fetch", x.fetch, 0, kWeightMax);
    m.integer("store", x.store, 0, kWeightMax);
    m.integer("expunge", x.expunge, 0, kWeightMax);
    m.integer("uid_expunge", x.uid_expunge, 0, kWeightMax);
    m.integer("move", x.move, 0, kWeightMax);
    m.integer("idle", x.idle, 0, kWeightMax);
    m.integer("noop", x.noop, 0, kWeightMax);
    m.integer("status", x.status, 0, kWeightMax);
    m.integer("select", x.select, 0, kWeightMax);
    m.done();
    if (x.total() == 0) im.reject(*im.get("mix"), "mix", "at least one weight must be > 0");
  }
  im.done();
}

// [pop3]: the POP3 sessions of pop3-basic (scenario.h Pop3Scenario, pop3_workload.h). A
// scenario without POP3 gets one (the defaults of Pop3WorkloadConfig, no update crashes)
// when the file has the table.
void read_pop3(Reader& r, const toml::table& t, Scenario& s) {
  Reader pr(t, r.name("pop3"));
  if (!s.pop3) s.pop3 = Pop3Scenario{};
  Pop3Scenario& c = *s.pop3;
  Pop3WorkloadConfig& w = c.workload;
  pr.string("user", w.user);
  pr.integer("sessions", w.sessions);
  pr.duration_range("session_start", w.session_start);
  pr.range("retrs_per_session", w.retrs_per_session);
  pr.range("deletes_per_session", w.deletes_per_session);
  pr.ppm("rset_ppm", w.rset_ppm);
  pr.ppm("auth_plain_ppm", w.auth_plain_ppm);
  pr.ppm("abrupt_disconnect_ppm", w.abrupt_disconnect_ppm);
  pr.duration_range("think", w.think);
  pr.integer("liveness_sessions", w.liveness_sessions, 0, 1000);
  pr.duration("command_timeout", w.command_timeout);
  pr.ppm("update_crash_ppm", c.update_crash_ppm);
  pr.ppm("update_crash_at_sync_ppm", c.update_crash_at_sync_ppm);
  pr.duration_range("update_crash_delay", c.update_crash_delay);
  pr.done();
}

// What the POP3 sessions need of the rest of the scenario, once every table is read.
void check_pop3_needs(const toml::table& root, const Scenario& s) {
  const auto where = [&root](std::string_view key) -> const toml::node& {
    if (const auto* t = root.get_as<toml::table>("pop3")) {
      if (const auto* n = t->get(key)) return *n;
      return *t;
    }
    return root;
  };
  const Pop3Scenario& c = *s.pop3;
  if (!s.tls) throw Bad{where("").source(), "pop3", "needs tls = true (the sessions use implicit TLS)"};
  if (s.logins.empty()) {
    throw Bad{where("").source(), "pop3", "needs submission.logins (the sessions log in as one of them)"};
  }
  if (!c.workload.user.empty()) {
    bool found = false;
    for (const auto& l : s.logins) found = found || l.name == c.workload.user;
    if (!found) {
      throw Bad{where("user").source(), "pop3.user", "'" + c.workload.user + "' is not in submission.logins"};
    }
  }
}

// What the IMAP sessions need of the rest of the scenario, once every table is read.
void check_imap(const toml::table& root, const Scenario& s) {
  const auto where = [&root](std::string_view key) -> const toml::node& {
    if (const auto* t = root.get_as<toml::table>("imap")) {
      if (const auto* n = t->get(key)) return *n;
      return *t;
    }
    return root;
  };
  const ImapScenario& c = *s.imap;
  if (!s.tls) throw Bad{where("").source(), "imap", "needs tls = true (the sessions use implicit TLS)"};
  if (s.logins.empty()) {
    throw Bad{where("").source(), "imap", "needs submission.logins (the sessions LOGIN as one of them)"};
  }
  if (!c.workload.user.empty()) {
    bool found = false;
    for (const auto& l : s.logins) found = found || l.name == c.workload.user;
    if (!found) {
      throw Bad{where("user").source(), "imap.user", "'" + c.workload.user + "' is not in submission.logins"};
    }
  }
  if (c.servers > s.servers) {
    const std::string n = std::to_string(c.servers);
    throw Bad{where("servers").source(), "imap.servers",
              n + " IMAP server hosts, but the scenario has servers = " + std::to_string(s.servers)};
  }
}

void read_scenario(const toml::table& root, Scenario& s) {
  Reader r(root, "");
  std::string base;
  r.string("base", base);
  if (!base.empty()) {
    auto b = builtin_scenario(base);
    if (!b) {
      std::string problem = "no built-in scenario named '" + base + "'";
      if (auto near = nearest_name(base, builtin_scenario_names())) problem += " (did you mean '" + *near + "'?)";
      r.reject(*root.get("base"), "base", problem);
    }
    s = *b;
  } else {
    s = *builtin_scenario("smtp-basic");
  }
  r.string("name", s.name);
  r.string("description", s.description);
  r.integer("servers", s.servers, 1, 200);
  r.integer("client_hosts", s.client_hosts, 1, 200);
  r.boolean("provision_data_dir", s.provision_data_dir);
  r.boolean("strict_refusals", s.strict_refusals);
  r.boolean("tls", s.tls);

  if (const auto* t = r.table("directory")) {
    Reader d(*t, "directory");
    if (const auto* n = d.get("domains")) {
      const auto* a = n->as_array();
      if (a == nullptr || a->empty()) d.reject(*n, "domains", "must be a non-empty array of strings");
      s.server.directory.domains.clear();
      for (const auto& e : *a) {
        if (!e.is_string()) d.reject(e, "domains", "must be strings");
        s.server.directory.domains.push_back(*e.value<std::string>());
      }
    }
    if (const auto* n = d.get("users")) {
      const auto* a = n->as_array();
      if (a == nullptr || a->empty()) d.reject(*n, "users", "must be a non-empty array");
      s.server.directory.users.clear();
      for (const auto& e : *a) {
        store::UserConfig u;
        if (e.is_string()) {
          u.name = *e.value<std::string>();
        } else if (const auto* ut = e.as_table()) {
          Reader ur(*ut, "directory.users[]");
          ur.string("name", u.name);
          if (const auto* al = ur.get("aliases")) {
            const auto* aa = al->as_array();
            if (aa == nullptr) ur.reject(*al, "aliases", "must be an array of strings");
            for (const auto& x : *aa) {
              if (!x.is_string()) ur.reject(x, "aliases", "must be strings");
              u.aliases.push_back(*x.value<std::string>());
            }
          }
          ur.done();
        } else {
          d.reject(e, "users", "must be names or tables {name, aliases}");
        }
        if (!store::is_valid_user_name(u.name)) {
          d.reject(e, "users", "'" + u.name + "' must be " + std::string(store::kUserNameRule));
        }
        for (const auto& alias : u.aliases) {
          if (!store::is_valid_alias(alias)) d.reject(e, "users", "'" + alias + "' must be " + std::string(store::kAliasRule));
        }
        s.server.directory.users.push_back(std::move(u));
      }
    }
    d.string("data_dir", s.server.data_dir);
    d.done();
  }

  if (const auto* t = r.table("workload")) {
    Reader w(*t, "workload");
    auto& c = s.workload;
    w.integer("sessions", c.sessions);
    w.duration_range("session_start", c.session_start);
    const auto* transactions = w.range("transactions_per_session", c.transactions_per_session);
    if (transactions != nullptr && c.transactions_per_session.max == 0) {
      w.reject(*transactions, "transactions_per_session", "must allow >= 1");
    }
    w.range("recipients", c.recipients);
    w.range("message_bytes", c.message_bytes);
    w.ppm("pipelining_ppm", c.pipelining_ppm);
    w.ppm("chunking_ppm", c.chunking_ppm);
    w.ppm("starttls_ppm", c.starttls_ppm);
    w.ppm("submission_ppm", c.submission_ppm);
    w.ppm("bad_password_ppm", c.bad_password_ppm);
    w.ppm("no_auth_ppm", c.no_auth_ppm);
    w.ppm("scram_ppm", c.scram_ppm);
    w.ppm("abrupt_disconnect_ppm", c.abrupt_disconnect_ppm);
    w.ppm("unknown_recipient_ppm", c.unknown_recipient_ppm);
    w.ppm("dot_line_ppm", c.dot_line_ppm);
    w.ppm("eight_bit_ppm", c.eight_bit_ppm);
    w.ppm("smtputf8_ppm", c.smtputf8_ppm);
    w.integer("liveness_sessions", c.liveness_sessions);
    w.duration("connect_timeout", c.connect_timeout);
    w.done();
  }

  if (const auto* t = r.table("submission")) {
    Reader sub(*t, "submission");
    std::uint32_t port = s.server.submission_port;
    sub.integer("port", port, 1, 65535);
    s.server.submission_port = static_cast<std::uint16_t>(port);
    if (const auto* n = sub.get("logins")) {
      const std::string usage = "must be an array of { name, password } tables";
      const auto* a = n->as_array();
      if (a == nullptr) sub.reject(*n, "logins", usage);
      s.logins.clear();
      for (const auto& e : *a) {
        const auto* lt = e.as_table();
        if (lt == nullptr) sub.reject(e, "logins", usage);
        Reader lr(*lt, "submission.logins[]");
        SubmissionUser u;
        lr.string("name", u.name);
        lr.string("password", u.password);
        lr.done();
        if (!store::is_valid_user_name(u.name)) sub.reject(e, "logins", "'" + u.name + "' must be " + std::string(store::kUserNameRule));
        if (u.password.find('\0') != std::string::npos) sub.reject(e, "logins", "a password holds a NUL");
        s.logins.push_back(std::move(u));
      }
    }
    sub.done();
  }

  if (const auto* t = r.table("phases")) {
    Reader p(*t, "phases");
    p.duration("faults", s.fault_phase);
    p.duration("settle", s.settle);
    p.duration("drain", s.drain_phase);
    p.integer("max_steps", s.max_steps);
    p.done();
  }

  if (const auto* t = r.table("net")) {
    Reader n(*t, "net");
    auto& c = s.faults.net;
    n.latency("latency", c.latency);
    n.integer("segment_bytes_max", c.segment_bytes_max, 1);
    n.ppm("split_ppm", c.split_ppm);
    n.ppm("bytewise_ppm", c.bytewise_ppm);
    n.ppm("stall_ppm", c.stall_ppm);
    n.latency("stall", c.stall);
    n.ppm("reset_ppm", c.reset_ppm);
    n.integer("reset_offset_max", c.reset_offset_max);
    n.integer("window_bytes", c.window_bytes, 1);
    n.integer("backlog_max", c.backlog_max);
    n.duration("syn_retry", c.syn_retry);
    n.duration("retransmit", c.retransmit);
    n.duration("give_up", c.give_up);
    n.boolean("crash_sends_reset", c.crash_sends_reset);
    n.done();
  }

  if (const auto* t = r.table("disk")) {
    Reader d(*t, "disk");
    auto& c = s.faults.disk;
    d.latency("latency", c.latency);
    d.latency("sync_latency", c.sync_latency);
    d.ppm("read_eio_ppm", c.read_eio_ppm);
    d.ppm("write_eio_ppm", c.write_eio_ppm);
    d.ppm("sync_eio_ppm", c.sync_eio_ppm);
    d.integer("quota_bytes", c.quota_bytes);
    d.ppm("tear_ppm", c.tear_ppm);
    d.done();
  }

  if (const auto* t = r.table("faults")) {
    Reader f(*t, "faults");
    auto& c = s.faults;
    f.optional_duration_range("crash_interval", c.crash_interval);
    f.duration_range("downtime", c.downtime);
    f.ppm("crash_after_sync_ppm", c.crash_after_sync_ppm);
    f.ppm("crash_after_ack_ppm", c.crash_after_ack_ppm);
    f.optional_duration_range("partition_interval", c.partition_interval);
    f.duration_range("partition_duration", c.partition_duration);
    f.ppm("one_way_partition_ppm", c.one_way_partition_ppm);
    f.boolean("buggify", c.buggify);
    f.done();
  }
  if (const auto* t = r.table("imap")) read_imap(r, *t, s);
  if (const auto* t = r.table("pop3")) read_pop3(r, *t, s);
  // [relay]: the servers are relaying MTAs; its host keys apply to every host, then
  // [hosts.NAME.relay] (below) to one.
  std::optional<RelayHost> relay_defaults;
  if (const auto* t = r.table("relay")) {
    Reader rl(*t, "relay");
    if (!s.relay) s.relay = RelayScenario{};
    RelayHost d = s.relay->hosts.empty() ? RelayHost{} : s.relay->hosts.front();
    d.domain.clear();
    d.unreachable = false;
    std::vector<std::string> domains;
    if (const auto* n = rl.get("domains")) domains = strings_of(rl, *n, "domains");
    read_relay_host(rl, d, false);
    rl.ppm("remote_recipient_ppm", s.relay->remote_recipient_ppm);
    rl.ppm("notify_success_ppm", s.relay->notify_success_ppm);
    rl.ppm("dns_servfail_ppm", s.relay->dns_servfail_ppm);
    rl.ppm("dns_timeout_ppm", s.relay->dns_timeout_ppm);
    rl.ppm("server_partition_ppm", s.relay->server_partition_ppm);
    rl.done();
    s.relay->hosts.resize(std::max<std::size_t>(s.servers, domains.size()), d);
    for (std::size_t i = 0; i < s.relay->hosts.size(); ++i) {
      const std::string domain = i < domains.size() ? domains[i] : s.relay->hosts[i].domain;
      const bool unreachable = s.relay->hosts[i].unreachable;
      s.relay->hosts[i] = d;
      s.relay->hosts[i].domain = domain;
      s.relay->hosts[i].unreachable = unreachable;
    }
    relay_defaults = d;
  }
  if (s.relay) s.relay->hosts.resize(s.servers, relay_defaults.value_or(RelayHost{}));
  if (const auto* t = r.table("hosts")) {
    Reader h(*t, "hosts");
    for (auto&& [k, v] : *t) {
      const std::string host(k.str());
      const auto* ht = h.table(host);
      Reader hr(*ht, h.name(host));
      // Server hosts are mx1..mxN (scenario.h); a personality belongs to one of them.
      bool known = false;
      for (std::uint32_t i = 1; i <= s.servers; ++i) known = known || host == "mx" + std::to_string(i);
      if (!known) h.reject(v, host, "no server host of that name (servers are mx1..mx" + std::to_string(s.servers) + ")");
      if (const auto* pt = hr.table("personality")) {
        Personality p;
        read_personality(*pt, hr.name("personality"), p);
        s.personalities[host] = std::move(p);
      }
      if (const auto* rt = hr.table("relay")) {
        if (!s.relay) hr.reject(v, "relay", "needs a [relay] table (the servers are relaying MTAs)");
        Reader rr(*rt, hr.name("relay"));
        read_relay_host(rr, s.relay->hosts.at(std::stoul(host.substr(2)) - 1), true);
        rr.done();
      }
      hr.done();
    }
    h.done();
  }
  r.done();
  if (s.relay) {
    std::set<std::string> seen;
    for (std::size_t i = 0; i < s.relay->hosts.size(); ++i) {
      RelayHost& h = s.relay->hosts[i];
      const std::string where = "hosts.mx" + std::to_string(i + 1) + ".relay";
      h.domain = smtp::canonical_domain(h.domain);
      if (h.domain.empty()) throw Bad{root.source(), where + ".domain", "every relaying host needs a domain (relay.domains)"};
      if (!seen.insert(h.domain).second) throw Bad{root.source(), where + ".domain", "'" + h.domain + "' belongs to two hosts"};
      if (auto ok = smtp::validate(h.retry); !ok) throw Bad{root.source(), where, ok.error().detail};
    }
  }
  if (s.imap) check_imap(root, s);
  if (s.pop3) check_pop3_needs(root, s);
  if (s.workload.submission_ppm > 0) {
    // Submission sessions log in (PLAIN only inside TLS) with these logins.
    const toml::node& where = root;
    if (!s.tls) throw Bad{where.source(), "workload.submission_ppm", "needs tls = true"};
    if (s.server.submission_port == 0) throw Bad{where.source(), "workload.submission_ppm", "needs submission.port"};
    if (s.logins.empty()) throw Bad{where.source(), "workload.submission_ppm", "needs submission.logins"};
  }
}

// "FILE:LINE: key: problem", the shape of the server configuration's errors (app/config.cpp).
std::string located(std::string_view origin, const toml::source_region& where, std::string_view key,
                    std::string_view problem) {
  std::string text(origin);
  if (where.begin.line > 0) text += ":" + std::to_string(where.begin.line);
  text += ": ";
  if (!key.empty()) text += std::string(key) + ": ";
  text += problem;
  return text;
}

}  // namespace

Result<Scenario> parse_scenario_toml(std::string_view text, std::string_view origin) {
  try {
    toml::table root = toml::parse(text, origin);
    Scenario s;
    read_scenario(root, s);
    return s;
  } catch (const toml::parse_error& e) {
    // A syntax error also has a column worth pointing at: "FILE:LINE:COLUMN: TOML syntax: ...".
    std::string msg(origin);
    if (e.source().begin.line > 0) {
      msg += ":" + std::to_string(e.source().begin.line) + ":" + std::to_string(e.source().begin.column);
    }
    msg += ": TOML syntax: " + std::string(e.description());
    return fail(Errc::invalid, std::move(msg));
  } catch (const Bad& b) {
    return fail(Errc::invalid, located(origin, b.where, b.key, b.problem));
  }
}

Result<Personality> parse_personality_toml(std::string_view text, std::string_view origin) {
  try {
    toml::table root = toml::parse(text, origin);
    Personality p;
    read_personality(root, "", p);
    return p;
  } catch (const toml::parse_error& e) {
    return fail(Errc::invalid, std::string(origin) + ": TOML syntax: " + std::string(e.description()));
  } catch (const Bad& b) {
    return fail(Errc::invalid, located(origin, b.where, b.key, b.problem));
  }
}

Result<Scenario> load_scenario_file(const std::string& path) {
  // stdio, not a stream, so the error can say why (errno): missing, a directory, no access.
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return fail(error_from_errno(errno, "cannot read scenario file " + path));
  std::string text;
  char buf[8192];
  std::size_t got = 0;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, got);
  const int err = std::ferror(f) != 0 ? errno : 0;
  std::fclose(f);
  if (err != 0) return fail(error_from_errno(err, "cannot read scenario file " + path));
  return parse_scenario_toml(text, path);
}

}  // namespace mail::sim
