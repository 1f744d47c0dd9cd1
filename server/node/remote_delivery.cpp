// RemoteLane (see header). Must not: give a batch two outcomes or none, read while holding
// (the connection waits for the content to be read), or try a hop after a session on an
// earlier one became ready (its batches were then handled; remaining work gets a new
// connection through pump()).
#include "node/remote_delivery.h"

#include <utility>
#include <variant>

#include "core/assert.h"
#include "runtime/await.h"

namespace mail::node {

std::vector<QueueManager::Outcome> outcomes_of(const QueueManager::Batch& batch, const smtp::ev::TransactionResult& result,
                                               const std::string& remote_mta, bool remote_offers_dsn) {
  MAIL_ASSERT(result.recipients.size() == batch.recipients.size());
  std::vector<QueueManager::Outcome> out;
  out.reserve(batch.recipients.size());
  for (std::size_t k = 0; k < batch.recipients.size(); ++k) {
    QueueManager::Outcome o;
    o.recipient = batch.recipients[k];
    o.remote_mta = remote_mta;
    if (result.delivered(k)) {
      o.kind = QueueManager::Outcome::Kind::delivered;
      o.reply = result.reply;
      o.relayed = !remote_offers_dsn;
    } else {
      o.reply = result.outcome(k);
      // RFC 5321 §4.2.1: 5yz is permanent; 4yz and anything local but a permanent refusal
      // (5xx made up here: 8-bit to a 7-bit server, SMTPUTF8 missing) is retried.
      o.kind = o.reply.code >= 500 ? QueueManager::Outcome::Kind::bounced : QueueManager::Outcome::Kind::deferred;
    }
    out.push_back(std::move(o));
  }
  return out;
}

// The hooks of one connection to one hop: takes batches from the lane while the session is
// ready, reads each batch's content while the connection holds, and reports outcomes.
class RemoteLane::Attempt final : public SmtpClientHooks {
 public:
  Attempt(RemoteLane& lane, NextHop hop)
      : lane_(lane), hop_(std::move(hop)), linger_(lane.manager_.env().clock().make_timer()) {}
  ~Attempt() override {
    idle_->alive = false;  // a linger completion still queued must not touch this
    linger_->cancel();
  }
  Attempt(const Attempt&) = delete;
  Attempt& operator=(const Attempt&) = delete;

  // The lane has a batch for this idle connection (it was removed from lane.idle_).
  void wake() {
    MAIL_ASSERT(conn_ != nullptr);
    ++idle_->generation;
    linger_->cancel();
    if (!take_next(*conn_)) conn_->quit();
  }

  void on_event(SmtpClientConnection& /*conn*/, smtp::ClientEvent event) override {
    if (auto* ready = std::get_if<smtp::ev::SessionReady>(&event)) {
      ready_ = true;
      dsn_ = ready->capabilities.dsn;
    } else if (auto* result = std::get_if<smtp::ev::TransactionResult>(&event)) {
      auto it = in_flight_.find(result->id);
      MAIL_ASSERT(it != in_flight_.end());
      QueueManager::Batch batch = std::move(it->second);
      in_flight_.erase(it);
      auto outcomes = outcomes_of(batch, *result, hop_.host, dsn_);
      lane_.manager_.finish_batch(std::move(batch), std::move(outcomes));
    } else if (auto* closed = std::get_if<smtp::ev::Closed>(&event)) {
      if (!ready_) failure_ = closed->reason;
    }
  }

  void on_idle(SmtpClientConnection& conn) override {
    conn_ = &conn;
    if (take_next(conn)) return;
    const Duration linger = lane_.manager_.config().idle_linger;
    if (!may_continue() || linger <= Duration::zero()) return;  // QUIT
    // Nothing to send now: hold the session open for the next batch to this destination.
    conn.hold();
    lane_.idle_.push_back(this);
    const std::uint64_t generation = ++idle_->generation;
    rt::Env& env = lane_.manager_.env();
    linger_->async_wait_until(env.clock().now() + linger, [state = idle_, generation, this](Result<void> r) {
      if (!r || !state->alive || state->generation != generation) return;
      lane_.remove_idle(this);
      conn_->quit();
    });
  }

