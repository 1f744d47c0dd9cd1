// ControlServer: the local administration socket of a running server (`cloudsdial queue
// ...` talks to it). A ListenerService on a Unix socket under the data directory (mode 0600:
// only the server's user; the path is the trust boundary), whose connections run the generic
// driver around a sans-IO control::ControlSession. Requests ("queue list", "queue show ID",
// "queue flush [ID]", "queue hold ID", "queue release ID", "queue delete ID") are answered
// from the QueueManager; "status" from the status source (MailServer::status_json: uptime,
// listeners, sessions, queue depth). The answer is one JSON line (queue_report.h). Env only.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/result.h"
#include "node/listener_service.h"
#include "node/queue_manager.h"
#include "proto/control/control_session.h"
#include "runtime/env.h"
#include "runtime/task.h"

namespace mail::node {

// "<data_dir>/control.sock" as an rt::Endpoint ("unix:<path>").
rt::Endpoint control_endpoint(std::string_view data_dir);

class ControlServer final : private ServiceProtocol {
 public:
  // `queue` may be null (no outbound delivery): queue requests then say so.
  ControlServer(rt::Env& env, std::string data_dir, QueueManager* queue);
  ~ControlServer() override;
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // The "status" answer (a JSON document); unset: "status" is an unknown request.
  using StatusSource = std::function<std::string()>;
  void set_status_source(StatusSource source) { status_ = std::move(source); }

  [[nodiscard]] Status start();
  rt::Task<void> stop(Instant deadline) { return service_.stop(deadline); }
  const rt::Endpoint& endpoint() const noexcept { return endpoint_; }

  // The answer to one request (also used by tests): a JSON document.
  rt::Task<std::string> answer(control::Request request);

 private:
  class Adapter;
  std::unique_ptr<DrivenSession> open_session(Connection& connection, const ConnectionInfo& info) override;
  std::string refusal_bytes(std::string_view why) const override;

  rt::Env& env_;
  QueueManager* queue_;
  StatusSource status_;
  rt::Endpoint endpoint_;
  ListenerService service_;
};

}  // namespace mail::node
