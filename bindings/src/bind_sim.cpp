// Python bindings of the simulator: _core.World (a world built in code), Scenario,
// ScenarioRun, RunReport, run_scenario and run_seeds. The GIL is released while a World
// runs and taken back only to call Python (predicates, event callbacks, world.after).
// The pure-Python layer (cloudsdial/sim.py) adds sessions, message building and parsing.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <thread>

#include "errors.h"
#include "gil.h"
#include "simulator/buggify.h"
#include "simulator/scenario.h"
#include "simulator/sim_net.h"
#include "bind_store.h"
#include "sim_world.h"

namespace mail::py {

namespace pyb = pybind11;
using namespace pybind11::literals;

namespace {

Duration seconds(double s) {
  if (!std::isfinite(s) || s < 0 || s > 1e9) raise_error(ErrorKind::config, "durations are seconds in [0, 1e9]");
  return Duration(static_cast<std::int64_t>(std::llround(s * 1e6)));
}
double to_seconds(std::int64_t us) { return static_cast<double>(us) / 1e6; }
double to_seconds(Duration d) { return to_seconds(d.count()); }
double to_seconds(Instant t) { return to_seconds(t.time_since_epoch().count()); }

pyb::bytes as_bytes(const std::string& s) { return pyb::bytes(s.data(), s.size()); }

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

// ------------------------------------------------------------------ keyword knobs
std::uint32_t ppm(const pyb::handle& v, const char* key) {
  const auto x = v.cast<std::int64_t>();
  if (x < 0 || x > 1'000'000) raise_error(ErrorKind::config, std::string(key) + " is parts per million (0..1000000)");
  return static_cast<std::uint32_t>(x);
}

void apply_latency(sim::Latency& l, const pyb::handle& v, const char* key) {
  auto t = v.cast<std::pair<double, double>>();
  if (t.first > t.second) raise_error(ErrorKind::config, std::string(key) + ": (min, max) with min <= max");
  l.min = seconds(t.first);
  l.max = seconds(t.second);
}

void apply_disk(sim::DiskConfig& d, const pyb::kwargs& kw) {
  for (auto [k, v] : kw) {
    const auto key = k.cast<std::string>();
    if (key == "read_eio_ppm") d.read_eio_ppm = ppm(v, "read_eio_ppm");
    else if (key == "write_eio_ppm") d.write_eio_ppm = ppm(v, "write_eio_ppm");
    else if (key == "sync_eio_ppm") d.sync_eio_ppm = ppm(v, "sync_eio_ppm");
    else if (key == "tear_ppm") d.tear_ppm = ppm(v, "tear_ppm");
    else if (key == "quota_bytes") d.quota_bytes = v.cast<std::uint64_t>();
    else if (key == "lying_sync") d.lying_sync = v.cast<bool>();
    else if (key == "latency") apply_latency(d.latency, v, "latency");
    else if (key == "sync_latency") apply_latency(d.sync_latency, v, "sync_latency");
    else raise_error(ErrorKind::config, "unknown disk option '" + key + "'");
  }
}

pyb::dict disk_dict(const sim::DiskConfig& d) {
  return pyb::dict("read_eio_ppm"_a = d.read_eio_ppm, "write_eio_ppm"_a = d.write_eio_ppm,
                   "sync_eio_ppm"_a = d.sync_eio_ppm, "tear_ppm"_a = d.tear_ppm, "quota_bytes"_a = d.quota_bytes,
                   "lying_sync"_a = d.lying_sync,
                   "latency"_a = pyb::make_tuple(to_seconds(d.latency.min), to_seconds(d.latency.max)),
                   "sync_latency"_a = pyb::make_tuple(to_seconds(d.sync_latency.min), to_seconds(d.sync_latency.max)));
}

void apply_net(sim::NetConfig& n, const pyb::kwargs& kw) {
  for (auto [k, v] : kw) {
    const auto key = k.cast<std::string>();
    if (key == "latency") apply_latency(n.latency, v, "latency");
    else if (key == "stall_ppm") n.stall_ppm = ppm(v, "stall_ppm");
    else if (key == "stall") apply_latency(n.stall, v, "stall");
    else if (key == "reset_ppm") n.reset_ppm = ppm(v, "reset_ppm");
    else if (key == "split_ppm") n.split_ppm = ppm(v, "split_ppm");
    else if (key == "bytewise_ppm") n.bytewise_ppm = ppm(v, "bytewise_ppm");
    else if (key == "segment_bytes_max") n.segment_bytes_max = v.cast<std::uint32_t>();
    else if (key == "give_up") n.give_up = seconds(v.cast<double>());
    else if (key == "crash_sends_reset") n.crash_sends_reset = v.cast<bool>();
    else raise_error(ErrorKind::config, "unknown network option '" + key + "'");
  }
  if (n.segment_bytes_max == 0) raise_error(ErrorKind::config, "segment_bytes_max must be > 0");
}

pyb::dict net_dict(const sim::NetConfig& n) {
  return pyb::dict("latency"_a = pyb::make_tuple(to_seconds(n.latency.min), to_seconds(n.latency.max)),
                   "stall_ppm"_a = n.stall_ppm,
                   "stall"_a = pyb::make_tuple(to_seconds(n.stall.min), to_seconds(n.stall.max)),
                   "reset_ppm"_a = n.reset_ppm, "split_ppm"_a = n.split_ppm, "bytewise_ppm"_a = n.bytewise_ppm,
                   "segment_bytes_max"_a = n.segment_bytes_max, "give_up"_a = to_seconds(n.give_up),
                   "crash_sends_reset"_a = n.crash_sends_reset);
}

// ------------------------------------------------------------------ shared views
pyb::dict ledger_entry(const sim::LedgerEntry& e) {
  pyb::list accepted;
  for (bool a : e.rcpt_accepted) accepted.append(a);
  return pyb::dict("id"_a = e.id, "session"_a = e.session, "server"_a = e.server, "recipients"_a = e.recipients,
                   "rcpt_accepted"_a = accepted, "outcome"_a = std::string(sim::to_string(e.outcome)),
                   "reply"_a = e.reply, "decided_at"_a = to_seconds(e.decided_at), "content"_a = as_bytes(e.content),
                   "liveness"_a = e.liveness);
}

pyb::list stored_list(const std::vector<StoredMessage>& messages, const std::optional<std::string>& user) {
  pyb::list out;
  for (const auto& m : messages) {
    if (user && m.user != *user) continue;
    out.append(pyb::make_tuple(m.user, m.folder, m.name, as_bytes(m.data)));
  }
  return out;
}

pyb::list violations(const std::vector<sim::Violation>& v) {
  pyb::list out;
  for (const auto& x : v) out.append(pyb::make_tuple(x.invariant, x.detail));
  return out;
}

EventFilter filter_from(bool accepted, bool delivered, std::vector<std::string> prefixes) {
  EventFilter f;
  f.accepted = accepted;
  f.delivered = delivered;
  f.trace_prefixes = std::move(prefixes);
  return f;
}

// Calls a Python callable from inside a run (GIL released there).
std::function<void(const SimEvent&)> event_fn(pyb::object fn) {
  if (fn.is_none()) return {};
  auto held = hold(std::move(fn));
  return [held](const SimEvent& e) {
    pyb::gil_scoped_acquire gil;
    (*held)(e);
  };
}

// ------------------------------------------------------------------ scenarios
struct PyScenario {
  sim::Scenario sc;
  std::string origin;  // built-in name or file path: what a replay command names
};

std::string replay_command(const std::string& origin, std::uint64_t seed, bool lying) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, seed);
  std::string cmd = "cloudsdial sim --scenario " + origin + " --seed " + buf;
  if (lying) cmd += " --inject-bug lying-fsync";
  return cmd + " --trace sim-" + buf + ".trace";
}

