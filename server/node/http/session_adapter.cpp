// HttpSessionAdapter (see header). Must not: touch Asio or Beast, or answer a request twice.
#include "node/http/session_adapter.h"

namespace mail::node {

bool HttpSessionAdapter::dispatch_events(Instant) {
  bool any = false;
  while (auto event = session_.poll_event()) {
    any = true;
    ++server_.counters_.requests;
    connection_.start_job(handle(event->id, std::move(event->request)));
  }
  return any;
}

rt::Task<Connection::JobResult> HttpSessionAdapter::handle(std::uint64_t id, http::Request request) {
  rt::Task<http::Response> routed = server_.router_.route(std::move(request));
  http::Response response = co_await std::move(routed);
  if (response.status >= 500) {
    ++server_.counters_.server_errors;
  } else if (response.status >= 400) {
    ++server_.counters_.client_errors;
  }
  co_return [this, id, response = std::move(response)](Instant now, bool open) mutable {
    if (open) session_.respond(id, std::move(response), now);
  };
}

}  // namespace mail::node
