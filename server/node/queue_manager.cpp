// QueueManager (see header). Must not: act on an outcome before it is durable (appended, or
// the message removed), send a DSN to <> or about a DSN, scan the whole queue per tick (the
// heap holds due times; stale entries are skipped by generation), or read a clock other
// than env.clock().
#include "node/queue_manager.h"

#include <algorithm>
#include <utility>

#include "core/assert.h"
#include "node/remote_delivery.h"
#include "proto/message/dsn.h"
#include "runtime/await.h"

namespace mail::node {
namespace {

using Kind = QueueManager::Outcome::Kind;
using store::QueueRecord;
using store::RecipientState;

bool is_final(RecipientState s) noexcept { return s == RecipientState::delivered || s == RecipientState::bounced; }

bool all_final(const store::QueuedMessage& m) {
  return std::all_of(m.recipients.begin(), m.recipients.end(), [](const auto& r) { return is_final(r.state); });
}

// RFC 3461 §4.1: no NOTIFY means the MTA's default, "FAILURE" or "FAILURE,DELAY" (ours).
bool notify_failure(const smtp::DsnNotify& n) noexcept { return !n.any() || n.failure; }
bool notify_delay(const smtp::DsnNotify& n) noexcept { return !n.any() || n.delay; }
bool notify_success(const smtp::DsnNotify& n) noexcept { return n.success; }

// "550 5.1.1 <u@b.test>: user unknown" — one line, for the state log and DSNs.
std::string reply_line(const smtp::Reply& r) {
  std::string out = std::to_string(r.code);
  if (!r.enhanced.empty()) {
    out += ' ';
    out += r.enhanced.to_string();
  }
  for (const auto& line : r.lines) {
    out += ' ';
    out += line;
  }
  constexpr std::size_t max_line = 900;
  if (out.size() > max_line) out.resize(max_line);
  for (char& c : out) {
    if (c == '\r' || c == '\n' || c == '\0') c = ' ';
  }
  return out;
}

bool has_8bit(std::string_view s) noexcept {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

WallTime plus(WallTime t, Duration d) { return WallTime{t.unix_us + d.count()}; }

// RFC 3464 §2.3.4 Status: the reply line's enhanced code ("550 5.1.1 text") when it has one
// of its own class, else x.0.0 from the action (RFC 3463 §3.1).
std::string dsn_status_of(std::string_view reply, message::DsnAction action) {
  const auto sp = reply.find(' ');
  if (sp != std::string_view::npos) {
    std::string_view word = reply.substr(sp + 1);
    word = word.substr(0, word.find(' '));
    if (message::is_valid_status(word) && word[0] == reply[0]) return std::string(word);
  }
  switch (action) {
    case message::DsnAction::delayed: return message::default_status(400);
    case message::DsnAction::failed: return message::default_status(500);
    default: return message::default_status(200);
  }
}

std::string address_of(const smtp::Path& p) { return p.mailbox ? p.mailbox->to_string() : std::string(); }

}  // namespace

QueueManager::QueueManager(rt::Env& env, QueueManagerConfig config, LocalDelivery& local)
    : env_(env),
      config_(std::move(config)),
      local_(local),
      queue_(env, store::OutboundQueueConfig{config_.data_dir}),
      router_(env, config_.router),
      ids_(env.rng().fork("outbound-id")),
      dsn_ids_(env.rng().fork("dsn-id")),
      timer_(env.clock().make_timer()),
      stop_timer_(env.clock().make_timer()) {
  MAIL_ASSERT(!config_.data_dir.empty());
  MAIL_ASSERT(config_.max_connections > 0 && config_.per_destination > 0);
}

QueueManager::~QueueManager() = default;

std::string_view QueueManager::hostname() const {
  return config_.hostname.empty() ? env_.hostname() : std::string_view(config_.hostname);
}

void QueueManager::log(rt::LogLevel level, const std::string& line) { env_.log().write(level, line); }

std::string QueueManager::new_id() {
  for (;;) {
    std::string id = make_queue_id(ids_);
    if (!messages_.contains(id)) return id;
  }
}

Instant QueueManager::instant_of(WallTime when) const {
  const WallTime now = env_.clock().wall_now();
  const Instant mono = env_.clock().now();
  return when <= now ? mono : mono + Duration(when.unix_us - now.unix_us);
}

// ---------------------------------------------------------------------------- lifecycle

rt::Task<Status> QueueManager::start() {
  MAIL_ASSERT(!started_);
  const std::string where = config_.data_dir + "/queue";
  if (Status opened = co_await queue_.open(); !opened.ok()) {
    co_return fail(opened.code(), "cannot open the queue in " + where + ": " + opened.error().detail);
  }
  auto loaded = co_await queue_.load_all();
  if (!loaded.ok()) co_return fail(loaded.code(), "cannot read the queue in " + where + ": " + loaded.error().detail);
  for (const auto& problem : loaded->problems) log(rt::LogLevel::warn, "queue: " + problem);
  std::vector<std::string> done;
  for (auto& msg : loaded->messages) {
    const std::string id = msg.id;
    Live& live = messages_.emplace(id, Live{std::move(msg)}).first->second;
    if (all_final(live.msg)) {
      done.push_back(id);
    } else if (!live.msg.held) {
      schedule_next_retry(live);
    }
  }
  started_ = true;
  if (!messages_.empty()) {
    log(rt::LogLevel::info, "queue: resumed " + std::to_string(messages_.size()) + " message(s) from " + where);
  }
  for (auto& id : done) spawn(finalize(std::move(id)));
  env_.tasks().spawn(scheduler());
  co_return Status{};
}

rt::Task<void> QueueManager::stop(Instant deadline) {
  if (!started_ || stopping_) co_return;
  stopping_ = true;
  poke();
  for (auto& [domain, lane] : lanes_) lane->close_idle();  // idle connections QUIT now
  while (tasks_in_flight_ > 0 || scheduler_running_) {
    const Instant now = env_.clock().now();
    if (now >= deadline) break;
    (void)co_await rt::sleep_until(*stop_timer_, std::min(deadline, now + Duration(50ms)));
  }
}

void QueueManager::spawn(rt::Task<void> task) {
  ++tasks_in_flight_;
  env_.tasks().spawn(counted(std::move(task)));
}

rt::Task<void> QueueManager::counted(rt::Task<void> task) {
  co_await std::move(task);
  MAIL_ASSERT(tasks_in_flight_ > 0);
  --tasks_in_flight_;
}

// ---------------------------------------------------------------------------- scheduling

void QueueManager::poke() {
  poked_ = true;
  if (sleeping_) timer_->cancel();
}

rt::Task<void> QueueManager::scheduler() {
  scheduler_running_ = true;
  while (!stopping_) {
    poked_ = false;
    const Instant now = env_.clock().now();
    while (!heap_.empty() && heap_.top().at <= now) {
      Due due = heap_.top();
      heap_.pop();
      auto it = messages_.find(due.id);
      if (it == messages_.end() || it->second.generation != due.generation) continue;  // stale
      dispatch(it->second);
    }
    pump_lanes();
    if (poked_ || stopping_) continue;
    // Sleep until the earliest due time (at most an hour: then look again), or a poke.
    Instant until = env_.clock().now() + Duration(1h);
    if (!heap_.empty()) until = std::min(until, heap_.top().at);
    sleeping_ = true;
    (void)co_await rt::sleep_until(*timer_, until);
    sleeping_ = false;
  }
  scheduler_running_ = false;
}

void QueueManager::schedule(Live& live, Instant at) {
  ++live.generation;
  heap_.push(Due{at, live.generation, live.msg.id});
  if (!heap_.empty() && heap_.top().id == live.msg.id && heap_.top().generation == live.generation) poke();
}

void QueueManager::schedule_next_retry(Live& live) {
  std::optional<WallTime> earliest;
  for (const auto& r : live.msg.recipients) {
    if (r.state == RecipientState::pending) {
      earliest = WallTime{};  // now
      break;
    }
    if (r.state == RecipientState::deferred && (!earliest || r.next_attempt < *earliest)) earliest = r.next_attempt;
  }
  if (!earliest) return;
  schedule(live, instant_of(*earliest));
}

void QueueManager::dispatch(Live& live) {
  store::QueuedMessage& m = live.msg;
  if (m.held || live.finishing || live.batches_out > 0 || stopping_) return;
  const WallTime now = env_.clock().wall_now();
  std::vector<std::uint32_t> local;
  std::map<std::string, std::vector<std::uint32_t>> remote;
  for (std::uint32_t i = 0; i < m.recipients.size(); ++i) {
    const auto& r = m.recipients[i];
    const bool due = r.state == RecipientState::pending || (r.state == RecipientState::deferred && r.next_attempt <= now);
    if (!due || r.recipient.path.is_null()) continue;
    const smtp::AddressRoute route = smtp::route_of(*r.recipient.path.mailbox, config_.policy);
    if (route.where == smtp::Destination::local) {
      local.push_back(i);
    } else {
      remote[route.domain].push_back(i);
    }
  }
  if (!local.empty()) {
    ++live.batches_out;
    ++counters_.attempts;
    spawn(deliver_local(Batch{m.id, std::move(local)}));
  }
  for (auto& [domain, indexes] : remote) {
    ++live.batches_out;
    ++counters_.attempts;
    auto& lane = lanes_[domain];
    if (!lane) lane = std::make_unique<RemoteLane>(*this, domain);
    lane->add(Batch{m.id, std::move(indexes)});
  }
  if (live.batches_out == 0) schedule_next_retry(live);  // nothing due yet (flushed early?)
}

bool QueueManager::may_open_connection() const noexcept {
  return !stopping_ && counters_.active_connections < config_.max_connections;
}

void QueueManager::connection_opened() {
  ++counters_.active_connections;
  ++tasks_in_flight_;
}

void QueueManager::lane_connection_ended(RemoteLane& /*lane*/) {
  MAIL_ASSERT(counters_.active_connections > 0 && tasks_in_flight_ > 0);
  --counters_.active_connections;
  --tasks_in_flight_;
  poke();  // the scheduler pumps the lanes (never from inside a lane's own frame)
}

void QueueManager::pump_lanes() {
  for (auto it = lanes_.begin(); it != lanes_.end();) {
    RemoteLane& lane = *it->second;
    if (stopping_ && lane.waiting() > 0 && lane.connections() == 0) {
      // Not delivered before shutdown: the outcome is "not tried" — leave the state as it
      // is (the batch simply ends without a record) by retrying after restart.
    }
    lane.pump();
    if (lane.idle()) {
      it = lanes_.erase(it);
    } else {
      ++it;
    }
  }
}

// ---------------------------------------------------------------------------- accepting

rt::Task<DeliveryResult> QueueManager::accept(std::string id, const smtp::Envelope& envelope,
                                              std::vector<std::string> parts) {
  MAIL_ASSERT(started_);
  MAIL_ASSERT(store::is_valid_queue_id(id));
  store::QueuedMessage m;
  m.id = id;
  m.arrival = env_.clock().wall_now();
  m.sender = envelope.mail_from;
  m.mail_params = envelope.mail_params;
  m.mail_params.size.reset();
  m.mail_params.auth.reset();
  m.auth_identity = envelope.auth_identity;
  m.client_address = envelope.client_address;
  m.helo = envelope.helo;
  std::uint64_t size = 0;
  bool eight_bit = false;
  for (const auto& p : parts) {
    size += p.size();
    eight_bit = eight_bit || has_8bit(p);
  }
  // RFC 6152 §3: 8-bit content is never relayed as 7BIT, whatever the client declared.
  if (eight_bit && m.mail_params.body == smtp::BodyType::seven_bit) m.mail_params.body = smtp::BodyType::eight_bit_mime;
  m.size_bytes = size;
  for (const auto& r : envelope.recipients) {
    store::QueuedRecipient q;
    q.recipient = r;
    m.recipients.push_back(std::move(q));
  }
  MAIL_ASSERT(!m.recipients.empty());
  Status stored = co_await queue_.enqueue(m, std::move(parts));
  if (!stored.ok()) {
    log(rt::LogLevel::warn, id + ": cannot queue: " + std::string(to_string(stored.code())) + ": " + stored.error().detail);
    co_return DeliveryResult{storage_error_reply(stored.code()), {}, 0};
  }
  ++counters_.accepted;
  Live& live = messages_.emplace(id, Live{std::move(m)}).first->second;
  schedule(live, env_.clock().now());
  co_return DeliveryResult{queued_reply(id), id, size};
}

// ---------------------------------------------------------------------------- delivering

const store::QueuedMessage* QueueManager::message(const std::string& id) const {
  auto it = messages_.find(id);
  return it == messages_.end() ? nullptr : &it->second.msg;
}

rt::Task<void> QueueManager::deliver_local(Batch batch) {
  std::vector<Outcome> outcomes;
  auto content = co_await queue_.read_content(batch.message_id);
  const store::QueuedMessage* msg = message(batch.message_id);
  std::vector<smtp::Reply> replies;
  if (content.ok() && msg != nullptr) {
    std::vector<smtp::Path> paths;
    for (std::uint32_t i : batch.recipients) paths.push_back(msg->recipients.at(i).recipient.path);
    const smtp::Path sender = msg->sender;
    replies = co_await local_.deliver_queued(sender, paths, std::move(*content), batch.message_id);
  } else {
    replies.assign(batch.recipients.size(), smtp::Reply::make(451, {4, 3, 0}, "cannot read the queued message"));
  }
  for (std::size_t k = 0; k < batch.recipients.size(); ++k) {
    Outcome o;
    o.recipient = batch.recipients[k];
    o.reply = replies[k];
    o.remote_mta = std::string(hostname());
    o.kind = o.reply.positive() ? Kind::delivered : o.reply.permanent() ? Kind::bounced : Kind::deferred;
    outcomes.push_back(std::move(o));
  }
  finish_batch(std::move(batch), std::move(outcomes));
}

void QueueManager::finish_batch(Batch batch, std::vector<Outcome> outcomes) {
  MAIL_ASSERT(batch.recipients.size() == outcomes.size());
  spawn(record(std::move(batch.message_id), std::move(outcomes)));
}

rt::Task<void> QueueManager::record(std::string id, std::vector<Outcome> outcomes) {
  auto it = messages_.find(id);
  if (it == messages_.end()) co_return;  // removed meanwhile (queue delete)
  Live& live = it->second;
  const WallTime now = env_.clock().wall_now();
  std::vector<QueueRecord> records;
  bool need_dsn = false;
  bool all_delivered = true;
  for (auto& o : outcomes) {
    const store::QueuedRecipient& r = live.msg.recipients.at(o.recipient);
    QueueRecord rec;
    rec.recipient = o.recipient;
    rec.at = now;
    rec.reply = reply_line(o.reply);
    rec.remote_mta = o.remote_mta;
    switch (o.kind) {
      case Kind::delivered:
        rec.kind = QueueRecord::Kind::delivered;
        ++counters_.delivered;
        need_dsn = need_dsn || notify_success(r.recipient.params.notify);
        log(rt::LogLevel::info, id + ": to=<" + address_of(r.recipient.path) + ">, relay=" + o.remote_mta +
                                    ", status=sent (" + rec.reply + ")");
        break;
      case Kind::bounced:
        rec.kind = QueueRecord::Kind::bounced;
        ++counters_.bounced;
        all_delivered = false;
        need_dsn = need_dsn || notify_failure(r.recipient.params.notify);
        log(rt::LogLevel::warn, id + ": to=<" + address_of(r.recipient.path) + ">, relay=" +
                                    (o.remote_mta.empty() ? std::string("none") : o.remote_mta) + ", status=bounced (" +
                                    rec.reply + ")");
        break;
      case Kind::deferred: {
        all_delivered = false;
        auto next = smtp::next_retry(config_.retry, live.msg.arrival, r.attempts + 1, now);
        if (!next) {
          // RFC 3463 §3.5: 4.4.7 became permanent — the message's lifetime is over.
          rec.kind = QueueRecord::Kind::bounced;
          rec.reply = "554 5.4.7 delivery time expired; last error: " + rec.reply;
          if (rec.reply.size() > 900) rec.reply.resize(900);
          ++counters_.bounced;
          need_dsn = need_dsn || notify_failure(r.recipient.params.notify);
          log(rt::LogLevel::warn, id + ": to=<" + address_of(r.recipient.path) + ">, status=expired (" + rec.reply + ")");
        } else {
          rec.kind = QueueRecord::Kind::deferred;
          rec.next_attempt = *next;
          ++counters_.deferred;
          log(rt::LogLevel::info, id + ": to=<" + address_of(r.recipient.path) + ">, relay=" +
                                      (o.remote_mta.empty() ? std::string("none") : o.remote_mta) +
                                      ", status=deferred (" + rec.reply + ")");
        }
        break;
      }
    }
    records.push_back(std::move(rec));
  }
  if (live.msg.sender.is_null()) need_dsn = false;  // never a DSN about a DSN (RFC 3461 §6.2)
  // Done with nothing to report: removing the message is the durable record.
  bool others_final = true;
  for (std::uint32_t i = 0; i < live.msg.recipients.size(); ++i) {
    const bool in_batch = std::any_of(outcomes.begin(), outcomes.end(), [i](const Outcome& o) { return o.recipient == i; });
    if (!in_batch && !is_final(live.msg.recipients[i].state)) others_final = false;
  }
  const bool skip_append = all_delivered && !need_dsn && others_final && live.batches_out == 1;
  if (!skip_append) {
    Status appended = co_await queue_.append(id, records);
    it = messages_.find(id);
    if (it == messages_.end()) co_return;
    if (!appended.ok()) {
      log(rt::LogLevel::error, id + ": cannot record delivery state: " + appended.error().detail +
                                   " (the recipients will be tried again)");
      MAIL_ASSERT(it->second.batches_out > 0);
      --it->second.batches_out;
      if (it->second.batches_out == 0) schedule(it->second, env_.clock().now() + Duration(1min));
      co_return;
    }
  }
  Live& l = it->second;
  for (const auto& rec : records) store::apply(l.msg, rec);
  MAIL_ASSERT(l.batches_out > 0);
  --l.batches_out;
  co_await warn_delays(id);
  it = messages_.find(id);
  if (it == messages_.end() || it->second.batches_out > 0) co_return;
  if (all_final(it->second.msg)) {
    co_await finalize(id);
  } else if (!it->second.msg.held) {
    schedule_next_retry(it->second);
  }
}

// RFC 3461 §4.1 / RFC 3464: a "delayed" DSN once per recipient, after delay_warning.
rt::Task<void> QueueManager::warn_delays(std::string id) {
  auto it = messages_.find(id);
  if (it == messages_.end() || it->second.msg.sender.is_null()) co_return;
  const store::QueuedMessage& m = it->second.msg;
  const WallTime now = env_.clock().wall_now();
  std::vector<std::uint32_t> delayed;
  for (std::uint32_t i = 0; i < m.recipients.size(); ++i) {
    const auto& r = m.recipients[i];
    if (r.state == RecipientState::deferred && notify_delay(r.recipient.params.notify) &&
        smtp::delay_warning_due(config_.retry, m.arrival, now, r.delay_warned)) {
      delayed.push_back(i);
    }
  }
  if (delayed.empty()) co_return;
  std::vector<std::uint32_t> none;  // named: no braced temporaries in co_await (GCC 12)
  Status queued = co_await queue_dsn(id, "-W", none, delayed, none);
  if (!queued.ok()) co_return;
  std::vector<QueueRecord> records;
  for (std::uint32_t i : delayed) {
    QueueRecord rec;
    rec.kind = QueueRecord::Kind::delay_warned;
    rec.recipient = i;
    rec.at = now;
    records.push_back(std::move(rec));
  }
  if (Status s = co_await queue_.append(id, records); !s.ok()) co_return;
  it = messages_.find(id);
  if (it == messages_.end()) co_return;
  for (const auto& rec : records) store::apply(it->second.msg, rec);
}

rt::Task<void> QueueManager::finalize(std::string id) {
  auto it = messages_.find(id);
  if (it == messages_.end() || it->second.finishing) co_return;
  it->second.finishing = true;
  const store::QueuedMessage& m = it->second.msg;
  std::vector<std::uint32_t> failed, succeeded;
  for (std::uint32_t i = 0; i < m.recipients.size(); ++i) {
    const auto& r = m.recipients[i];
    if (r.state == RecipientState::bounced && notify_failure(r.recipient.params.notify)) failed.push_back(i);
    if (r.state == RecipientState::delivered && notify_success(r.recipient.params.notify)) succeeded.push_back(i);
  }
  if (m.sender.is_null()) {
    if (!failed.empty()) {
      ++counters_.dsns_dropped;
      log(rt::LogLevel::warn, id + ": undeliverable delivery status notification dropped (sender <>)");
    }
  } else if (!m.reported && (!failed.empty() || !succeeded.empty())) {
    std::vector<std::uint32_t> none;
    Status queued = co_await queue_dsn(id, "-B", failed, none, succeeded);
    it = messages_.find(id);
    if (it == messages_.end()) co_return;
    if (!queued.ok()) {
      it->second.finishing = false;
      schedule(it->second, env_.clock().now() + Duration(5min));  // try the report again
      co_return;
    }
  }
  Status removed = co_await queue_.remove(id);
  if (!removed.ok()) log(rt::LogLevel::error, id + ": cannot remove from the queue: " + removed.error().detail);
  messages_.erase(id);
  log(rt::LogLevel::info, id + ": removed");
}

rt::Task<Status> QueueManager::queue_dsn(std::string id, std::string_view suffix, std::vector<std::uint32_t> failed,
                                         std::vector<std::uint32_t> delayed, std::vector<std::uint32_t> succeeded) {
  auto content = co_await queue_.read_content(id);
  auto it = messages_.find(id);
  if (it == messages_.end()) co_return fail(Errc::not_found, "message gone");
  const store::QueuedMessage& m = it->second.msg;
  MAIL_ASSERT(!m.sender.is_null());
  const WallTime now = env_.clock().wall_now();
  const std::string host(hostname());
  message::DsnInput in;
  in.reporting_mta = host;
  in.to = m.sender.mailbox->to_string();
  in.envid = m.mail_params.envid;
  if (!m.client_address.empty()) in.received_from = m.helo + " ([" + m.client_address + "])";
  in.arrival = m.arrival;
  in.now = now;
  in.return_full = m.mail_params.ret == smtp::DsnRet::full;
  const std::string original = content.ok() ? std::move(*content) : std::string();
  in.original = original;
  const std::string unique = make_queue_id(dsn_ids_) + make_queue_id(dsn_ids_);
  in.message_id = unique + "@" + host;
  in.boundary = unique + "/" + host;
  auto add = [&](std::uint32_t i, message::DsnAction action) {
    const store::QueuedRecipient& r = m.recipients.at(i);
    message::DsnRecipientReport rep;
    rep.final_recipient = address_of(r.recipient.path);
    if (r.recipient.params.orcpt) {
      rep.original_recipient = r.recipient.params.orcpt_type.value_or("rfc822") + ";" + *r.recipient.params.orcpt;
    }
    rep.action = action;
    rep.remote_mta = r.remote_mta == host ? std::string() : r.remote_mta;
    rep.diagnostic = r.last_reply;
    rep.status = dsn_status_of(r.last_reply, action);
    if (r.attempts > 0) rep.last_attempt = now;
    if (action == message::DsnAction::delayed) rep.will_retry_until = plus(m.arrival, config_.retry.lifetime);
    in.recipients.push_back(std::move(rep));
  };
  for (std::uint32_t i : failed) add(i, message::DsnAction::failed);
  for (std::uint32_t i : delayed) add(i, message::DsnAction::delayed);
  for (std::uint32_t i : succeeded) {
    // Delivered here: "delivered"; handed to a server without DSN support: "relayed"
    // (RFC 3461 §5.2.2 / §6.2.3).
    const bool local = m.recipients.at(i).remote_mta == host;
    add(i, local ? message::DsnAction::delivered : message::DsnAction::relayed);
  }
  MAIL_ASSERT(!in.recipients.empty());
  std::string text = message::render_dsn(in);

  store::QueuedMessage dsn;
  dsn.id = id + std::string(suffix);
  dsn.arrival = now;
  dsn.sender = smtp::Path{};  // <>: RFC 5321 §4.5.5
  dsn.size_bytes = text.size();
  if (has_8bit(text)) dsn.mail_params.body = smtp::BodyType::eight_bit_mime;
  store::QueuedRecipient to;
  to.recipient.path = m.sender;
  dsn.recipients.push_back(std::move(to));
  if (messages_.contains(dsn.id)) co_return Status{};  // already queued and not yet delivered
  std::vector<std::string> parts;
  parts.push_back(std::move(text));
  Status stored = co_await queue_.enqueue(dsn, std::move(parts), /*if_absent=*/true);
  if (!stored.ok()) {
    log(rt::LogLevel::error, id + ": cannot queue the delivery status notification: " + stored.error().detail);
    co_return stored;
  }
  ++counters_.dsns;
  log(rt::LogLevel::info, id + ": sender delivery status notification: " + dsn.id);
  if (!messages_.contains(dsn.id)) {
    const std::string key = dsn.id;  // not dsn.id beside std::move(dsn): unsequenced
    Live& live = messages_.emplace(key, Live{std::move(dsn)}).first->second;
    schedule(live, env_.clock().now());
  }
  co_return Status{};
}

// ---------------------------------------------------------------------------- administration

std::vector<QueueSummary> QueueManager::list() const {
  std::vector<QueueSummary> out;
  out.reserve(messages_.size());
  for (const auto& [id, live] : messages_) {
    const auto& m = live.msg;
    QueueSummary s;
    s.id = id;
    s.arrival = m.arrival;
    s.size_bytes = m.size_bytes;
    s.sender = m.sender.to_string();
    s.recipients = m.recipients.size();
    s.held = m.held;
    s.active = live.batches_out > 0;
    for (const auto& r : m.recipients) {
      if (r.state == RecipientState::pending) ++s.pending;
      if (r.state == RecipientState::deferred) {
        ++s.deferred;
        if (!s.next_attempt || r.next_attempt < *s.next_attempt) s.next_attempt = r.next_attempt;
        if (!r.last_reply.empty()) s.last_reply = r.last_reply;
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

Result<store::QueuedMessage> QueueManager::show(const std::string& id) const {
  auto it = messages_.find(id);
  if (it == messages_.end()) return fail(Errc::not_found, "no message " + id + " in the queue");
  return it->second.msg;
}

Status QueueManager::flush(const std::string& id) {
  const WallTime now = env_.clock().wall_now();
  auto flush_one = [&](Live& live) {
    for (auto& r : live.msg.recipients) {
      if (r.state == RecipientState::deferred) r.next_attempt = now;
    }
    if (!live.msg.held && live.batches_out == 0 && !live.finishing) schedule_next_retry(live);
  };
  if (!id.empty()) {
    auto it = messages_.find(id);
    if (it == messages_.end()) return fail(Errc::not_found, "no message " + id + " in the queue");
    flush_one(it->second);
  } else {
    for (auto& [key, live] : messages_) flush_one(live);
  }
  return Status{};
}

// hold / release: the flag is a durable record first, then the state in memory.
rt::Task<Status> QueueManager::set_held(std::string id, bool held) {
  if (!messages_.contains(id)) co_return fail(Errc::not_found, "no message " + id + " in the queue");
  QueueRecord rec;
  rec.kind = held ? QueueRecord::Kind::held : QueueRecord::Kind::released;
  rec.at = env_.clock().wall_now();
  std::vector<QueueRecord> records{rec};
  if (Status s = co_await queue_.append(id, records); !s.ok()) co_return s;
  auto it = messages_.find(id);
  if (it == messages_.end()) co_return fail(Errc::not_found, "no message " + id + " in the queue");
  store::apply(it->second.msg, rec);
  log(rt::LogLevel::info, id + (held ? ": held" : ": released"));
  if (held) {
    ++it->second.generation;  // drops its heap entry
    co_return Status{};
  }
  co_return flush(id);
}

rt::Task<Status> QueueManager::hold(std::string id) { return set_held(std::move(id), true); }
rt::Task<Status> QueueManager::release(std::string id) { return set_held(std::move(id), false); }

rt::Task<Status> QueueManager::remove(std::string id) {
  auto it = messages_.find(id);
  if (it == messages_.end()) co_return fail(Errc::not_found, "no message " + id + " in the queue");
  Status s = co_await queue_.remove(id);
  if (!s.ok()) co_return s;
  messages_.erase(id);
  log(rt::LogLevel::info, id + ": removed by the administrator");
  co_return Status{};
}

QueueCounters QueueManager::counters() const {
  QueueCounters c = counters_;
  c.messages = messages_.size();
  return c;
}

}  // namespace mail::node