struct PyReport {
  sim::RunReport r;
  std::string replay;
};

PyReport make_report(sim::RunReport r, const PyScenario& s, bool lying) {
  PyReport p{std::move(r), {}};
  p.replay = replay_command(s.origin, p.r.seed, lying);
  return p;
}

sim::RunOptions run_options(bool lying, const std::string& trace_file, std::size_t tail) {
  sim::RunOptions o;
  o.lying_sync = lying;
  o.trace_file = trace_file;
  o.tail_records = tail;
  return o;
}

// Test hook proving that a run releases the GIL: a world event blocks (without the GIL)
// until Python calls set() from another thread, which it can only do if the GIL is free.
struct Latch {
  std::mutex mu;
  std::condition_variable cv;
  bool waiting = false, set = false, released_in_time = false;
};

struct PyScenarioRun {
  PyScenario scenario;
  bool lying = false;
  std::unique_ptr<sim::ScenarioRun> run;
  EventFilter filter;
  std::function<void(const SimEvent&)> on_event;
  std::exception_ptr failed;
  bool finished = false;

  PyScenarioRun() = default;
  PyScenarioRun(const PyScenarioRun&) = delete;
  PyScenarioRun& operator=(const PyScenarioRun&) = delete;
  ~PyScenarioRun() {
    if (run) run->world().set_tap({});  // no callbacks from the teardown
  }

  bool advance(std::uint64_t steps) {
    const bool more = run->advance(steps);
    if (failed) {
      std::exception_ptr e = failed;
      failed = nullptr;
      std::rethrow_exception(e);
    }
    finished = !more;
    return more;
  }
};

using WorldClass = pyb::class_<SimWorld>;

// SimEvent (what callbacks receive) and the _Latch test hook.
void bind_events(pyb::module_& m) {
  pyb::class_<SimEvent>(m, "SimEvent", "One moment of a run handed to a callback, at the point where it happens.")
      .def_readonly("kind", &SimEvent::kind, "'accepted', 'delivered' or 'trace'")
      .def_property_readonly("time", [](const SimEvent& e) { return to_seconds(e.at_us); }, "virtual seconds")
      .def_readonly("host", &SimEvent::host)
      .def_readonly("trace_kind", &SimEvent::trace_kind)
      .def_readonly("detail", &SimEvent::detail)
      .def_readonly("message_id", &SimEvent::message_id, "accepted: the id of the sent message")
      .def_readonly("queue_id", &SimEvent::queue_id, "delivered: the server's queue id")
      .def("__repr__", [](const SimEvent& e) {
        return "<SimEvent " + e.kind + " t=" + std::to_string(to_seconds(e.at_us)) + " " + e.host + " " + e.detail + ">";
      });

  pyb::class_<Latch, std::shared_ptr<Latch>>(m, "_Latch", "Testing: see World._block_on.")
      .def(pyb::init<>())
      .def("set", [](Latch& l) {
        std::lock_guard<std::mutex> lock(l.mu);
        l.set = true;
        l.cv.notify_all();
      })
      .def_property_readonly("waiting", [](Latch& l) {
        std::lock_guard<std::mutex> lock(l.mu);
        return l.waiting;
      })
      .def_property_readonly("released_in_time", [](Latch& l) {
        std::lock_guard<std::mutex> lock(l.mu);
        return l.released_in_time;
      });
}

// A scripted session's optional reply (login, LOGOUT, QUIT...) as `convert` makes it, or None.
template <class Reply>
pyb::object reply_or_none(pyb::dict (*convert)(const Reply&), const std::optional<Reply>& r) {
  if (!r) return pyb::none();
  return convert(*r);
}

// A command line's first word, ASCII upper-cased (IMAP and POP3 verbs are case-insensitive:
// RFC 9051 §9, RFC 1939 §3).
std::string upper_verb(const std::string& line) {
  std::string verb = line.substr(0, line.find(' '));
  for (char& ch : verb) ch = static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
  return verb;
}

// An IMAP script's reply (simulator/imap_script.h) for cloudsdial/imap.py.
pyb::dict imap_reply(const sim::ImapScriptReply& r) {
  pyb::list untagged;
  for (const auto& u : r.untagged) {
    pyb::list literals;
    for (const auto& l : u.literals) literals.append(as_bytes(l));
    const char* kind = u.kind == sim::ImapResponse::Kind::continuation ? "continuation" : "untagged";
    untagged.append(pyb::make_tuple(kind, as_bytes(u.text), literals));
  }
  return pyb::dict("command"_a = r.command, "complete"_a = r.complete, "status"_a = r.status,
                   "text"_a = as_bytes(r.text), "untagged"_a = untagged, "sent"_a = to_seconds(r.sent),
                   "received"_a = r.complete ? pyb::object(pyb::float_(to_seconds(r.received))) : pyb::none());
}