  void on_tls(SmtpClientConnection& /*conn*/, const Result<tls::ev::HandshakeDone>& result) override {
    if (!result.ok()) tls_failed_ = true;
  }

  bool ready() const noexcept { return ready_; }
  bool may_continue() const {
    return transactions_ < lane_.manager_.config().max_transactions_per_connection && !lane_.manager_.stopping();
  }
  bool tls_failed() const noexcept { return tls_failed_; }
  const std::string& failure() const noexcept { return failure_; }

 private:
  // Takes the lane's next batch for this connection (the connection then holds while the
  // content is read); false when there is none or the connection should QUIT.
  bool take_next(SmtpClientConnection& conn) {
    if (!may_continue() || lane_.waiting_.empty()) return false;
    QueueManager::Batch batch = std::move(lane_.waiting_.front());
    lane_.waiting_.pop_front();
    ++transactions_;
    conn.hold();
    lane_.manager_.env().tasks().spawn(load_and_submit(conn, std::move(batch)));
    return true;
  }

  rt::Task<void> load_and_submit(SmtpClientConnection& conn, QueueManager::Batch batch) {
    QueueManager& m = lane_.manager_;
    auto content = co_await m.queue().read_content(batch.message_id);
    const store::QueuedMessage* msg = m.message(batch.message_id);
    if (!content.ok() || msg == nullptr) {
      // Removed meanwhile (queue delete) or unreadable: defer (a removed message ignores it).
      std::vector<QueueManager::Outcome> outcomes;
      for (std::uint32_t i : batch.recipients) {
        QueueManager::Outcome o;
        o.recipient = i;
        o.reply = smtp::Reply::make(451, {4, 3, 0}, "cannot read the queued message");
        outcomes.push_back(std::move(o));
      }
      m.finish_batch(std::move(batch), std::move(outcomes));
      conn.quit();
      co_return;
    }
    smtp::MailTransaction tx;
    tx.mail_from = msg->sender;
    tx.mail_params = msg->mail_params;
    tx.mail_params.size.reset();
    tx.mail_params.auth.reset();
    for (std::uint32_t i : batch.recipients) tx.recipients.push_back(msg->recipients.at(i).recipient);
    tx.content = std::move(*content);
    const smtp::TxId id = conn.submit(std::move(tx));
    in_flight_.emplace(id, std::move(batch));
  }

  struct IdleState {
    bool alive = true;
    std::uint64_t generation = 0;  // bumped when an idle period ends
  };

