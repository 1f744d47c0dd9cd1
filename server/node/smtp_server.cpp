// SmtpServer: listeners, admission (ConnectionLimits), connection registry and graceful
// shutdown. Must not: touch Asio, read the OS clock, keep global state, or let a refused
// connection cost more than one bounded write.
#include "node/smtp_server.h"

#include <span>

#include "core/assert.h"
#include "node/smtp_connection.h"
#include "runtime/await.h"

namespace mail::node {

smtp::Reply MailHandler::check_mail_from(const smtp::Path& /*from*/, const smtp::MailParams& /*params*/) {
  return smtp::Reply::make(250, {2, 1, 0}, "Ok");
}

smtp::Reply LocalMailHandler::check_recipient(const smtp::Path& to) { return delivery_.check_recipient(to); }

rt::Task<DeliveryResult> LocalMailHandler::deliver(const smtp::Envelope& envelope, std::string content) {
  co_return co_await delivery_.deliver(envelope, std::move(content));
}

std::string_view to_string(ListenerKind k) noexcept {
  switch (k) {
    case ListenerKind::smtp: return "smtp";
    case ListenerKind::submission: return "submission";
    case ListenerKind::submissions: return "submissions";
  }
  return "invalid";
}

namespace {
bool is_loopback(std::string_view address) {
  return address == "::1" || address.starts_with("127.") || address.starts_with("::ffff:127.");
}
}  // namespace

SmtpServer::SmtpServer(rt::Env& env, SmtpServerConfig config, MailHandler& handler)
    : env_(env),
      config_(std::move(config)),
      handler_(handler),
      limits_(config_.connections),
      guard_(config_.auth_guard),
      stop_wakeup_(env.executor()) {
  if (config_.session.auth.credentials != nullptr) {
    guarded_credentials_.emplace(guard_, env_.clock(), *config_.session.auth.credentials);
  }
}

smtp::ServerConfig SmtpServer::session_config(ListenerKind kind, const std::string& client_address) const {
  smtp::ServerConfig c = config_.session;
  c.starttls_available = tls_ != nullptr && kind != ListenerKind::submissions;
  if (guarded_credentials_) c.auth.credentials = &*guarded_credentials_;
  c.auth.plaintext_without_tls = config_.auth_plaintext_on_loopback && is_loopback(client_address);
  c.auth.required = c.auth.required || kind != ListenerKind::smtp;
  return c;
}

SmtpServer::~SmtpServer() {
  // Normally stop() has completed and everything is gone. If not (the Env is being torn
  // down with its tasks), the frames never touch the server again: their completions are
  // dropped uncalled by the Env contract.
  for (auto& l : listeners_) l->close();
}

Status SmtpServer::start() {
  MAIL_ASSERT(!started_);
  MAIL_ASSERT(!stopping_);
  started_ = true;
  if (!config_.listen_submissions.empty() && tls_ == nullptr) {
    return fail(Errc::invalid, "port 465 (submissions) needs a TLS certificate");
  }
  const std::pair<const std::vector<rt::Endpoint>*, ListenerKind> groups[] = {
      {&config_.listen, ListenerKind::smtp},
      {&config_.listen_submission, ListenerKind::submission},
      {&config_.listen_submissions, ListenerKind::submissions},
  };
  for (const auto& [endpoints, kind] : groups) {
    for (const rt::Endpoint& at : *endpoints) {
      auto listener = env_.net().listen(at);
      if (!listener.ok()) {
        for (auto& l : listeners_) l->close();
        listeners_.clear();
        bound_.clear();
        kinds_.clear();
        return fail(listener.error().code, "cannot listen on " + at.to_string() + ": " + listener.error().detail);
      }
      bound_.push_back((*listener)->local_endpoint());
      kinds_.push_back(kind);
      listeners_.push_back(std::move(listener.value()));
    }
  }
  for (std::size_t i = 0; i < listeners_.size(); ++i) {
    ++accept_loops_;
    env_.tasks().spawn(accept_loop(*listeners_[i], kinds_[i]));
  }
  for (std::size_t i = 0; i < bound_.size(); ++i) {
    env_.log().write(rt::LogLevel::info,
                     "smtp: listening on " + bound_[i].to_string() + " (" + std::string(to_string(kinds_[i])) + ")");
  }
  return {};
}

rt::Task<void> SmtpServer::accept_loop(rt::Listener& listener, ListenerKind kind) {
  auto retry_timer = env_.clock().make_timer();
  while (!stopping_) {
    auto accepted = co_await rt::accept(listener);
    if (!accepted.ok()) {
      if (stopping_ || accepted.code() == Errc::canceled) break;
      // EMFILE/ENFILE and friends: back off briefly instead of spinning.
      env_.log().write(rt::LogLevel::warn, "smtp: accept on " + listener.local_endpoint().to_string() +
                                               " failed: " + accepted.error().detail);
      (void)co_await rt::sleep_until(*retry_timer, env_.clock().now() + config_.accept_retry_delay);
      continue;
    }
    if (stopping_) {
      (*accepted)->close();
      break;
    }
    on_accepted(std::move(accepted.value()), kind);
  }
  MAIL_ASSERT(accept_loops_ > 0);
  --accept_loops_;
  stop_wakeup_.notify();
}

void SmtpServer::on_accepted(std::unique_ptr<rt::Stream> stream, ListenerKind kind) {
  MAIL_ASSERT(stream != nullptr);
  const rt::Endpoint remote = stream->remote_endpoint();
  const Admission admission = limits_.acquire(remote.address);
  if (admission != Admission::admitted) {
    ++counters_.connections_refused;
    const std::string why = admission == Admission::too_many_from_ip ? "too many connections from " + remote.address
                                                                      : "too many connections";
    env_.log().write(rt::LogLevel::warn, "smtp: refused " + remote.to_string() + ": " + why);
    if (refusals_in_flight_ >= config_.refusals_in_flight_max || kind == ListenerKind::submissions) {
      // A flood: even the 421 would cost a write each; just close. On port 465 a plaintext
      // 421 would only confuse the client's TLS stack.
      stream->close();
      return;
    }
    ++refusals_in_flight_;
    env_.tasks().spawn(refuse(std::move(stream), smtp::refuse_connection_bytes(config_.session.hostname, why)));
    return;
  }
  ++counters_.connections_accepted;
  const std::uint64_t id = next_connection_id_++;
  env_.tasks().spawn(run_connection(std::move(stream), id, remote.address, kind));
}

rt::Task<void> SmtpServer::run_connection(std::unique_ptr<rt::Stream> stream, std::uint64_t id, std::string client,
                                          ListenerKind kind) {
  SmtpConnection connection(*this, std::move(stream), id, kind);
  connections_.emplace(id, &connection);
  co_await connection.run();
  connections_.erase(id);
  limits_.release(client);
  stop_wakeup_.notify();
}

rt::Task<void> SmtpServer::refuse(std::unique_ptr<rt::Stream> stream, std::string bytes) {
  const Instant deadline = env_.clock().now() + config_.refuse_write_timeout;
  (void)co_await rt::write_all(*stream, std::as_bytes(std::span(bytes.data(), bytes.size())), deadline);
  stream->shutdown_send();
  stream->close();
  MAIL_ASSERT(refusals_in_flight_ > 0);
  --refusals_in_flight_;
  stop_wakeup_.notify();
}

rt::Task<void> SmtpServer::stop(Instant deadline) {
  MAIL_ASSERT(!stopping_);
  stopping_ = true;
  for (auto& l : listeners_) l->close();  // pending accepts complete canceled
  env_.log().write(rt::LogLevel::info,
                   "smtp: shutting down, " + std::to_string(connections_.size()) + " connection(s) open");
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
      env_.log().write(rt::LogLevel::warn, "smtp: shutdown deadline passed, forcing 421 on " +
                                               std::to_string(connections_.size()) + " connection(s)");
      for (auto& [id, connection] : connections_) connection->request_shutdown(true);
    }
    if (forced && !aborted && now >= abort_at) {
      aborted = true;
      env_.log().write(rt::LogLevel::warn, "smtp: closing " + std::to_string(connections_.size()) + " connection(s)");
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
  env_.log().write(rt::LogLevel::info, "smtp: stopped");
}

}  // namespace mail::node
