// ControlServer (see header). Must not: answer a request that names no message with
// anything but a clear error, or act on a second line.
#include "node/control_server.h"

#include <variant>

#include "core/assert.h"
#include "node/queue_report.h"

namespace mail::node {

rt::Endpoint control_endpoint(std::string_view data_dir) {
  std::string path(data_dir.empty() ? "." : data_dir);
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  std::string address = "unix:";
  address += path;
  address += "/control.sock";
  return rt::Endpoint{std::move(address), 0};
}

// The driven side of one control connection.
class ControlServer::Adapter final : public DrivenSession {
 public:
  Adapter(ControlServer& server, Connection& connection, Instant now)
      : server_(server), connection_(connection), session_(now) {}

  std::size_t feed(std::string_view in, Instant now) override { return session_.feed(in, now); }
  void feed_eof(Instant now) override { session_.feed_eof(now); }
  std::optional<proto::Output> poll_output() override { return session_.poll_output(); }
  std::optional<Instant> poll_timeout() const override { return session_.poll_timeout(); }
  void handle_timeout(Instant now) override { session_.handle_timeout(now); }
  void tls_established(Instant /*now*/) override { MAIL_UNREACHABLE(); }
  void shutdown(Instant now, bool /*force*/) override { session_.shutdown(now); }
  bool closed() const override { return session_.closed(); }
  std::size_t buffered_bytes() const override { return session_.buffered_bytes(); }
  std::string_view state_name() const override { return session_.waiting_for_answer() ? "answering" : "request"; }

  bool dispatch_events(Instant /*now*/) override {
    auto request = session_.poll_request();
    if (!request) return false;
    connection_.start_job(run(std::move(*request)));
    return true;
  }

 private:
  rt::Task<Connection::JobResult> run(control::Request request) {
    std::string line;
    for (const auto& w : request.words) {
      if (!line.empty()) line += ' ';
      line += w;
    }
    std::string body = co_await server_.answer(std::move(request));
    connection_.log(rt::LogLevel::info, "control: " + line);
    co_return [this, body = std::move(body)](Instant now, bool open) mutable {
      if (open) session_.respond(std::move(body), now);
    };
  }

  ControlServer& server_;
  Connection& connection_;
  control::ControlSession session_;
};

ControlServer::ControlServer(rt::Env& env, std::string data_dir, QueueManager* queue)
    : env_(env), queue_(queue), endpoint_(control_endpoint(data_dir)), service_(env, "control", {}, *this) {}

ControlServer::~ControlServer() = default;

Status ControlServer::start() {
  ListenerSpec spec;
  spec.at = endpoint_;
  spec.label = "control";
  if (Status bound = service_.bind({spec}); !bound.ok()) return bound;
  return service_.start();
}

std::unique_ptr<DrivenSession> ControlServer::open_session(Connection& connection, const ConnectionInfo& /*info*/) {
  return std::make_unique<Adapter>(*this, connection, env_.clock().now());
}

std::string ControlServer::refusal_bytes(std::string_view why) const {
  return control::error_response(why) + "\n";
}

rt::Task<std::string> ControlServer::answer(control::Request request) {
  const auto& w = request.words;
  MAIL_ASSERT(!w.empty());
  if (w[0] == "status" && w.size() == 1 && status_) co_return status_();
  if (w[0] != "queue" || w.size() < 2) co_return control::error_response("unknown request (try: status, queue list)");
  if (queue_ == nullptr) co_return control::error_response("outbound delivery is off ([relay] outbound = false): no queue");
  const std::string& verb = w[1];
  const std::string id = w.size() > 2 ? w[2] : std::string();
  if (w.size() > 3) co_return control::error_response("too many arguments");
  if (verb == "list" && id.empty()) co_return queue_list_json(queue_->list());
  if (verb == "flush") {
    Status s = queue_->flush(id);
    co_return s.ok() ? ok_json() : control::error_response(s.error().detail);
  }
  if (id.empty()) co_return control::error_response("queue " + verb + " needs a queue id");
  if (verb == "show") {
    auto m = queue_->show(id);
    co_return m.ok() ? queue_show_json(*m) : control::error_response(m.error().detail);
  }
  Status s;
  if (verb == "hold") {
    s = co_await queue_->hold(id);
  } else if (verb == "release") {
    s = co_await queue_->release(id);
  } else if (verb == "delete") {
    s = co_await queue_->remove(id);
  } else {
    co_return control::error_response("unknown queue command '" + verb + "' (list, show, flush, hold, release, delete)");
  }
  co_return s.ok() ? ok_json() : control::error_response(s.error().detail);
}

}  // namespace mail::node
