// Scenario files (TOML, docs/SIMULATOR.md). The only toml++ translation unit of the
// simulator (toml++ is slow to compile). Unknown keys are errors, so a typo never turns
// into a silently default knob. toml++ exceptions are caught here and become Results.
#include <fstream>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "core/units.h"
#include "scenario.h"
#include "store/user_name.h"

namespace mail::sim {

namespace {

struct Bad {
  std::string what;
};

class Reader {
 public:
  Reader(const toml::table& t, std::string path) : t_(t), path_(std::move(path)) {}

  // Keys not read by the time done() runs are errors.
  void done() const {
    for (auto&& [k, v] : t_) {
      if (seen_.count(std::string(k.str())) == 0) throw Bad{"unknown key " + name(k.str())};
    }
  }
  const toml::node* get(std::string_view key) {
    seen_.insert(std::string(key));
    return t_.get(key);
  }
  std::string name(std::string_view key) const { return path_.empty() ? std::string(key) : path_ + "." + std::string(key); }

  template <class Int>
  void integer(std::string_view key, Int& out) {
    if (const auto* n = get(key)) {
      auto v = n->value<std::int64_t>();
      if (!v || *v < 0) throw Bad{name(key) + " must be a non-negative integer"};
      out = static_cast<Int>(*v);
    }
  }
  void boolean(std::string_view key, bool& out) {
    if (const auto* n = get(key)) {
      auto v = n->value<bool>();
      if (!v) throw Bad{name(key) + " must be true or false"};
      out = *v;
    }
  }
  void string(std::string_view key, std::string& out) {
    if (const auto* n = get(key)) {
      auto v = n->value<std::string>();
      if (!v) throw Bad{name(key) + " must be a string"};
      out = *v;
    }
  }
  // A string for parse_duration (core/units.h); its reason (e.g. overflow) joins the error.
  static Duration duration_of(const toml::node& n, const std::string& what) {
    const std::string usage = what + " must be a duration like \"500ms\", \"30s\", \"5m\"";
    auto v = n.value<std::string>();
    if (!v) throw Bad{usage};
    auto d = parse_duration(*v);
    if (!d) throw Bad{usage + " (" + d.error().detail + ")"};
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
    if (a == nullptr || a->size() != 2) throw Bad{what + " must be [min, max] durations (or \"none\")"};
    DurationRange r{duration_of(*a->get(0), what), duration_of(*a->get(1), what)};
    if (r.min > r.max) throw Bad{what + ": min > max"};
    return r;
  }
  void range(std::string_view key, Range& out) {
    if (const auto* n = get(key)) {
      const auto* a = n->as_array();
      auto lo = a && a->size() == 2 ? a->get(0)->value<std::int64_t>() : std::nullopt;
      auto hi = a && a->size() == 2 ? a->get(1)->value<std::int64_t>() : std::nullopt;
      if (!lo || !hi || *lo < 0 || *hi < *lo) throw Bad{name(key) + " must be [min, max] integers"};
      out = Range{static_cast<std::uint64_t>(*lo), static_cast<std::uint64_t>(*hi)};
    }
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
    if (t == nullptr) throw Bad{name(key) + " must be [min, max] or a table {min, max, slow_ppm, slow_max}"};
    Reader r(*t, name(key));
    r.duration("min", out.min);
    r.duration("max", out.max);
    r.integer("slow_ppm", out.slow_ppm);
    r.duration("slow_max", out.slow_max);
    r.done();
    if (out.min > out.max) throw Bad{name(key) + ": min > max"};
  }
  const toml::table* table(std::string_view key) {
    const auto* n = get(key);
    if (n == nullptr) return nullptr;
    const auto* t = n->as_table();
    if (t == nullptr) throw Bad{name(key) + " must be a table"};
    return t;
  }

