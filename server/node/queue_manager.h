// QueueManager: the relay's queue manager (Postfix's qmgr + smtp in one service). It owns
// the outbound queue (store/outbound_queue.h): accepts messages durably, keeps every
// message's per-recipient state in memory, and delivers what is due —
//   * remote recipients grouped by destination domain (route_of(), the relay policy's own
//     split) into lanes; each lane opens up to `per_destination` SMTP connections
//     (remote_delivery.h), each carrying one transaction per message, reused while the lane
//     has work; at most `max_connections` in total;
//   * local recipients through LocalDelivery (DSNs to local senders, local copies of mixed
//     messages).
// Outcomes are made durable (append, or removal when the message is done) before anything
// acts on them; 4xx and local failures are retried on the RetryPolicy schedule, 5xx bounce
// at once, the lifetime's end bounces; DSNs (RFC 3464/3461: failed, delayed, delivered /
// relayed for NOTIFY=SUCCESS) are themselves queued from <>, never sent to <>; a DSN that
// cannot be delivered is dropped with a log line. Due times live in a min-heap (O(log n)
// per change, never a scan per tick); one timer is armed for the earliest.
// Env only: no Asio, no clock but env.clock(), no randomness but env.rng().fork().
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "core/prng.h"
#include "core/result.h"
#include "node/local_delivery.h"
#include "node/relay_router.h"
#include "proto/smtp/client_session.h"
#include "proto/smtp/relay_policy.h"
#include "proto/smtp/retry_schedule.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "store/outbound_queue.h"
#include "tls/context.h"

namespace mail::node {

struct QueueManagerConfig {
  std::string data_dir;      // the queue lives in <data_dir>/queue
  std::string hostname;      // EHLO name, Reporting-MTA, MAILER-DAEMON@; empty = env.hostname()
  smtp::RelayPolicy policy;  // the same split as the RCPT decision (local domains)
  smtp::RetryPolicy retry;
  RouterConfig router;       // static routes, own names (MX loops)
  // AUTH for static routes, by route domain ("*" for the smarthost); the password is read
  // by the caller (auth_password_file).
  std::map<std::string, smtp::ClientAuth> route_auth;
  std::size_t max_connections = 100;  // outbound SMTP connections in total
  std::size_t per_destination = 20;   // per destination domain
  std::size_t max_transactions_per_connection = 100;  // then QUIT and reconnect
  // A ready connection with no work left waits this long for the next batch to its
  // destination before QUIT (0: QUIT at once).
  Duration idle_linger = 2s;
  Duration connect_timeout = 30s;
  smtp::ClientTimeouts timeouts;      // RFC 5321 §4.5.3.2
  smtp::ReplyLimits reply_limits;     // bounded memory for garbled or endless replies
  // Client context for STARTTLS (opportunistic: no certificate check, RFC 7435); null:
  // never STARTTLS, and routes with tls = "required" defer.
  std::shared_ptr<tls::TlsContext> client_tls;
  Crypto* crypto = nullptr;           // SCRAM for route AUTH
};

// One line of `cloudsdial queue list`.
struct QueueSummary {
  std::string id;
  WallTime arrival{};
  std::uint64_t size_bytes = 0;
  std::string sender;        // "<a@b>" / "<>"
  std::size_t recipients = 0, pending = 0, deferred = 0;
  bool held = false;
  bool active = false;       // a delivery attempt is running
  std::optional<WallTime> next_attempt;  // earliest deferred retry
  std::string last_reply;    // of the most recent deferral
};

struct QueueCounters {
  std::uint64_t accepted = 0;     // messages queued
  std::uint64_t delivered = 0;    // recipients delivered (remote 2xx or local store)
  std::uint64_t bounced = 0;      // recipients bounced
  std::uint64_t deferred = 0;     // recipient deferrals
  std::uint64_t dsns = 0;         // DSN messages queued
  std::uint64_t dsns_dropped = 0; // undeliverable DSNs dropped
  std::uint64_t connections = 0;  // outbound SMTP connections opened
  std::uint64_t attempts = 0;     // delivery attempts (batches)
  std::size_t messages = 0;       // in the queue now
  std::size_t active_connections = 0;
};

class RemoteLane;

class QueueManager {
 public:
  QueueManager(rt::Env& env, QueueManagerConfig config, LocalDelivery& local);
  ~QueueManager();
  QueueManager(const QueueManager&) = delete;
  QueueManager& operator=(const QueueManager&) = delete;

  // Opens the queue, loads every message (repairing torn state logs), schedules what is
  // due and starts delivering. Call once; errors name the queue directory.
  rt::Task<Status> start();
  // Stops scheduling and waits (until `deadline`) for running deliveries to finish; what
  // is still running then is abandoned with the Env's teardown (its outcome unrecorded:
  // retried after restart, the RFC 1047 window).
  rt::Task<void> stop(Instant deadline);

