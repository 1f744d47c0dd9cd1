// The IMAP workload: plans and the scripted client sessions (see imap_workload.h).
#include "imap_workload.h"

#include <algorithm>
#include <span>

#include "core/hash.h"
#include "imap_client.h"
#include "imap_read.h"
#include "node/smtp_client_connection.h"
#include "runtime/await.h"
#include "sim_connect_tls.h"
#include "sim_env.h"
#include "sim_tls.h"
#include "spawn_sessions.h"

namespace mail::sim {

std::string_view to_string(ImapOp op) noexcept {
  switch (op) {
    case ImapOp::select: return "select";
    case ImapOp::append: return "append";
    case ImapOp::fetch: return "fetch";
    case ImapOp::store: return "store";
    case ImapOp::expunge: return "expunge";
    case ImapOp::uid_expunge: return "uid-expunge";
    case ImapOp::move: return "move";
    case ImapOp::idle: return "idle";
    case ImapOp::noop: return "noop";
    case ImapOp::status: return "status";
    case ImapOp::fetch_all: return "fetch-all";
  }
  return "?";
}

std::string_view to_string(ImapAppend::Outcome o) noexcept {
  switch (o) {
    case ImapAppend::Outcome::not_sent: return "not_sent";
    case ImapAppend::Outcome::pending: return "pending";
    case ImapAppend::Outcome::acked: return "acked";
    case ImapAppend::Outcome::refused: return "refused";
    case ImapAppend::Outcome::unknown: return "unknown";
  }
  return "?";
}

ImapAppend& ImapLedger::add_append() {
  appends_.emplace_back();
  appends_.back().id = appends_.size();
  return appends_.back();
}

std::string header_sim_id(std::string_view message) {
  const std::size_t end = message.find("\r\n\r\n");
  const std::string_view head = message.substr(0, end);
  std::size_t at = std::string_view::npos;
  if (head.starts_with("X-Sim-Id: ")) {
    at = 0;
  } else if (const std::size_t p = head.find("\r\nX-Sim-Id: "); p != std::string_view::npos) {
    at = p + 2;
  }
  if (at == std::string_view::npos) return {};
  const std::size_t v = at + 10;
  const std::size_t eol = head.find("\r\n", v);
  return std::string(head.substr(v, eol == std::string_view::npos ? std::string_view::npos : eol - v));
}

// ============================================================================ plans

std::vector<ImapSessionPlan> plan_imap_sessions(Prng& rng, const ImapWorkloadConfig& config, std::uint32_t count,
                                                std::uint32_t first_index, const std::vector<HostId>& clients,
                                                const std::vector<rt::Endpoint>& servers, bool liveness,
                                                ImapLedger& ledger) {
  MAIL_ASSERT(!clients.empty());
  MAIL_ASSERT(!servers.empty());
  MAIL_ASSERT(!config.folders.empty());
  const ImapOpMix& mix = config.mix;
  MAIL_ASSERT(mix.total() > 0);
  std::vector<std::string> all{"INBOX"};
  all.insert(all.end(), config.folders.begin(), config.folders.end());
  std::vector<ImapSessionPlan> plans;
  for (std::uint32_t i = 0; i < count; ++i) {
    ImapSessionPlan p;
    p.index = first_index + i;
    p.liveness = liveness;
    p.client = clients[rng.below(clients.size())];
    p.server = servers[rng.below(servers.size())];  // drawn for liveness too: one stream either way
    if (liveness) p.server = servers[i % servers.size()];
    p.server.port = config.port;
    p.start = liveness ? Duration(static_cast<std::int64_t>(rng.below(1'000'000))) : config.session_start.draw(rng);
    p.rng_seed = rng.next_u64();
    std::uint64_t bytes = 200;
    auto add_append = [&](const std::string& folder) {
      ImapAppend& a = ledger.add_append();
      a.session = p.index;
      a.liveness = liveness;
      a.server = p.server.address;
      a.folder = folder;
      std::string id = std::to_string(a.id);
      id.insert(id.begin(), 'a');  // not "a" + ...: GCC 12 -Wrestrict misfires (make werror)
      a.content = "From: <imap" + std::to_string(p.index) + "@clients.test>\r\nSubject: appended " + id +
                  "\r\nMessage-ID: <sim." + id + "@clients.test>\r\nX-Sim-Id: " + id + "\r\n\r\n" +
                  sim_message_body(rng, config.message_bytes.draw(rng), 100'000);
      bytes += a.content.size() + 60;
      ImapStep s;
      s.op = ImapOp::append;
      s.folder = folder;
      s.append = a.id;
      p.steps.push_back(std::move(s));
    };
    if (liveness) {
      // After the heal: one append that must be acked, then every folder read in full.
      add_append(config.folders[rng.below(config.folders.size())]);
      for (const auto& f : all) p.steps.push_back(ImapStep{ImapOp::fetch_all, f, 0, Duration(0), 0});
      plans.push_back(std::move(p));
      continue;
    }
    p.steps.push_back(ImapStep{ImapOp::select, all[rng.below(all.size())], 0, Duration(0), 0});
    const std::uint64_t n = config.ops_per_session.draw(rng);
    for (std::uint64_t k = 0; k < n; ++k) {
      // Cumulative weights, in this order (the default mix sums to 100: the draws of old).
      std::uint64_t r = rng.below(mix.total());
      auto take = [&r](std::uint32_t weight) {
        if (r < weight) return true;
        r -= weight;
        return false;
      };
      ImapStep s;
      if (take(mix.append)) {
        add_append(config.folders[rng.below(config.folders.size())]);
        continue;
      }
      if (take(mix.fetch)) {
        s.op = ImapOp::fetch;
      } else if (take(mix.store)) {
        s.op = ImapOp::store;
      } else if (take(mix.expunge)) {
        s.op = ImapOp::expunge;
      } else if (take(mix.uid_expunge)) {
        s.op = ImapOp::uid_expunge;
      } else if (take(mix.move)) {
        s.op = ImapOp::move;
        s.folder = config.folders[rng.below(config.folders.size())];
      } else if (take(mix.idle)) {
        s.op = ImapOp::idle;
        s.idle = config.idle.draw(rng);
      } else if (take(mix.noop)) {
        s.op = ImapOp::noop;
      } else if (take(mix.status)) {
        s.op = ImapOp::status;
        s.folder = all[rng.below(all.size())];
      } else {
        s.op = ImapOp::select;
        s.folder = all[rng.below(all.size())];
      }
      s.pick = rng.next_u64();
      bytes += 60;
      p.steps.push_back(std::move(s));
    }
    if (rng.chance_ppm(config.abrupt_disconnect_ppm)) p.hang_up_after_bytes = rng.between(1, bytes);
    plans.push_back(std::move(p));
  }
  return plans;
}

// ============================================================================ sessions

namespace {

struct Answer {
  bool complete = false;  // the tagged response arrived
  std::string status;     // OK / NO / BAD
  std::string text;
  std::vector<ImapResponse> untagged;
  std::uint64_t sent = 0, received = 0;
  bool ok() const noexcept { return complete && status == "OK"; }
};

struct Session {
  Session(rt::Env& e, const ImapSessionPlan& p, const ImapWorkloadConfig& c, ImapLedger& l, SessionStats& st)
      : env(e), plan(p), config(c), ledger(l), stats(st), tag("imap-session=" + std::to_string(p.index)),
        rng(p.rng_seed), buf(16 * 1024) {}
  rt::Env& env;
  const ImapSessionPlan& plan;
  const ImapWorkloadConfig& config;
  ImapLedger& ledger;
  SessionStats& stats;
  std::string tag;
  Prng rng;
  std::vector<std::byte> buf;
  std::unique_ptr<rt::Stream> stream;
  ImapClient client;
  std::uint64_t bytes_sent = 0;
  bool dead = false;
  std::string selected;  // "" when no folder is selected
  std::uint32_t uidvalidity = 0;
  std::uint32_t exists = 0;

  Instant now() const { return env.clock().now(); }
  void log(const std::string& what) { env.log().write(rt::LogLevel::info, tag + " " + what); }
  void problem(const std::string& what) { ledger.problems.push_back(tag + ": " + what); }
  void close() {
    if (stream) stream->close();
    dead = true;
  }
};

// Sends `bytes` (or, at the planned hang-up point, the prefix before it and then closes).
rt::Task<bool> send(Session& s, std::string bytes) {
  if (s.dead) co_return false;
  std::size_t n = bytes.size();
  bool hang = false;
  if (s.plan.hang_up_after_bytes && s.bytes_sent + n >= *s.plan.hang_up_after_bytes) {
    n = static_cast<std::size_t>(*s.plan.hang_up_after_bytes - s.bytes_sent);
    hang = true;
  }
  if (n > 0) {
    const std::span<const std::byte> out = std::as_bytes(std::span<const char>(bytes.data(), n));
    const Instant deadline = s.now() + s.config.command_timeout;
    auto written = co_await rt::write_all(*s.stream, out, deadline);
    if (!written) {
      s.log("write failed: " + std::string(to_string(written.code())));
      s.close();
      co_return false;
    }
    s.bytes_sent += n;
  }
  if (hang) {
    s.log("hangs up after " + std::to_string(s.bytes_sent) + " bytes");
    ++s.stats.hung_up;
    s.close();
    co_return false;
  }
  co_return true;
}

// The next response by `deadline`; nullopt on a timeout (`*timed_out` set when asked for)
// or when the connection is gone.
rt::Task<std::optional<ImapResponse>> next_response(Session& s, Instant deadline, bool* timed_out) {
  ImapRead r = co_await read_response(s.client, s.stream, s.buf, s.dead, deadline);
  if (r.response) co_return std::move(r.response);
  if (!r.protocol_error.empty()) {
    s.problem(r.protocol_error);
    s.close();
  } else if (r.read_error == Errc::timeout && timed_out != nullptr) {
    *timed_out = true;
  } else if (r.read_error != Errc::ok) {
    s.log("read: " + std::string(to_string(r.read_error)));
    s.close();
  }
  co_return std::nullopt;
}

void absorb_unsolicited(Session& s, const ImapResponse& r) {
  if (r.status == "EXISTS") {
    std::size_t i = 2;
    std::uint32_t v = 0;
    while (i < r.text.size() && r.text[i] >= '0' && r.text[i] <= '9') v = v * 10 + static_cast<std::uint32_t>(r.text[i++] - '0');
    s.exists = v;
  }
}

// Reads until the tagged response of the command last framed by s.client.
rt::Task<Answer> read_answer(Session& s, Answer a) {
  const std::string tag = s.client.last_tag();
  const Instant deadline = s.now() + s.config.command_timeout;
  for (;;) {
    auto r = co_await next_response(s, deadline, nullptr);
    if (!r) {
      s.close();
      co_return a;
    }
    if (r->kind == ImapResponse::Kind::tagged) {
      if (r->tag != tag) s.problem("tagged response " + r->tag + " while waiting for " + tag);
      a.complete = true;
      a.status = r->status;
      a.text = r->text;
      a.received = s.ledger.tick();
      co_return a;
    }
    if (r->kind == ImapResponse::Kind::continuation) {
      s.problem("unexpected continuation: " + r->text.substr(0, 80));
      continue;
    }
    absorb_unsolicited(s, *r);
    a.untagged.push_back(std::move(*r));
  }
}

rt::Task<Answer> exchange(Session& s, std::string bytes) {
  Answer a;
  a.sent = s.ledger.tick();
  if (!co_await send(s, std::move(bytes))) co_return a;
  Answer done = co_await read_answer(s, std::move(a));
  co_return done;
}

void record_counters(Session& s, const std::string& folder, std::uint32_t uidvalidity, const std::string& text,
                     const Answer& a) {
  auto add = [&](CounterObservation::Kind kind, std::optional<std::uint64_t> v) {
    if (!v) return;
    CounterObservation c;
    c.kind = kind;
    c.server = s.plan.server.address;
    c.folder = folder;
    c.uidvalidity = uidvalidity;
    c.value = *v;
    c.session = s.plan.index;
    c.sent = a.sent;
    c.received = a.received;
    s.ledger.counters.push_back(std::move(c));
  };
  add(CounterObservation::Kind::uidnext, response_code_number(text, "UIDNEXT"));
  add(CounterObservation::Kind::highestmodseq, response_code_number(text, "HIGHESTMODSEQ"));
}

rt::Task<void> do_select(Session& s, const std::string& folder) {
  std::string cmd = s.client.command("SELECT " + folder + " (CONDSTORE)");
  Answer a = co_await exchange(s, std::move(cmd));
  s.selected.clear();
  if (!a.ok()) {
    if (a.complete) s.log("SELECT " + folder + ": " + a.text.substr(0, 100));
    co_return;
  }
  std::optional<std::uint64_t> uv;
  for (const auto& r : a.untagged) {
    if (auto v = response_code_number(r.text, "UIDVALIDITY")) uv = v;
  }
  if (!uv) {
    s.problem("SELECT " + folder + " without UIDVALIDITY");
    co_return;
  }
  s.selected = folder;
  s.uidvalidity = static_cast<std::uint32_t>(*uv);
  for (const auto& r : a.untagged) record_counters(s, folder, s.uidvalidity, r.text, a);
}

void record_fetches(Session& s, const Answer& a, FinalView* final_view) {
  for (const auto& r : a.untagged) {
    auto f = parse_fetch(r);
    if (!f || !f->body_literal) continue;
    const std::string& body = r.literals[*f->body_literal];
    UidObservation o;
    o.source = UidObservation::Source::fetch;
    o.server = s.plan.server.address;
    o.folder = s.selected;
    o.uidvalidity = s.uidvalidity;
    o.uid = f->uid;
    o.sim_id = header_sim_id(body);
    o.content_hash = fnv1a64(body);
    o.content = body;
    o.session = s.plan.index;
    o.sent = a.sent;
    o.received = a.received;
    if (final_view != nullptr) ++final_view->sim_ids[o.sim_id];
    s.ledger.uids.push_back(std::move(o));
  }
}

// A UID of the selected folder the ledger knows: appended (and not being removed) when
// `own_only`, else anything seen there too.
std::optional<std::uint32_t> pick_uid(Session& s, std::uint64_t pick, bool own_only) {
  if (s.selected.empty()) return std::nullopt;
  std::vector<std::uint32_t> c;
  for (const auto& a : s.ledger.appends()) {
    if (a.outcome == ImapAppend::Outcome::acked && !a.removal_requested && a.server == s.plan.server.address &&
        a.at_folder == s.selected && a.uidvalidity == s.uidvalidity)
      c.push_back(a.uid);
  }
  if (!own_only) {
    for (const auto& o : s.ledger.uids) {
      if (o.server == s.plan.server.address && o.folder == s.selected && o.uidvalidity == s.uidvalidity) c.push_back(o.uid);
    }
  }
  std::sort(c.begin(), c.end());
  c.erase(std::unique(c.begin(), c.end()), c.end());
  if (c.empty()) return std::nullopt;
  return c[pick % c.size()];
}

ImapAppend* append_at(Session& s, std::uint32_t uid) {
  for (const auto& a : s.ledger.appends()) {
    if (a.outcome == ImapAppend::Outcome::acked && a.server == s.plan.server.address && a.at_folder == s.selected &&
        a.uidvalidity == s.uidvalidity && a.uid == uid)
      return &s.ledger.append(a.id);
  }
  return nullptr;
}

rt::Task<void> do_append(Session& s, const ImapStep& step) {
  ImapAppend& e = s.ledger.append(step.append);
  e.outcome = ImapAppend::Outcome::pending;
  std::string cmd = s.client.append(step.folder, "", e.content);
  Answer a = co_await exchange(s, std::move(cmd));
  e.sent = a.sent;
  e.received = a.received;
  if (!a.complete) {
    e.outcome = ImapAppend::Outcome::unknown;
    e.reply = "no answer";
    co_return;
  }
  e.reply = a.text.substr(0, 120);
  if (a.status != "OK") {
    e.outcome = ImapAppend::Outcome::refused;
    s.log("append a" + std::to_string(e.id) + " refused: " + e.reply);
    co_return;
  }
  e.outcome = ImapAppend::Outcome::acked;
  auto uid = parse_appenduid(a.text);
  if (!uid) {
    s.problem("APPEND OK without APPENDUID: " + e.reply);
    co_return;
  }
  e.at_folder = step.folder;
  e.uidvalidity = uid->uidvalidity;
  e.uid = uid->uid;
  e.located = a.received;
  UidObservation o;
  o.source = UidObservation::Source::appenduid;
  o.server = s.plan.server.address;
  o.folder = step.folder;
  o.uidvalidity = uid->uidvalidity;
  o.uid = uid->uid;
  o.sim_id = "a" + std::to_string(e.id);
  o.content_hash = fnv1a64(e.content);
  o.session = s.plan.index;
  o.sent = a.sent;
  o.received = a.received;
  s.ledger.uids.push_back(std::move(o));
  s.log("append a" + std::to_string(e.id) + " acked " + step.folder + " uid " + std::to_string(e.uid));
}

rt::Task<void> do_fetch(Session& s, const ImapStep& step) {
  if (s.selected.empty()) co_return;
  std::string cmd;
  if (auto uid = pick_uid(s, step.pick, false)) {
    cmd = s.client.command("UID FETCH " + std::to_string(*uid) + " (UID MODSEQ BODY.PEEK[])");
  } else if (s.exists > 0) {
    const std::uint64_t lo = 1 + step.pick % s.exists;
    const std::uint64_t hi = std::min<std::uint64_t>(s.exists, lo + 2);
    cmd = s.client.command("FETCH " + std::to_string(lo) + ":" + std::to_string(hi) + " (UID MODSEQ BODY.PEEK[])");
  } else {
    co_return;
  }
  Answer a = co_await exchange(s, std::move(cmd));
  if (a.complete) record_fetches(s, a, nullptr);
}

rt::Task<void> do_store(Session& s, const ImapStep& step) {
  auto uid = pick_uid(s, step.pick, false);
  if (!uid) co_return;
  const char* what = (step.pick >> 32) % 3 == 0 ? "+FLAGS (\\Flagged)" : (step.pick >> 32) % 3 == 1 ? "-FLAGS (\\Flagged)" : "+FLAGS (\\Seen)";
  std::string cmd = s.client.command("UID STORE " + std::to_string(*uid) + " " + what);
  (void)co_await exchange(s, std::move(cmd));
}

rt::Task<void> do_expunge(Session& s, const ImapStep& step, bool by_uid) {
  auto uid = pick_uid(s, step.pick, true);
  if (!uid) co_return;
  if (ImapAppend* e = append_at(s, *uid)) {
    e->removal_requested = true;
    e->touched = s.ledger.now() + 1;
  }
  std::string cmd = s.client.command("UID STORE " + std::to_string(*uid) + " +FLAGS.SILENT (\\Deleted)");
  Answer a = co_await exchange(s, std::move(cmd));
  if (!a.ok()) co_return;
  std::string expunge = s.client.command(by_uid ? "UID EXPUNGE " + std::to_string(*uid) : std::string("EXPUNGE"));
  (void)co_await exchange(s, std::move(expunge));
}

rt::Task<void> do_move(Session& s, const ImapStep& step) {
  auto uid = pick_uid(s, step.pick, true);
  if (!uid) co_return;
  std::string dest = step.folder;
  if (dest == s.selected) {
    for (const auto& f : s.config.folders) {
      if (f != s.selected) dest = f;
    }
  }
  if (dest == s.selected) co_return;
  const std::uint64_t id = append_at(s, *uid)->id;
  s.ledger.append(id).touched = s.ledger.now() + 1;
  std::string cmd = s.client.command("UID MOVE " + std::to_string(*uid) + " " + dest);
  Answer a = co_await exchange(s, std::move(cmd));
  ImapAppend& e = s.ledger.append(id);
  if (!a.complete) {
    e.move_unknown = true;  // it may be in either folder now
    co_return;
  }
  if (!a.ok()) co_return;
  std::optional<CopyUid> copy = parse_copyuid(a.text);
  for (const auto& r : a.untagged) {
    if (!copy) copy = parse_copyuid(r.text);
  }
  // RFC 6851 §4.3: no COPYUID when nothing was moved (another session got there first).
  if (!copy) co_return;
  for (std::size_t i = 0; i < copy->source.size(); ++i) {
    if (copy->source[i] != *uid) {
      s.problem("MOVE of uid " + std::to_string(*uid) + " answered COPYUID for uid " + std::to_string(copy->source[i]));
      continue;
    }
    e.at_folder = dest;
    e.uidvalidity = copy->uidvalidity;
    e.uid = copy->dest[i];
    e.located = a.received;
    UidObservation o;
    o.source = UidObservation::Source::copyuid;
    o.server = s.plan.server.address;
    o.folder = dest;
    o.uidvalidity = copy->uidvalidity;
    o.uid = copy->dest[i];
    o.sim_id = "a" + std::to_string(e.id);
    o.content_hash = fnv1a64(e.content);
    o.session = s.plan.index;
    o.sent = a.sent;
    o.received = a.received;
    s.ledger.uids.push_back(std::move(o));
    s.log("moved a" + std::to_string(e.id) + " to " + dest + " uid " + std::to_string(e.uid));
  }
}

rt::Task<void> do_idle(Session& s, const ImapStep& step) {
  std::string cmd = s.client.command("IDLE");
  Answer a;
  a.sent = s.ledger.tick();
  if (!co_await send(s, std::move(cmd))) co_return;
  // RFC 2177 §3: "+ idling", then untagged updates until DONE.
  const Instant until = s.now() + step.idle;
  const Instant deadline = s.now() + s.config.command_timeout;
  for (;;) {
    auto r = co_await next_response(s, deadline, nullptr);
    if (!r) co_return;
    if (r->kind == ImapResponse::Kind::continuation) break;
    if (r->kind == ImapResponse::Kind::tagged) {
      s.problem("IDLE refused: " + r->text);
      co_return;
    }
    absorb_unsolicited(s, *r);
  }
  for (;;) {
    bool timed_out = false;
    auto r = co_await next_response(s, until, &timed_out);
    if (timed_out) break;
    if (!r) co_return;
    if (r->kind != ImapResponse::Kind::untagged) {
      s.problem("during IDLE: " + r->text.substr(0, 80));
      continue;
    }
    absorb_unsolicited(s, *r);
  }
  std::string done = "DONE\r\n";
  if (!co_await send(s, std::move(done))) co_return;
  (void)co_await read_answer(s, std::move(a));
}

rt::Task<void> do_status(Session& s, const ImapStep& step) {
  std::string cmd = s.client.command("STATUS " + step.folder + " (UIDNEXT UIDVALIDITY HIGHESTMODSEQ)");
  Answer a = co_await exchange(s, std::move(cmd));
  if (!a.ok()) co_return;
  for (const auto& r : a.untagged) {
    if (r.status != "STATUS") continue;
    // "* STATUS Drafts (UIDNEXT 5 UIDVALIDITY 17 HIGHESTMODSEQ 9)": as response codes.
    const std::size_t open = r.text.find('(');
    if (open == std::string::npos) continue;
    std::string items = r.text.substr(open + 1);
    auto value = [&](const std::string& key) -> std::optional<std::uint64_t> {
      const std::size_t at = items.find(key + " ");
      if (at == std::string::npos) return std::nullopt;
      std::uint64_t v = 0;
      std::size_t i = at + key.size() + 1;
      if (i >= items.size() || items[i] < '0' || items[i] > '9') return std::nullopt;
      while (i < items.size() && items[i] >= '0' && items[i] <= '9') v = v * 10 + static_cast<std::uint64_t>(items[i++] - '0');
      return v;
    };
    auto uv = value("UIDVALIDITY");
    if (!uv) continue;
    std::string codes;
    if (auto n = value("UIDNEXT")) codes += "[UIDNEXT " + std::to_string(*n) + "]";
    if (auto m = value("HIGHESTMODSEQ")) codes += "[HIGHESTMODSEQ " + std::to_string(*m) + "]";
    record_counters(s, step.folder, static_cast<std::uint32_t>(*uv), codes, a);
  }
}

rt::Task<void> do_fetch_all(Session& s, const ImapStep& step) {
  co_await do_select(s, step.folder);
  if (s.selected != step.folder) co_return;
  std::string cmd = s.client.command("UID FETCH 1:* (UID BODY.PEEK[])");
  Answer a = co_await exchange(s, std::move(cmd));
  if (!a.ok()) {
    s.problem("final UID FETCH of " + step.folder + " failed: " + a.text.substr(0, 80));
    co_return;
  }
  s.log("read " + step.folder + ": " + std::to_string(a.untagged.size()) + " responses");
  FinalView v;
  v.server = s.plan.server.address;
  v.folder = step.folder;
  v.sent = a.sent;
  record_fetches(s, a, &v);
  s.ledger.finals.push_back(std::move(v));
}

rt::Task<void> run_steps(Session& s) {
  for (const ImapStep& step : s.plan.steps) {
    if (s.dead) break;
    switch (step.op) {
      case ImapOp::select: co_await do_select(s, step.folder); break;
      case ImapOp::append: co_await do_append(s, step); break;
      case ImapOp::fetch: co_await do_fetch(s, step); break;
      case ImapOp::store: co_await do_store(s, step); break;
      case ImapOp::expunge: co_await do_expunge(s, step, false); break;
      case ImapOp::uid_expunge: co_await do_expunge(s, step, true); break;
      case ImapOp::move: co_await do_move(s, step); break;
      case ImapOp::idle: co_await do_idle(s, step); break;
      case ImapOp::noop: {
        std::string cmd = s.client.command("NOOP");
        (void)co_await exchange(s, std::move(cmd));
        break;
      }
      case ImapOp::status: co_await do_status(s, step); break;
      case ImapOp::fetch_all: co_await do_fetch_all(s, step); break;
    }
  }
  if (s.dead) co_return;
  std::string cmd = s.client.command("LOGOUT");
  (void)co_await exchange(s, std::move(cmd));
}

rt::Task<bool> open_session(Session& s) {
  if (!co_await connect_tls(s)) co_return false;
  auto greeting = co_await next_response(s, s.now() + s.config.command_timeout, nullptr);
  if (!greeting) co_return false;
  if (greeting->kind != ImapResponse::Kind::untagged || greeting->status != "OK") {
    s.log("greeting: " + greeting->text.substr(0, 80));
    s.close();
    co_return false;
  }
  std::string cmd = s.client.command("LOGIN " + s.config.user + " \"" + s.config.password + "\"");
  Answer a = co_await exchange(s, std::move(cmd));
  if (!a.ok()) {
    if (a.complete) s.problem("LOGIN refused: " + a.text.substr(0, 80));
    s.close();
    co_return false;
  }
  ++s.stats.authenticated_sessions;
  co_return true;
}

}  // namespace

rt::Task<void> run_imap_session(rt::Env& env, ImapSessionPlan plan, ImapWorkloadConfig config, ImapLedger& ledger,
                                SessionStats& stats) {
  ++stats.started;
  Session s(env, plan, config, ledger, stats);
  if (co_await open_session(s)) co_await run_steps(s);
  s.close();
  // Appends that never got an answer: unknown (they may or may not be stored).
  for (const ImapStep& step : plan.steps) {
    if (step.op != ImapOp::append) continue;
    ImapAppend& e = ledger.append(step.append);
    if (e.outcome == ImapAppend::Outcome::pending) {
      e.outcome = ImapAppend::Outcome::unknown;
      e.reply = "no answer";
    }
  }
  s.log("finished after " + std::to_string(s.bytes_sent) + " bytes");
  ++stats.finished;
}

void launch_imap_sessions(World& world, Instant phase_start, std::vector<ImapSessionPlan> plans,
                          const ImapWorkloadConfig& config, ImapLedger& ledger, SessionStats& stats) {
  spawn_sessions(world, phase_start, std::move(plans), config, ledger, stats, &run_imap_session);
}

}  // namespace mail::sim