// One command of World.imap_session: a str, ("APPEND", folder, flags, message) or ("IDLE", seconds).
sim::ImapScriptCommand imap_command(const pyb::handle& item) {
  sim::ImapScriptCommand c;
  if (pyb::isinstance<pyb::str>(item)) {
    c.text = item.cast<std::string>();
    const std::string verb = upper_verb(c.text);
    if (verb == "IDLE") raise_error(ErrorKind::config, "IDLE needs a duration: use cloudsdial.imap.Idle(seconds)");
    if (verb == "APPEND" && c.text.find('{') != std::string::npos) {
      raise_error(ErrorKind::config, "APPEND with a literal: use cloudsdial.imap.Append(folder, message, flags)");
    }
    return c;
  }
  auto t = item.cast<pyb::tuple>();
  const auto verb = t.size() > 0 ? t[0].cast<std::string>() : std::string();
  if (verb == "APPEND" && t.size() == 4) {
    c.kind = sim::ImapScriptCommand::Kind::append;
    c.folder = t[1].cast<std::string>();
    c.flags = t[2].cast<std::string>();
    c.message = t[3].cast<std::string>();
    return c;
  }
  if (verb == "IDLE" && t.size() == 2) {
    c.kind = sim::ImapScriptCommand::Kind::idle;
    c.idle = seconds(t[1].cast<double>());
    return c;
  }
  raise_error(ErrorKind::config, "an IMAP command is a str, an imap.Append or an imap.Idle");
}

// A POP3 script's reply (simulator/pop3_script.h) for cloudsdial/pop3.py.
pyb::dict pop3_reply(const sim::Pop3ScriptReply& r) {
  return pyb::dict("command"_a = r.command, "complete"_a = r.complete, "ok"_a = r.ok, "text"_a = as_bytes(r.text),
                   "multiline"_a = r.multiline, "body"_a = as_bytes(r.body), "sent"_a = to_seconds(r.sent),
                   "received"_a = r.complete ? pyb::object(pyb::float_(to_seconds(r.received))) : pyb::none());
}

// One command of World.pop3_session: a str, or ("PAUSE", seconds).
sim::Pop3ScriptCommand pop3_command(const pyb::handle& item) {
  sim::Pop3ScriptCommand c;
  if (pyb::isinstance<pyb::str>(item)) {
    c.text = item.cast<std::string>();
    const std::string verb = upper_verb(c.text);
    if (verb == "QUIT") raise_error(ErrorKind::config, "QUIT ends every session: use quit=True (the default)");
    if (verb == "USER" || verb == "PASS" || verb == "AUTH" || verb == "APOP" || verb == "STLS") {
      raise_error(ErrorKind::config, verb + " is not a scripted command: the session logs in with user and password");
    }
    return c;
  }
  auto t = item.cast<pyb::tuple>();
  const auto verb = t.size() > 0 ? t[0].cast<std::string>() : std::string();
  if (verb == "PAUSE" && t.size() == 2) {
    c.kind = sim::Pop3ScriptCommand::Kind::pause;
    const double secs = t[1].cast<double>();
    if (!(secs >= 0)) raise_error(ErrorKind::config, "a pause must be >= 0 seconds");
    c.pause = seconds(secs);
    return c;
  }
  raise_error(ErrorKind::config, "a POP3 command is a str or a pop3.Pause");
}

// World.imap_session / World.pop3_session's arguments as a spec; `command` converts each
// element of `commands`; `end` is logout= / quit=.
template <class Command>
ScriptSessionSpec<Command> script_spec(std::string client, std::string server, std::string user, std::string password,
                                       const pyb::list& commands, bool login, bool end, double start_delay,
                                       double command_timeout, Command (*command)(const pyb::handle&)) {
  ScriptSessionSpec<Command> s;
  s.client = std::move(client);
  s.server = std::move(server);
  s.user = std::move(user);
  s.password = std::move(password);
  s.login = login;
  s.end = end;
  s.start_delay = seconds(start_delay);
  s.command_timeout = seconds(command_timeout);
  if (s.command_timeout <= Duration(0)) raise_error(ErrorKind::config, "command_timeout must be > 0");
  for (auto item : commands) s.commands.push_back(command(item));
  return s;
}

// A scripted session's record for cloudsdial/imap.py and pop3.py: what both keep, with
// `add_ends(dict)` adding the protocol's login / end replies before "replies" and "error".
template <class Command, class ScriptState, class ReplyFn, class AddEnds>
pyb::dict script_session_dict(const ScriptSessionState<Command, ScriptState>& s, ReplyFn reply, AddEnds add_ends) {
  pyb::list replies;
  for (const auto& r : s.state.replies) replies.append(reply(r));
  pyb::dict d("index"_a = s.index, "client"_a = s.client, "server"_a = s.server, "user"_a = s.user,
              "done"_a = s.state.done(), "started"_a = s.state.stats.started > 0,
              "connect_failed"_a = s.state.stats.connect_failures > 0, "greeting"_a = as_bytes(s.state.greeting));
  add_ends(d);
  d["replies"] = replies;
  d["error"] = s.state.error;
  return d;
}