  RemoteLane& lane_;
  NextHop hop_;
  std::unique_ptr<rt::Timer> linger_;
  std::shared_ptr<IdleState> idle_ = std::make_shared<IdleState>();
  SmtpClientConnection* conn_ = nullptr;  // set from the first on_idle
  std::map<smtp::TxId, QueueManager::Batch> in_flight_;
  std::size_t transactions_ = 0;
  bool ready_ = false;
  bool dsn_ = false;
  bool tls_failed_ = false;
  std::string failure_;
};

RemoteLane::RemoteLane(QueueManager& manager, std::string domain) : manager_(manager), domain_(std::move(domain)) {}

void RemoteLane::add(QueueManager::Batch batch) {
  waiting_.push_back(std::move(batch));
  if (idle_.empty()) return;
  Attempt* idle = idle_.back();
  idle_.pop_back();
  idle->wake();
}

void RemoteLane::remove_idle(Attempt* attempt) { std::erase(idle_, attempt); }

void RemoteLane::close_idle() {
  while (!idle_.empty()) {
    Attempt* idle = idle_.back();
    idle_.pop_back();
    idle->wake();  // stopping: takes nothing, QUITs
  }
}

void RemoteLane::pump() {
  const std::size_t cap = manager_.config().per_destination;
  while (!waiting_.empty() && connections_ < cap && connections_ < waiting_.size() && manager_.may_open_connection()) {
    ++connections_;
    manager_.connection_opened();
    manager_.env().tasks().spawn(run_connection());
  }
}

void RemoteLane::fail_waiting(const smtp::Reply& reply, bool permanent, const std::string& remote_mta) {
  while (!waiting_.empty()) {
    QueueManager::Batch batch = std::move(waiting_.front());
    waiting_.pop_front();
    std::vector<QueueManager::Outcome> outcomes;
    for (std::uint32_t i : batch.recipients) {
      QueueManager::Outcome o;
      o.recipient = i;
      o.kind = permanent ? QueueManager::Outcome::Kind::bounced : QueueManager::Outcome::Kind::deferred;
      o.reply = reply;
      o.remote_mta = remote_mta;
      outcomes.push_back(std::move(o));
    }
    manager_.finish_batch(std::move(batch), std::move(outcomes));
  }
}

smtp::ClientConfig RemoteLane::client_config(bool starttls, const Route& route) const {
  const QueueManagerConfig& c = manager_.config();
  smtp::ClientConfig cc;
  cc.helo_name = std::string(manager_.hostname());
  cc.use_pipelining = true;
  cc.use_chunking = true;  // BDAT when CHUNKING is offered (RFC 3030)
  cc.use_starttls = starttls;
  cc.require_tls = route.tls == TlsPolicy::required;
  cc.timeouts = c.timeouts;
  cc.reply_limits = c.reply_limits;
  if (route.static_route != nullptr) {
    auto it = c.route_auth.find(route.static_route->domain);
    if (it != c.route_auth.end()) {
      cc.auth = it->second;
      cc.auth->crypto = c.crypto;
    }
  }
  return cc;
}

rt::Task<void> RemoteLane::run_connection() {
  QueueManager& m = manager_;
  rt::Env& env = m.env();
  auto routed = co_await m.router().resolve(domain_);
  if (auto* error = std::get_if<RouteError>(&routed)) {
    fail_waiting(error->reply, error->permanent, "");
  } else {
    const Route& route = std::get<Route>(routed);
    const bool can_tls = m.config().client_tls != nullptr;
    smtp::Reply last = smtp::Reply::make(451, {4, 4, 1}, "no reachable mail exchanger for " + domain_);
    std::string last_host;
    bool delivered_something = false;
    if (route.tls == TlsPolicy::required && !can_tls) {
      last = smtp::Reply::make(451, {4, 7, 5}, "TLS required for " + domain_ + " but no client TLS is configured");
    } else {
      for (const NextHop& hop : route.hops) {
        if (waiting_.empty()) break;
        bool starttls = can_tls && route.tls != TlsPolicy::none;
        for (int round = 0; round < 2 && !delivered_something && !waiting_.empty(); ++round) {
          const rt::Endpoint to{hop.address, hop.port};
          const std::string where = hop.host + "[" + hop.address + "]:" + std::to_string(hop.port);
          auto stream = co_await rt::connect(env.net(), to, env.clock().now() + m.config().connect_timeout);
          if (!stream.ok()) {
            last = smtp::Reply::make(451, {4, 4, 1}, "connect to " + where + ": " + std::string(to_string(stream.code())));
            last_host = hop.host;
            break;  // next hop
          }
          ++m.mutable_counters().connections;
          SmtpClientOptions options;
          options.session = client_config(starttls, route);
          options.tls_context = starttls ? m.config().client_tls : nullptr;
          options.tls_server_name = hop.host;
          Attempt attempt(*this, hop);
          auto conn = std::make_unique<SmtpClientConnection>(env, std::move(*stream), std::move(options), attempt);
          co_await conn->run();
          if (attempt.ready()) {
            delivered_something = true;
            break;
          }
          last = smtp::Reply::make(451, {4, 4, 2},
                                   where + " " + (attempt.failure().empty() ? "closed the session" : attempt.failure()));
          last_host = hop.host;
          // Opportunistic TLS that failed: once more in cleartext (RFC 7435 §3); else next hop.
          if (!(attempt.tls_failed() && route.tls == TlsPolicy::opportunistic && starttls)) break;
          starttls = false;
        }
        if (delivered_something) break;
      }
    }
    if (!delivered_something) fail_waiting(last, false, last_host);
  }
  MAIL_ASSERT(connections_ > 0);
  --connections_;
  m.lane_connection_ended(*this);
}

}  // namespace mail::node