 private:
  const toml::table& t_;
  std::string path_;
  std::set<std::string> seen_;
};

void read_scenario(const toml::table& root, Scenario& s) {
  Reader r(root, "");
  std::string base;
  r.string("base", base);
  if (!base.empty()) {
    auto b = builtin_scenario(base);
    if (!b) throw Bad{"base: no built-in scenario named " + base};
    s = *b;
  } else {
    s = *builtin_scenario("smtp-basic");
  }
  r.string("name", s.name);
  r.string("description", s.description);
  r.integer("servers", s.servers);
  r.integer("client_hosts", s.client_hosts);
  r.boolean("provision_data_dir", s.provision_data_dir);
  r.boolean("strict_refusals", s.strict_refusals);
  r.boolean("tls", s.tls);
  if (s.servers == 0 || s.servers > 200) throw Bad{"servers must be 1..200"};
  if (s.client_hosts == 0 || s.client_hosts > 200) throw Bad{"client_hosts must be 1..200"};

  if (const auto* t = r.table("directory")) {
    Reader d(*t, "directory");
    if (const auto* n = d.get("domains")) {
      const auto* a = n->as_array();
      if (a == nullptr || a->empty()) throw Bad{"directory.domains must be a non-empty array of strings"};
      s.server.directory.domains.clear();
      for (const auto& e : *a) {
        auto v = e.value<std::string>();
        if (!v) throw Bad{"directory.domains must be strings"};
        s.server.directory.domains.push_back(*v);
      }
    }
    if (const auto* n = d.get("users")) {
      const auto* a = n->as_array();
      if (a == nullptr || a->empty()) throw Bad{"directory.users must be a non-empty array"};
      s.server.directory.users.clear();
      for (const auto& e : *a) {
        store::UserConfig u;
        if (auto v = e.value<std::string>()) {
          u.name = *v;
        } else if (const auto* ut = e.as_table()) {
          Reader ur(*ut, "directory.users[]");
          ur.string("name", u.name);
          if (const auto* al = ur.get("aliases")) {
            const auto* aa = al->as_array();
            if (aa == nullptr) throw Bad{"directory.users[].aliases must be an array of strings"};
            for (const auto& x : *aa) {
              auto xv = x.value<std::string>();
              if (!xv) throw Bad{"directory.users[].aliases must be strings"};
              u.aliases.push_back(*xv);
            }
          }
          ur.done();
        }
        if (!store::is_valid_user_name(u.name)) {
          throw Bad{"directory.users: '" + u.name + "' must be " + std::string(store::kUserNameRule)};
        }
        for (const auto& a : u.aliases) {
          if (!store::is_valid_alias(a)) throw Bad{"directory.users: '" + a + "' must be " + std::string(store::kAliasRule)};
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
    w.range("transactions_per_session", c.transactions_per_session);
    w.range("recipients", c.recipients);
    w.range("message_bytes", c.message_bytes);
    w.integer("pipelining_ppm", c.pipelining_ppm);
    w.integer("chunking_ppm", c.chunking_ppm);
    w.integer("starttls_ppm", c.starttls_ppm);
    w.integer("abrupt_disconnect_ppm", c.abrupt_disconnect_ppm);
    w.integer("unknown_recipient_ppm", c.unknown_recipient_ppm);
    w.integer("dot_line_ppm", c.dot_line_ppm);
    w.integer("liveness_sessions", c.liveness_sessions);
    w.duration("connect_timeout", c.connect_timeout);
    w.done();
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
    n.integer("segment_bytes_max", c.segment_bytes_max);
    n.integer("split_ppm", c.split_ppm);
    n.integer("bytewise_ppm", c.bytewise_ppm);
    n.integer("stall_ppm", c.stall_ppm);
    n.latency("stall", c.stall);
    n.integer("reset_ppm", c.reset_ppm);
    n.integer("reset_offset_max", c.reset_offset_max);
    n.integer("window_bytes", c.window_bytes);
    n.integer("backlog_max", c.backlog_max);
    n.duration("syn_retry", c.syn_retry);
    n.duration("retransmit", c.retransmit);
    n.duration("give_up", c.give_up);
    n.boolean("crash_sends_reset", c.crash_sends_reset);
    n.done();
    if (c.segment_bytes_max == 0) throw Bad{"net.segment_bytes_max must be > 0"};
    if (c.window_bytes == 0) throw Bad{"net.window_bytes must be > 0"};
  }

  if (const auto* t = r.table("disk")) {
    Reader d(*t, "disk");
    auto& c = s.faults.disk;
    d.latency("latency", c.latency);
    d.latency("sync_latency", c.sync_latency);
    d.integer("read_eio_ppm", c.read_eio_ppm);
    d.integer("write_eio_ppm", c.write_eio_ppm);
    d.integer("sync_eio_ppm", c.sync_eio_ppm);
    d.integer("quota_bytes", c.quota_bytes);
    d.integer("tear_ppm", c.tear_ppm);
    d.done();
  }

  if (const auto* t = r.table("faults")) {
    Reader f(*t, "faults");
    auto& c = s.faults;
    f.optional_duration_range("crash_interval", c.crash_interval);
    f.duration_range("downtime", c.downtime);
    f.integer("crash_after_sync_ppm", c.crash_after_sync_ppm);
    f.integer("crash_after_ack_ppm", c.crash_after_ack_ppm);
    f.optional_duration_range("partition_interval", c.partition_interval);
    f.duration_range("partition_duration", c.partition_duration);
    f.integer("one_way_partition_ppm", c.one_way_partition_ppm);
    f.boolean("buggify", c.buggify);
    f.done();
  }
  r.done();
  for (std::uint32_t ppm : {s.workload.pipelining_ppm, s.workload.chunking_ppm, s.workload.starttls_ppm,
                            s.workload.abrupt_disconnect_ppm,
                            s.workload.unknown_recipient_ppm, s.workload.dot_line_ppm, s.faults.net.split_ppm,
                            s.faults.net.bytewise_ppm, s.faults.net.stall_ppm, s.faults.net.reset_ppm,
                            s.faults.disk.read_eio_ppm, s.faults.disk.write_eio_ppm, s.faults.disk.sync_eio_ppm,
                            s.faults.disk.tear_ppm, s.faults.crash_after_sync_ppm, s.faults.crash_after_ack_ppm,
                            s.faults.one_way_partition_ppm}) {
    if (ppm > 1'000'000) throw Bad{"a *_ppm value is above 1000000"};
  }
  if (s.workload.transactions_per_session.max == 0) throw Bad{"workload.transactions_per_session must allow >= 1"};
}

}  // namespace

Result<Scenario> parse_scenario_toml(std::string_view text, std::string_view origin) {
  try {
    toml::table root = toml::parse(text, origin);
    Scenario s;
    read_scenario(root, s);
    return s;
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ":" << e.source().begin.column << ": " << e.description();
    return fail(Errc::invalid, msg.str());
  } catch (const Bad& b) {
    return fail(Errc::invalid, std::string(origin) + ": " + b.what);
  }
}

Result<Scenario> load_scenario_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::not_found, "cannot read scenario file " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_scenario_toml(ss.str(), path);
}

}  // namespace mail::sim