// World: sessions, workloads, a scenario's setup, and the ledger of sent messages.
void bind_world_traffic(WorldClass& cls) {
  cls.def("_open_session",
           [](SimWorld& w, std::string client, std::string server, const pyb::list& messages, bool pipelining,
              bool chunking, double start_delay, std::optional<std::uint64_t> hang_up_after_bytes,
              double connect_timeout) {
             SessionSpec s;
             s.client = std::move(client);
             s.server = std::move(server);
             s.pipelining = pipelining;
             s.chunking = chunking;
             s.start_delay = seconds(start_delay);
             s.hang_up_after_bytes = hang_up_after_bytes;
             s.connect_timeout = seconds(connect_timeout);
             for (auto item : messages) {
               auto t = item.cast<pyb::tuple>();
               MessageSpec ms;
               if (!t[0].is_none()) ms.mail_from = t[0].cast<std::string>();
               ms.recipients = t[1].cast<std::vector<std::string>>();
               ms.content = t[2].cast<std::string>();
               s.messages.push_back(std::move(ms));
             }
             return w.open_session(s);
           },
           "client"_a, "server"_a, "messages"_a, "pipelining"_a, "chunking"_a, "start_delay"_a,
           "hang_up_after_bytes"_a, "connect_timeout"_a)
      .def("_add_workload", [](SimWorld& w, std::uint32_t sessions, std::vector<std::string> clients,
                               std::vector<std::string> servers, std::pair<double, double> start,
                               std::pair<std::uint64_t, std::uint64_t> transactions,
                               std::pair<std::uint64_t, std::uint64_t> recipients,
                               std::pair<std::uint64_t, std::uint64_t> message_bytes, const pyb::dict& ppms,
                               double connect_timeout) {
             sim::WorkloadConfig c;
             c.sessions = sessions;
             c.session_start = sim::DurationRange{seconds(start.first), seconds(start.second)};
             c.transactions_per_session = sim::Range{transactions.first, transactions.second};
             c.recipients = sim::Range{recipients.first, recipients.second};
             c.message_bytes = sim::Range{message_bytes.first, message_bytes.second};
             for (auto [k, v] : ppms) {
               const auto key = k.cast<std::string>();
               if (key == "pipelining_ppm") c.pipelining_ppm = ppm(v, "pipelining_ppm");
               else if (key == "chunking_ppm") c.chunking_ppm = ppm(v, "chunking_ppm");
               else if (key == "abrupt_disconnect_ppm") c.abrupt_disconnect_ppm = ppm(v, "abrupt_disconnect_ppm");
               else if (key == "unknown_recipient_ppm") c.unknown_recipient_ppm = ppm(v, "unknown_recipient_ppm");
               else if (key == "dot_line_ppm") c.dot_line_ppm = ppm(v, "dot_line_ppm");
               else if (key == "starttls_ppm") c.starttls_ppm = ppm(v, "starttls_ppm");
               else raise_error(ErrorKind::config, "unknown workload option '" + key + "'");
             }
             c.connect_timeout = seconds(connect_timeout);
             if (c.message_bytes.max > (64u << 20)) raise_error(ErrorKind::config, "message_bytes beyond 64 MiB");
             return w.add_workload(c, std::move(clients), std::move(servers));
           }, "sessions"_a, "clients"_a, "servers"_a, "start"_a, "transactions"_a, "recipients"_a, "message_bytes"_a,
           "ppms"_a, "connect_timeout"_a)
      .def("_setup_scenario", [](SimWorld& w, const PyScenario& ps) {
             const sim::Scenario& sc = ps.sc;
             if (!w.host_names().empty()) raise_error(ErrorKind::state, "from_scenario needs an empty world");
             w.net() = sc.faults.net;
             w.world().buggify().config().enabled = sc.faults.buggify;
             for (std::uint32_t i = 0; i < sc.servers; ++i) {
               ServerSpec spec;
               // A relay scenario's hosts are MTAs of their own domains, found through MX.
               spec.config = sc.relay ? sim::relay_host_config(sc, i) : sc.server;
               if (sc.tls) spec.config->tls = w.tls().server;  // as the scenario runner: one certificate per World
               spec.disk = sc.faults.disk;
               spec.provision_data_dir = sc.provision_data_dir;
               spec.wait_ready = false;
               const std::string name = w.add_server(std::move(spec));
               if (sc.relay) sim::add_relay_dns(w.world().dns(), sc, i, w.address_of(name));
             }
             for (const auto& [name, p] : sc.personalities) w.world().set_personality(w.world().host_by_name(name), p);
             for (std::uint32_t i = 0; i < sc.client_hosts; ++i) w.add_client("", "");
             sim::WorkloadConfig wl = sc.workload;
             if (!sc.tls) wl.starttls_ppm = 0;
             if (wl.session_start.max > sc.fault_phase) wl.session_start.max = sc.fault_phase;
             if (wl.session_start.min > wl.session_start.max) wl.session_start.min = wl.session_start.max;
             if (sc.relay) return w.add_relay_workload(wl, *sc.relay);
             return w.add_workload(wl, {}, {});
           }, "scenario"_a)
      .def("_session", [](SimWorld& w, std::uint32_t i) {
             const SessionState& s = w.session(i);
             return pyb::dict("index"_a = s.index, "client"_a = s.client, "server"_a = s.server,
                              "messages"_a = s.messages, "done"_a = s.done(), "started"_a = s.stats.started > 0,
                              "connect_failed"_a = s.stats.connect_failures > 0, "hung_up"_a = s.stats.hung_up > 0);
           }, "index"_a)
      .def("_open_imap_session",
           [](SimWorld& w, std::string client, std::string server, std::string user, std::string password,
              const pyb::list& commands, bool login, bool logout, double start_delay, double command_timeout) {
             return w.open_imap_session(script_spec(std::move(client), std::move(server), std::move(user),
                                                    std::move(password), commands, login, logout, start_delay,
                                                    command_timeout, &imap_command));
           },
           "client"_a, "server"_a, "user"_a, "password"_a, "commands"_a, "login"_a, "logout"_a, "start_delay"_a,
           "command_timeout"_a)
      .def("_imap_session", [](SimWorld& w, std::uint32_t i) {
             const ImapSessionState& s = w.imap_session(i);
             return script_session_dict(s, imap_reply, [&](pyb::dict& d) {
               d["login"] = reply_or_none(imap_reply, s.state.login);
               d["logout"] = reply_or_none(imap_reply, s.state.logout);
             });
           }, "index"_a)
      .def("_open_pop3_session",
           [](SimWorld& w, std::string client, std::string server, std::string user, std::string password,
              const pyb::list& commands, bool login, bool quit, double start_delay, double command_timeout) {
             return w.open_pop3_session(script_spec(std::move(client), std::move(server), std::move(user),
                                                    std::move(password), commands, login, quit, start_delay,
                                                    command_timeout, &pop3_command));
           },
           "client"_a, "server"_a, "user"_a, "password"_a, "commands"_a, "login"_a, "quit"_a, "start_delay"_a,
           "command_timeout"_a)
      .def("_pop3_session", [](SimWorld& w, std::uint32_t i) {
             const Pop3SessionState& s = w.pop3_session(i);
             return script_session_dict(s, pop3_reply, [&](pyb::dict& d) {
               d["user_reply"] = reply_or_none(pop3_reply, s.state.user);
               d["pass_reply"] = reply_or_none(pop3_reply, s.state.pass);
               d["quit"] = reply_or_none(pop3_reply, s.state.quit);
             });
           }, "index"_a)
      .def("_message", [](SimWorld& w, std::uint64_t id) {
             const sim::LedgerEntry* e = w.ledger().find(id);
             if (e == nullptr) raise_error(ErrorKind::not_found, "no message " + std::to_string(id));
             return ledger_entry(*e);
           }, "id"_a)
      .def("_messages", [](SimWorld& w) {
        pyb::list out;
        for (const auto& e : w.ledger().entries()) out.append(ledger_entry(e));
        return out;
      });
}

// An X-Sim-Id value as an int; None when absent or not a number.
pyb::object sim_id_or_none(const std::string& text) {
  if (text.empty() || text.size() > 18) return pyb::none();
  for (char c : text) {
    if (c < '0' || c > '9') return pyb::none();
  }
  return pyb::int_(std::stoull(text));
}