  // A fresh queue id (12 hex digits, like LocalDelivery's).
  std::string new_id();
  // Queues `parts` (trace header, any submission fix-ups, the content) for every recipient
  // of `envelope`; durable before it completes: 250 2.0.0 Ok: queued as <id>, or 451/452.
  rt::Task<DeliveryResult> accept(std::string id, const smtp::Envelope& envelope, std::vector<std::string> parts);

  // Administration (the queue CLI through the control socket).
  std::vector<QueueSummary> list() const;
  Result<store::QueuedMessage> show(const std::string& id) const;
  // Every deferred recipient (of `id`, or of all messages when empty) becomes due now.
  Status flush(const std::string& id);
  rt::Task<Status> hold(std::string id);
  rt::Task<Status> release(std::string id);
  rt::Task<Status> remove(std::string id);  // deleted without a DSN (postsuper -d)

  QueueCounters counters() const;
  bool started() const noexcept { return started_; }
  const QueueManagerConfig& config() const noexcept { return config_; }
  store::OutboundQueue& queue() noexcept { return queue_; }

  // --- for RemoteLane and the local deliveries (internal) ---
  struct Outcome {
    enum class Kind : std::uint8_t { delivered, deferred, bounced };
    std::uint32_t recipient = 0;
    Kind kind = Kind::deferred;
    smtp::Reply reply;
    std::string remote_mta;
    bool relayed = false;  // delivered to a server without DSN: NOTIFY=SUCCESS gets "relayed"
  };
  struct Batch {
    std::string message_id;
    std::vector<std::uint32_t> recipients;  // indexes into the message's recipients
  };
  // The message and content a lane needs for one batch; not_found when it vanished.
  const store::QueuedMessage* message(const std::string& id) const;
  // A batch ended: outcomes for each of its recipients (any order, each exactly once).
  void finish_batch(Batch batch, std::vector<Outcome> outcomes);
  void lane_connection_ended(RemoteLane& lane);
  rt::Env& env() noexcept { return env_; }
  std::string_view hostname() const;
  Router& router() noexcept { return router_; }
  QueueCounters& mutable_counters() noexcept { return counters_; }
  bool may_open_connection() const noexcept;
  bool stopping() const noexcept { return stopping_; }
  void connection_opened();

 private:
  struct Live {
    store::QueuedMessage msg;
    std::uint64_t generation = 0;  // heap entries of another generation are stale
    std::size_t batches_out = 0;   // deliveries in flight
    bool finishing = false;        // records/DSN/removal in flight
  };
  struct Due {
    Instant at;
    std::uint64_t generation;
    std::string id;
    bool operator>(const Due& o) const noexcept { return at > o.at || (at == o.at && id > o.id); }
  };

  rt::Task<void> scheduler();
  void poke();  // the scheduler looks again now (new due time, a lane connection ended)
  void spawn(rt::Task<void> task);            // a counted root task (stop() waits for them)
  rt::Task<void> counted(rt::Task<void> task);
  void schedule(Live& live, Instant at);
  void schedule_next_retry(Live& live);
  void dispatch(Live& live);
  void pump_lanes();
  rt::Task<void> deliver_local(Batch batch);
  rt::Task<void> record(std::string id, std::vector<Outcome> outcomes);
  rt::Task<void> warn_delays(std::string id);
  rt::Task<void> finalize(std::string id);
  // Queues the DSN "<id><suffix>" (idempotent) about the given recipients of message `id`.
  rt::Task<Status> queue_dsn(std::string id, std::string_view suffix, std::vector<std::uint32_t> failed,
                             std::vector<std::uint32_t> delayed, std::vector<std::uint32_t> succeeded);
  rt::Task<Status> set_held(std::string id, bool held);
  Instant instant_of(WallTime when) const;
  void log(rt::LogLevel level, const std::string& line);

  rt::Env& env_;
  QueueManagerConfig config_;
  LocalDelivery& local_;
  store::OutboundQueue queue_;
  Router router_;
  Prng ids_;
  Prng dsn_ids_;
  std::map<std::string, Live> messages_;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> heap_;
  std::map<std::string, std::unique_ptr<RemoteLane>> lanes_;
  std::unique_ptr<rt::Timer> timer_;       // the scheduler's sleep until the earliest due time
  std::unique_ptr<rt::Timer> stop_timer_;  // stop()'s wait
  QueueCounters counters_;
  std::size_t tasks_in_flight_ = 0;  // deliveries, connections, records, finalizations
  bool sleeping_ = false;            // the scheduler awaits timer_ (poke() cancels it)
  bool poked_ = false;
  bool scheduler_running_ = false;
  bool started_ = false;
  bool stopping_ = false;
};

}  // namespace mail::node
