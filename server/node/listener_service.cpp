// ListenerService: listeners, admission (ConnectionLimits), the connection registry and
// graceful shutdown (see header). Must not: touch Asio, read the OS clock, keep global
// state, or let a refused connection cost more than one bounded write.
#include "node/listener_service.h"

#include <span>

#include "core/assert.h"
#include "runtime/await.h"

namespace mail::node {

void add_listener_specs(std::vector<ListenerSpec>& specs, const std::vector<rt::Endpoint>& endpoints,
                        std::uint8_t kind, std::string_view label, bool implicit_tls) {
  for (const rt::Endpoint& at : endpoints) specs.push_back(ListenerSpec{at, kind, std::string(label), implicit_tls});
}

bool is_loopback_address(std::string_view address) {
  return address == "::1" || address.starts_with("127.") || address.starts_with("::ffff:127.");
}

ListenerService::ListenerService(rt::Env& env, std::string name, ListenerServiceConfig config,
                                 ServiceProtocol& protocol)
    : env_(env),
      name_(std::move(name)),
      config_(std::move(config)),
      protocol_(protocol),
      limits_(config_.limits),
      stop_wakeup_(env.executor()) {
  MAIL_ASSERT(!name_.empty());
  MAIL_ASSERT(config_.connection.read_buffer_bytes > 0);
}

ListenerService::~ListenerService() {
  // Normally stop() has completed and everything is gone. If not (the Env is being torn
  // down with its tasks), the frames never touch the service again: their completions are
  // dropped uncalled by the Env contract.
  for (auto& l : listeners_) l->close();
}

void ListenerService::close_listeners() {
  for (auto& l : listeners_) l->close();  // pending accepts complete canceled
}

Status ListenerService::bind(std::vector<ListenerSpec> specs) {
  MAIL_ASSERT(!bound_called_);
  MAIL_ASSERT(!stopping_);
  bound_called_ = true;
  for (const ListenerSpec& spec : specs) {
    auto listener = env_.net().listen(spec.at);
    if (!listener.ok()) {
      close_listeners();
      listeners_.clear();
      bound_.clear();
      // The Env's message usually names the endpoint already ("listen on 127.0.0.1:25:
      // Address already in use"): say it once.
      const std::string& detail = listener.error().detail;
      return fail(listener.error().code, detail.starts_with("listen on ")
                                             ? "cannot " + detail
                                             : "cannot listen on " + spec.at.to_string() + ": " + detail);
    }
    bound_.push_back((*listener)->local_endpoint());
    listeners_.push_back(std::move(listener.value()));
  }
  specs_ = std::move(specs);
  MAIL_ASSERT(specs_.size() == listeners_.size());
  return {};
}

Status ListenerService::bind_once_and_start(std::vector<ListenerSpec> specs) {
  if (!bound_called_) {
    if (Status bound = bind(std::move(specs)); !bound.ok()) return bound;
  }
  return start();
}

Status ListenerService::start() {
  MAIL_ASSERT(bound_called_);
  MAIL_ASSERT(!started_);
  MAIL_ASSERT(!stopping_);
  for (const ListenerSpec& spec : specs_) {
    if (spec.implicit_tls && tls_ == nullptr) {
      close_listeners();
      return fail(Errc::invalid, spec.label + " on " + spec.at.to_string() + " needs a TLS certificate");
    }
  }
  started_ = true;
  for (std::size_t i = 0; i < listeners_.size(); ++i) {
    ++accept_loops_;
    env_.tasks().spawn(accept_loop(*listeners_[i], i));
  }
  for (std::size_t i = 0; i < bound_.size(); ++i) {
    env_.log().write(rt::LogLevel::info,
                     name_ + ": listening on " + bound_[i].to_string() + " (" + specs_[i].label + ")");
  }
  return {};
}

rt::Task<void> ListenerService::accept_loop(rt::Listener& listener, std::size_t spec_index) {
  auto retry_timer = env_.clock().make_timer();
  while (!stopping_) {
    auto accepted = co_await rt::accept(listener);
    if (!accepted.ok()) {
      if (stopping_ || accepted.code() == Errc::canceled) break;
      // EMFILE/ENFILE and friends: back off briefly instead of spinning.
      env_.log().write(rt::LogLevel::warn, name_ + ": accept on " + listener.local_endpoint().to_string() +
                                               " failed: " + accepted.error().detail);
      (void)co_await rt::sleep_until(*retry_timer, env_.clock().now() + config_.accept_retry_delay);
      continue;
    }
    if (stopping_) {
      (*accepted)->close();
      break;
    }
    on_accepted(std::move(accepted.value()), spec_index);
  }
  MAIL_ASSERT(accept_loops_ > 0);
  --accept_loops_;
  stop_wakeup_.notify();
}

void ListenerService::on_accepted(std::unique_ptr<rt::Stream> stream, std::size_t spec_index) {
  MAIL_ASSERT(stream != nullptr);
  MAIL_ASSERT(spec_index < specs_.size());
  const ListenerSpec& spec = specs_[spec_index];
  const rt::Endpoint remote = stream->remote_endpoint();
  const Admission admission = limits_.acquire(remote.address);
  if (admission != Admission::admitted) {
    ++counters_.connections_refused;
    const std::string why = admission == Admission::too_many_from_ip ? "too many connections from " + remote.address
                                                                      : "too many connections";
    env_.log().write(rt::LogLevel::warn, name_ + ": refused " + remote.to_string() + ": " + why);
    if (refusals_in_flight_ >= config_.refusals_in_flight_max || spec.implicit_tls) {
      // A flood: even the refusal would cost a write each; just close. On a TLS port a
      // plaintext refusal would only confuse the client's TLS stack.
      stream->close();
      return;
    }
    ++refusals_in_flight_;
    env_.tasks().spawn(refuse(std::move(stream), protocol_.refusal_bytes(why)));
    return;
  }
  ++counters_.connections_accepted;
  const std::uint64_t id = next_connection_id_++;
  env_.tasks().spawn(run_connection(std::move(stream), id, spec_index));
}

rt::Task<void> ListenerService::run_connection(std::unique_ptr<rt::Stream> stream, std::uint64_t id,
                                               std::size_t spec_index) {
  const ListenerSpec& spec = specs_.at(spec_index);
  ConnectionInfo info;
  info.id = id;
  info.remote = stream->remote_endpoint();
  info.local = stream->local_endpoint();
  info.listener_kind = spec.kind;
  const std::string client = info.remote.address;
  Connection connection(env_, config_.connection, counters_, protocol_, std::move(stream), std::move(info), name_,
                        spec.label, tls_, spec.implicit_tls);
  connections_.emplace(id, &connection);
  co_await connection.run();
  connections_.erase(id);
  limits_.release(client);
  stop_wakeup_.notify();
}

rt::Task<void> ListenerService::refuse(std::unique_ptr<rt::Stream> stream, std::string bytes) {
  const Instant deadline = env_.clock().now() + config_.refuse_write_timeout;
  (void)co_await rt::write_all(*stream, std::as_bytes(std::span(bytes.data(), bytes.size())), deadline);
  stream->shutdown_send();
  stream->close();
  MAIL_ASSERT(refusals_in_flight_ > 0);
  --refusals_in_flight_;
  stop_wakeup_.notify();
}

rt::Task<void> ListenerService::stop(Instant deadline) {
  MAIL_ASSERT(!stopping_);
  stopping_ = true;
  close_listeners();
  env_.log().write(rt::LogLevel::info,
                   name_ + ": shutting down, " + std::to_string(connections_.size()) + " connection(s) open");
  for (auto& [id, connection] : connections_) connection->request_shutdown(false);

  auto timer = env_.clock().make_timer();
  std::uint32_t timer_waits = 0;
  std::optional<Instant> armed;
  bool forced = false;
  bool aborted = false;
  Instant abort_at = deadline;
  while (!idle()) {
    const Instant now = env_.clock().now();
    if (!forced && now >= deadline) {
      forced = true;
      abort_at = now + config_.force_close_grace;
      env_.log().write(rt::LogLevel::warn, name_ + ": shutdown deadline passed, forcing the goodbye on " +
                                               std::to_string(connections_.size()) + " connection(s)");
      for (auto& [id, connection] : connections_) connection->request_shutdown(true);
    }
    if (forced && !aborted && now >= abort_at) {
      aborted = true;
      env_.log().write(rt::LogLevel::warn, name_ + ": closing " + std::to_string(connections_.size()) + " connection(s)");
      for (auto& [id, connection] : connections_) connection->abort();
    }
    const Instant next = forced ? abort_at : deadline;
    if (!aborted && armed != next) {
      armed = next;
      ++timer_waits;
      timer->async_wait_until(next, [this, &timer_waits](Status) {
        --timer_waits;
        stop_wakeup_.notify();
      });
    }
    co_await stop_wakeup_.wait();
  }
  if (timer_waits > 0) timer->cancel();
  while (timer_waits > 0) co_await stop_wakeup_.wait();
  env_.log().write(rt::LogLevel::info, name_ + ": stopped");
}

}  // namespace mail::node