// World: partitions, links, crashes and reboots, disk and network knobs, personalities.
void bind_world_faults(WorldClass& cls) {
  cls.def("partition", &SimWorld::partition, "a"_a, "b"_a, pyb::kw_only(), "one_way"_a = false,
           "Blocks traffic between two hosts (both ways unless one_way: a's packets to b are lost).")
      .def("isolate", &SimWorld::isolate, "host"_a, "Cuts a host off from every other host.")
      .def("heal", [](SimWorld& w, std::optional<std::string> a, std::optional<std::string> b) {
             if (a.has_value() != b.has_value()) raise_error(ErrorKind::config, "heal() or heal(a, b)");
             if (a) {
               w.heal(*a, *b);
             } else {
               w.heal_all();
             }
           }, "a"_a = pyb::none(), "b"_a = pyb::none(), "Heals one partition, or every one (links stay as set).")
      .def("set_link", [](SimWorld& w, const std::string& a, const std::string& b, const pyb::object& latency,
                          double loss) {
             sim::LinkConfig link;
             if (!latency.is_none()) {
               sim::Latency l;
               apply_latency(l, latency, "latency");
               link.latency = l;
             }
             if (!std::isfinite(loss) || loss < 0 || loss > 1) {
               raise_error(ErrorKind::config, "loss is a probability in [0, 1]");
             }
             link.loss_ppm = static_cast<std::uint32_t>(std::llround(loss * 1e6));
             w.set_link(a, b, link);
           }, "a"_a, "b"_a, pyb::kw_only(), "latency"_a = pyb::none(), "loss"_a = 0.0,
           "Settings of the link between two hosts, both directions, replacing earlier ones: "
           "latency=(min_s, max_s) per segment instead of the world-wide latency (None: the world's), "
           "loss = the probability that a segment or SYN is lost (it is retransmitted, so TCP still "
           "delivers every byte in order, later). heal() does not clear links; clear_link does.")
      .def("clear_link", &SimWorld::clear_link, "a"_a, "b"_a,
           "Back to the world-wide network settings between two hosts.")
      .def("crash", &SimWorld::crash, "host"_a,
           "Power loss: connections reset, tasks destroyed, unsynced disk state lost. The host stays down.")
      .def("restart", &SimWorld::restart, "host"_a, "Crash (when up), then boot.")
      .def("boot", &SimWorld::boot, "host"_a)
      .def("set_disk", [](SimWorld& w, const std::string& host, const pyb::kwargs& kw) {
             sim::DiskConfig d = w.disk(host);
             apply_disk(d, kw);
             w.set_disk(host, d);
           }, "host"_a, "Disk faults/latency of a host: read_eio_ppm, write_eio_ppm, sync_eio_ppm, tear_ppm, "
                        "quota_bytes, lying_sync, latency=(min_s, max_s), sync_latency=(min_s, max_s).")
      .def("disk", [](SimWorld& w, const std::string& host) { return disk_dict(w.disk(host)); }, "host"_a)
      .def("_set_personality", &SimWorld::set_personality, "server"_a, "toml"_a)
      .def("clear_personality", &SimWorld::clear_personality, "server"_a,
           "Removes a server's personality: connections accepted from now on are untouched.")
      .def("personality_counters", [](SimWorld& w, const std::string& server) -> pyb::object {
             auto c = w.personality_counters(server);
             if (!c) return pyb::none();
             return pyb::dict("replies"_a = c->replies, "greylisted"_a = c->greylisted,
                              "greylist_passed"_a = c->greylist_passed, "delayed"_a = c->delayed,
                              "silenced"_a = c->silenced, "garbled"_a = c->garbled, "dropped"_a = c->dropped);
           }, "server"_a, "What a server's personality did so far (None without one).")
      .def("_queue_json", [](SimWorld& w, const std::string& server) { return w.queue_json(server); }, "server"_a)
      .def("dropped_after_dot", [](SimWorld& w) {
             pyb::list out;
             for (const auto& d : w.world().dropped_after_dot()) {
               out.append(pyb::dict("at"_a = static_cast<double>(d.at.time_since_epoch().count()) / 1e6,
                                    "host"_a = d.host, "client"_a = d.client, "queue_id"_a = d.queue_id,
                                    "sim_id"_a = sim_id_or_none(d.sim_id),
                                    "message_id"_a = d.message_id));
             }
             return out;
           }, "Every message a personality stored but whose 250 it never let reach the client (RFC 1047): "
              "dicts with at (virtual seconds), host, client, queue_id, sim_id (or None), message_id.")
      .def("set_network", [](SimWorld& w, const pyb::kwargs& kw) {
             sim::NetConfig n = w.net();
             apply_net(n, kw);
             w.net() = n;
           }, "World-wide network knobs: latency=(min_s, max_s), stall_ppm, stall, reset_ppm, split_ppm, "
              "bytewise_ppm, segment_bytes_max, give_up, crash_sends_reset.")
      .def_property_readonly("network", [](SimWorld& w) { return net_dict(w.net()); });
}

