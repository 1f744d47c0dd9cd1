// RemoteLane: the SMTP delivery of the queue's batches for ONE destination domain. Each of
// its connections resolves the route (relay_router.h: static route, MX, implicit MX), tries
// the hops in order — the next one on a connect failure, a 4xx/5xx greeting, a failed
// STARTTLS (then once more without it when TLS is only opportunistic, RFC 7435) or a close
// before EHLO completed — and, once a session is ready, carries one transaction per batch
// (one message's recipients for this domain) until the lane has no work left or the
// per-connection cap is reached (connection reuse); with nothing left it holds the session
// open for QueueManagerConfig::idle_linger, so the next batch for the domain needs no new
// connection (Postfix's connection cache does the same). Every batch taken gets exactly one
// finish_batch(): 2xx delivered, 5xx (the server's or a local permanent refusal such as
// 8-bit content to a server without 8BITMIME, RFC 6152 §3) bounced, anything else
// deferred. Env only: the connection is node::SmtpClientConnection over env.net().
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "node/queue_manager.h"
#include "node/relay_router.h"
#include "node/smtp_client_connection.h"
#include "runtime/task.h"

namespace mail::node {

class RemoteLane {
 public:
  RemoteLane(QueueManager& manager, std::string domain);
  RemoteLane(const RemoteLane&) = delete;
  RemoteLane& operator=(const RemoteLane&) = delete;

  // Queues a batch; a connection idling for work (see idle_linger) takes it at once.
  void add(QueueManager::Batch batch);
  // Every idle connection QUITs now (shutdown).
  void close_idle();
  // Opens connections while batches wait, the lane has fewer than per_destination and the
  // manager allows more in total: about one connection per waiting batch.
  void pump();
  bool idle() const noexcept { return waiting_.empty() && connections_ == 0; }
  const std::string& domain() const noexcept { return domain_; }
  std::size_t waiting() const noexcept { return waiting_.size(); }
  std::size_t connections() const noexcept { return connections_; }

 private:
  class Attempt;
  friend class Attempt;

  rt::Task<void> run_connection();
  void remove_idle(Attempt* attempt);
  // Every waiting batch ends with `reply` (bounced when permanent, else deferred).
  void fail_waiting(const smtp::Reply& reply, bool permanent, const std::string& remote_mta);
  smtp::ClientConfig client_config(bool starttls, const Route& route) const;

  QueueManager& manager_;
  std::string domain_;
  std::deque<QueueManager::Batch> waiting_;
  std::vector<Attempt*> idle_;  // ready connections holding until work or their linger ends
  std::size_t connections_ = 0;
};

// A batch's outcomes from one transaction's result.
std::vector<QueueManager::Outcome> outcomes_of(const QueueManager::Batch& batch, const smtp::ev::TransactionResult& result,
                                               const std::string& remote_mta, bool remote_offers_dsn);

}  // namespace mail::node