// World: running virtual time (the GIL is released) and scheduling Python callbacks.
void bind_world_running(WorldClass& cls) {
  cls.def("run_for", [](SimWorld& w, double s, std::uint64_t max_steps) {
             const Duration d = seconds(s);
             return std::string(sim::to_string(without_gil([&] { return w.run_for(d, max_steps); })));
           }, "seconds"_a, pyb::kw_only(), "max_steps"_a = 50'000'000, "Runs `seconds` of virtual time.")
      .def("run_until_idle", [](SimWorld& w, std::uint64_t max_steps) {
             return std::string(sim::to_string(without_gil([&] { return w.run_until_idle(max_steps); })));
           }, pyb::kw_only(), "max_steps"_a = 50'000'000, "Runs until no event is left.")
      .def("run_until", [](SimWorld& w, pyb::object pred, double max_seconds, std::uint64_t max_steps) {
             const Duration d = seconds(max_seconds);
             auto held = hold(std::move(pred));
             auto st = without_gil([&] {
               return w.run_until([&] {
                 pyb::gil_scoped_acquire gil;
                 return (*held)().cast<bool>();
               }, d, max_steps);
             });
             return st == sim::RunStatus::predicate;
           }, "predicate"_a, pyb::kw_only(), "max_seconds"_a = 3600.0, "max_steps"_a = 50'000'000,
           "Runs until predicate() is true (checked before every event): True, or False when the world went "
           "idle or max_seconds of virtual time passed first.")
      .def("_run_imap_sessions", [](SimWorld& w, std::vector<std::uint32_t> ids, double max_seconds,
                                    std::uint64_t max_steps) {
             const Duration d = seconds(max_seconds);
             return without_gil([&] { return w.run_until_imap_sessions_done(ids, d, max_steps); }) ==
                    sim::RunStatus::predicate;
           }, "ids"_a, "max_seconds"_a, "max_steps"_a)
      .def("_run_pop3_sessions", [](SimWorld& w, std::vector<std::uint32_t> ids, double max_seconds,
                                    std::uint64_t max_steps) {
             const Duration d = seconds(max_seconds);
             return without_gil([&] { return w.run_until_pop3_sessions_done(ids, d, max_steps); }) ==
                    sim::RunStatus::predicate;
           }, "ids"_a, "max_seconds"_a, "max_steps"_a)
      .def("_run_sessions", [](SimWorld& w, std::vector<std::uint32_t> ids, double max_seconds,
                               std::uint64_t max_steps) {
             const Duration d = seconds(max_seconds);
             return without_gil([&] { return w.run_until_sessions_done(ids, d, max_steps); }) ==
                    sim::RunStatus::predicate;
           }, "ids"_a, "max_seconds"_a, "max_steps"_a)
      .def("after", [](SimWorld& w, double s, pyb::object fn) {
             auto held = hold(std::move(fn));
             w.after(seconds(s), [held] {
               pyb::gil_scoped_acquire gil;
               (*held)();
             });
           }, "seconds"_a, "fn"_a,
           "Calls fn() at now + seconds of virtual time, as a world event (deterministic). Callbacks change "
           "the world this way.")
      .def("_block_on", [](SimWorld& w, std::shared_ptr<Latch> latch, double wait_seconds) {
             const auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(wait_seconds * 1000));
             w.after(Duration(0), [latch, timeout] {
               std::unique_lock<std::mutex> lock(latch->mu);
               latch->waiting = true;
               latch->cv.notify_all();
               latch->released_in_time = latch->cv.wait_for(lock, timeout, [&] { return latch->set; });
             });
           }, "latch"_a, "wait_seconds"_a, "Testing: an event now that blocks until latch.set() (or the wait ends).");
}

// World: mailboxes, invariant checks, counters and event callbacks.
void bind_world_inspection(WorldClass& cls) {
  cls.def("_mailbox", [](SimWorld& w, const std::string& server, std::optional<std::string> user, bool durable) {
             return stored_list(w.mailbox(server, durable), user);
           }, "server"_a, "user"_a, "durable"_a)
      .def("_check", [](SimWorld& w) { return violations(w.check()); })
      .def("_folders", [](SimWorld& w, const std::string& server, const std::string& user,
                          std::optional<std::string> folder, bool bodies) {
             auto folders = without_gil([&] { return w.store_folders(server, user, std::move(folder), bodies); });
             return folders_to_python(folders);
           }, "server"_a, "user"_a, "folder"_a, "bodies"_a)
      .def("stats", [](SimWorld& w) {
        pyb::dict d;
        for (const auto& [k, v] : w.stats()) d[pyb::str(k)] = v;
        return d;
      }, "Counters: steps, virtual_us, sessions, messages by outcome, per-server counters ...")
      .def("_set_events", [](SimWorld& w, bool accepted, bool delivered, std::vector<std::string> prefixes,
                             pyb::object fn) {
             w.set_events(filter_from(accepted, delivered, std::move(prefixes)), event_fn(std::move(fn)));
           });
}

// World: construction, properties, hosts and their configuration; then the groups above.
void bind_world(pyb::module_& m) {
  WorldClass cls(m, "World", pyb::dynamic_attr(), "A simulated world built in code (see cloudsdial.World).");
  cls.def(pyb::init([](std::uint64_t seed, std::size_t trace_tail, std::string trace_file, std::uint64_t max_steps,
                        bool buggify) {
             sim::WorldConfig wc;
             wc.trace = sim::TraceOptions{trace_tail, std::move(trace_file)};
             wc.max_steps = max_steps;
             wc.buggify.enabled = buggify;
             auto w = std::make_unique<SimWorld>(seed, std::move(wc));
             if (!w->world().trace().file_ok()) raise_error(ErrorKind::storage, "cannot open the trace file");
             return w;
           }),
           "seed"_a, pyb::kw_only(), "trace_tail"_a = 200, "trace_file"_a = "", "max_steps"_a = 200'000'000,
           "buggify"_a = false)
      .def_property_readonly("seed", [](SimWorld& w) { return w.world().seed(); })
      .def_property_readonly("now", [](SimWorld& w) { return to_seconds(w.world().now()); }, "virtual seconds")
      .def_property_readonly("steps", [](SimWorld& w) { return w.world().steps(); })
      .def_property_readonly("trace_hash", [](SimWorld& w) { return w.world().trace().hash(); })
      .def_property_readonly("trace_hash_hex", [](SimWorld& w) { return hex(w.world().trace().hash()); })
      .def("trace_tail", [](SimWorld& w, std::size_t n) { return w.world().trace().tail(n); }, "n"_a = 50)
      .def("add_server",
           [](SimWorld& w, std::string name, std::string address, std::vector<std::string> domains, pyb::list users,
              std::string data_dir, std::uint16_t port, double clock_skew, bool provision_data_dir,
              bool wait_ready, bool tls, bool imap, std::uint16_t imap_port, bool pop3, std::uint16_t pop3_port,
              const pyb::object& logins,
              const pyb::kwargs& disk) {
             ServerSpec s;
             s.name = std::move(name);
             s.address = std::move(address);
             s.domains = std::move(domains);
             for (auto u : users) {
               if (pyb::isinstance<pyb::str>(u)) {
                 s.users.push_back(UserSpec{u.cast<std::string>(), {}});
               } else {
                 auto t = u.cast<std::pair<std::string, std::vector<std::string>>>();
                 s.users.push_back(UserSpec{t.first, t.second});
               }
             }
             s.data_dir = std::move(data_dir);
             s.port = port;
             s.clock_skew = seconds(clock_skew);
             s.provision_data_dir = provision_data_dir;
             s.wait_ready = wait_ready;
             s.tls = tls;
             if (imap) {
               if (imap_port == 0) raise_error(ErrorKind::config, "imap_port must not be 0");
               s.imaps_port = imap_port;
             }
             if (pop3) {
               if (pop3_port == 0) raise_error(ErrorKind::config, "pop3_port must not be 0");
               s.pop3s_port = pop3_port;
             }
             if (pyb::isinstance<pyb::dict>(logins)) {
               for (auto [k, v] : logins.cast<pyb::dict>()) {
                 s.logins.push_back(sim::SubmissionUser{k.cast<std::string>(), v.cast<std::string>()});
               }
             } else if (!logins.is_none()) {
               for (auto [login, password] : logins.cast<std::vector<std::pair<std::string, std::string>>>()) {
                 s.logins.push_back(sim::SubmissionUser{login, password});
               }
             }
             apply_disk(s.disk, disk);
             return w.add_server(std::move(s));
           },
           "name"_a = "", pyb::kw_only(), "address"_a = "", "domains"_a = std::vector<std::string>{"example.test"},
           "users"_a = pyb::list(), "data_dir"_a = "/var/lib/cloudsdial", "port"_a = 25, "clock_skew"_a = 0.0,
           "provision_data_dir"_a = true, "wait_ready"_a = true, "tls"_a = false, "imap"_a = false,
           "imap_port"_a = 993, "pop3"_a = false, "pop3_port"_a = 995, "logins"_a = pyb::none(),
           "Adds a mail server host and boots it (then runs until it listens unless wait_ready=False). "
           "users: names or (name, [aliases]); tls=True offers STARTTLS with the world's certificate; "
           "logins: {name: password} (a users file, as `cloudsdial user add` writes it); imap=True serves IMAP "
           "over implicit TLS on imap_port, pop3=True POP3 over implicit TLS on pop3_port (both need tls and logins); extra keywords are disk options (see set_disk).")
      .def("add_client", &SimWorld::add_client, "name"_a = "", pyb::kw_only(), "address"_a = "")
      .def_property_readonly("hosts", &SimWorld::host_names)
      .def("is_server", &SimWorld::is_server, "host"_a)
      .def("address", &SimWorld::address_of, "host"_a)
      .def("host_up", &SimWorld::host_up, "host"_a)
      .def("users", [](SimWorld& w, const std::string& server) {
             std::vector<std::string> out;
             for (const auto& u : w.server_config(server).directory.users) out.push_back(u.name);
             return out;
           }, "server"_a)
      .def("domains", [](SimWorld& w, const std::string& server) { return w.server_config(server).directory.domains; },
           "server"_a);
  bind_world_traffic(cls);
  bind_world_faults(cls);
  bind_world_running(cls);
  bind_world_inspection(cls);
}

// Scenario: built-in, from a file or TOML text, with a few writable knobs.
void bind_scenario(pyb::module_& m) {
  pyb::class_<PyScenario>(m, "Scenario", "A scenario: topology, workload, faults and phase lengths.")
      .def_static("builtin", [](const std::string& name) {
             auto s = sim::builtin_scenario(name);
             if (!s) raise_error(ErrorKind::not_found, "no built-in scenario '" + name + "'");
             return PyScenario{*s, name};
           }, "name"_a)
      .def_static("builtin_names", &sim::builtin_scenario_names)
      .def_static("from_file", [](const std::string& path) {
             auto s = sim::load_scenario_file(path);
             if (!s) raise_error(s.error(), "");
             return PyScenario{std::move(*s), path};
           }, "path"_a)
      .def_static("from_toml", [](const std::string& text, const std::string& origin) {
             auto s = sim::parse_scenario_toml(text, origin);
             if (!s) raise_error(s.error(), "");
             return PyScenario{std::move(*s), origin};
           }, "text"_a, "origin"_a = "<string>")
      .def_readonly("origin", &PyScenario::origin)
      .def_property_readonly("name", [](const PyScenario& s) { return s.sc.name; })
      .def_property_readonly("description", [](const PyScenario& s) { return s.sc.description; })
      .def_property_readonly("servers", [](const PyScenario& s) { return s.sc.servers; })
      .def_property_readonly("client_hosts", [](const PyScenario& s) { return s.sc.client_hosts; })
      .def_property_readonly("domains", [](const PyScenario& s) { return s.sc.server.directory.domains; })
      .def_property_readonly("users", [](const PyScenario& s) {
        std::vector<std::string> out;
        for (const auto& u : s.sc.server.directory.users) out.push_back(u.name);
        return out;
      })
      .def_property("sessions", [](const PyScenario& s) { return s.sc.workload.sessions; },
                    [](PyScenario& s, std::uint32_t v) { s.sc.workload.sessions = v; })
      .def_property("fault_phase", [](const PyScenario& s) { return to_seconds(s.sc.fault_phase); },
                    [](PyScenario& s, double v) { s.sc.fault_phase = seconds(v); })
      .def_property("max_steps", [](const PyScenario& s) { return s.sc.max_steps; },
                    [](PyScenario& s, std::uint64_t v) { s.sc.max_steps = v; })
      .def("__repr__", [](const PyScenario& s) { return "<Scenario " + s.sc.name + " from " + s.origin + ">"; });
}

// RunReport: the outcome of one seed.
void bind_run_report(pyb::module_& m) {
  pyb::class_<PyReport>(m, "RunReport", "The result of one scenario run for one seed.")
      .def_property_readonly("scenario", [](const PyReport& p) { return p.r.scenario; })
      .def_property_readonly("seed", [](const PyReport& p) { return p.r.seed; })
      .def_property_readonly("trace_hash", [](const PyReport& p) { return p.r.trace_hash; })
      .def_property_readonly("trace_hash_hex", [](const PyReport& p) { return hex(p.r.trace_hash); })
      .def_property_readonly("ok", [](const PyReport& p) { return p.r.ok(); })
      .def_property_readonly("violations", [](const PyReport& p) { return violations(p.r.violations); })
      .def_property_readonly("warnings", [](const PyReport& p) { return violations(p.r.warnings); })
      .def_property_readonly("messages", [](const PyReport& p) { return p.r.messages; })
      .def_property_readonly("acked", [](const PyReport& p) { return p.r.acked; })
      .def_property_readonly("refused", [](const PyReport& p) { return p.r.refused; })
      .def_property_readonly("unknown", [](const PyReport& p) { return p.r.unknown; })
      .def_property_readonly("not_sent", [](const PyReport& p) { return p.r.not_sent; })
      .def_property_readonly("sessions", [](const PyReport& p) { return p.r.sessions; })
      .def_property_readonly("tls_sessions", [](const PyReport& p) { return p.r.tls_sessions; },
                             "sessions that completed a STARTTLS handshake")
      .def_property_readonly("crashes", [](const PyReport& p) { return p.r.crashes; })
      .def_property_readonly("partitions", [](const PyReport& p) { return p.r.partitions; })
      .def_property_readonly("steps", [](const PyReport& p) { return p.r.steps; })
      .def_property_readonly("virtual_seconds", [](const PyReport& p) { return to_seconds(p.r.virtual_us); })
      .def_property_readonly("wall_seconds", [](const PyReport& p) { return p.r.wall_seconds; })
      .def_property_readonly("trace_tail", [](const PyReport& p) { return p.r.trace_tail; })
      .def_readonly("replay", &PyReport::replay, "the command that replays this seed with its full trace")
      .def("summary", [](const PyReport& p) { return sim::summary_line(p.r); })
      .def("json", [](const PyReport& p) { return sim::to_json(p.r); })
      .def("__repr__", [](const PyReport& p) { return "<RunReport " + sim::summary_line(p.r) + ">"; });
}

// run_scenario and _run_seeds (seeds over threads, without the GIL).
void bind_run_functions(pyb::module_& m) {
  m.def("run_scenario", [](const PyScenario& s, std::uint64_t seed, bool lying_fsync, std::string trace_file,
                           std::size_t tail) {
          const auto opts = run_options(lying_fsync, trace_file, tail);
          auto r = without_gil([&] { return sim::run_scenario(s.sc, seed, opts); });
          return make_report(std::move(r), s, lying_fsync);
        }, "scenario"_a, "seed"_a, pyb::kw_only(), "lying_fsync"_a = false, "trace_file"_a = "", "tail"_a = 80,
        "Runs one scenario for one seed (the GIL is released).");

  m.def("_run_seeds", [](const PyScenario& s, std::vector<std::uint64_t> seeds, unsigned jobs, bool lying_fsync) {
          if (jobs == 0 || jobs > 1024) raise_error(ErrorKind::config, "jobs must be 1..1024");
          const auto opts = run_options(lying_fsync, "", 80);
          std::vector<sim::RunReport> reports(seeds.size());
          without_gil([&] {
            std::atomic<std::size_t> next{0};
            auto worker = [&] {
              for (std::size_t i = next.fetch_add(1); i < seeds.size(); i = next.fetch_add(1)) {
                reports[i] = sim::run_scenario(s.sc, seeds[i], opts);
              }
            };
            std::vector<std::thread> threads;
            const unsigned n = static_cast<unsigned>(std::min<std::size_t>(jobs, seeds.size()));
            for (unsigned t = 1; t < n; ++t) threads.emplace_back(worker);
            worker();
            for (auto& t : threads) t.join();
          });
          std::vector<PyReport> out;
          for (auto& r : reports) out.push_back(make_report(std::move(r), s, lying_fsync));
          return out;
        }, "scenario"_a, "seeds"_a, "jobs"_a, "lying_fsync"_a);
}

// ScenarioRun: a scenario advanced in slices, with inspection and callbacks.
void bind_scenario_run(pyb::module_& m) {
  pyb::class_<PyScenarioRun>(m, "ScenarioRun", "A scenario played in bounded slices, with inspection and callbacks.")
      .def(pyb::init([](const PyScenario& s, std::uint64_t seed, bool lying_fsync, std::string trace_file) {
             auto p = std::make_unique<PyScenarioRun>();
             p->scenario = s;
             p->lying = lying_fsync;
             p->run = std::make_unique<sim::ScenarioRun>(p->scenario.sc, seed, run_options(lying_fsync, trace_file, 80));
             PyScenarioRun* self = p.get();
             p->run->world().set_tap([self](sim::HostId h, std::string_view kind, std::string_view detail) {
               if (!self->on_event || !self->filter.any() || self->failed) return;
               auto e = classify(self->run->world(), h, kind, detail, self->filter);
               if (!e) return;
               try {
                 self->on_event(*e);
               } catch (...) {
                 self->failed = std::current_exception();
               }
             });
             return p;
           }),
           "scenario"_a, "seed"_a, pyb::kw_only(), "lying_fsync"_a = false, "trace_file"_a = "")
      .def("advance", [](PyScenarioRun& r, std::uint64_t steps) {
             return without_gil([&] { return r.advance(steps); });
           }, "max_steps"_a = 100'000, "Runs at most max_steps events; False once the run is over.")
      .def("run", [](PyScenarioRun& r) {
             without_gil([&] {
               while (r.advance(1'000'000)) {
               }
             });
             return make_report(r.run->report(), r.scenario, r.lying);
           }, "Runs to the end and returns the RunReport.")
      .def_property_readonly("finished", [](PyScenarioRun& r) { return r.finished; })
      .def_property_readonly("report", [](PyScenarioRun& r) {
        if (!r.finished) raise_error(ErrorKind::state, "the run is not finished");
        return make_report(r.run->report(), r.scenario, r.lying);
      })
      .def_property_readonly("now", [](PyScenarioRun& r) { return to_seconds(r.run->world().now()); })
      .def_property_readonly("steps", [](PyScenarioRun& r) { return r.run->world().steps(); })
      .def_property_readonly("trace_hash", [](PyScenarioRun& r) { return r.run->world().trace().hash(); })
      .def_property_readonly("hosts", [](PyScenarioRun& r) {
        std::vector<std::string> out;
        for (std::size_t i = 0; i < r.run->world().host_count(); ++i) {
          out.emplace_back(r.run->world().host_name(static_cast<sim::HostId>(i)));
        }
        return out;
      })
      .def("_mailbox", [](PyScenarioRun& r, const std::string& server, std::optional<std::string> user,
                          bool durable) {
             sim::World& w = r.run->world();
             std::optional<sim::HostId> id;
             for (std::size_t i = 0; i < w.host_count(); ++i) {
               if (w.host_name(static_cast<sim::HostId>(i)) == server && server.starts_with("mx")) {
                 id = static_cast<sim::HostId>(i);
               }
             }
             if (!id) raise_error(ErrorKind::not_found, "no mail server named '" + server + "'");
             const sim::DiskState& live = w.disk_state(*id);
             if (!durable) return stored_list(stored_messages(live, r.scenario.sc.server), user);
             const sim::DiskState after = live.durable_view();
             return stored_list(stored_messages(after, r.scenario.sc.server), user);
           }, "server"_a, "user"_a, "durable"_a)
      .def("_messages", [](PyScenarioRun& r) {
        pyb::list out;
        for (const auto& e : r.run->ledger().entries()) out.append(ledger_entry(e));
        return out;
      })
      .def("_set_events", [](PyScenarioRun& r, bool accepted, bool delivered, std::vector<std::string> prefixes,
                             pyb::object fn) {
        r.filter = filter_from(accepted, delivered, std::move(prefixes));
        r.on_event = event_fn(std::move(fn));
      });
}

}  // namespace

void bind_sim(pyb::module_& m) {
  // Registration order matters: a class is registered before a signature names it.
  bind_events(m);
  bind_world(m);
  bind_scenario(m);
  bind_run_report(m);
  bind_run_functions(m);
  bind_scenario_run(m);
}

}  // namespace mail::py
