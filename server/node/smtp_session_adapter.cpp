// SmtpSessionAdapter (see header). Must not: touch Asio or the OS clock, answer an event
// twice, or say 250 before the handler's delivery completed.
#include "node/smtp_session_adapter.h"

#include <variant>

#include "core/assert.h"
#include "node/smtp_server.h"
#include "runtime/await.h"

namespace mail::node {

SmtpSessionAdapter::SmtpSessionAdapter(SmtpServer& server, Connection& connection, smtp::ServerConfig config,
                                       smtp::SessionInfo info, ListenerKind listener, Instant now)
    : server_(server),
      connection_(connection),
      listener_(listener),
      tls_(info.tls),
      session_(std::move(config), std::move(info), now),
      auth_timer_(connection.env().clock().make_timer()) {}

SessionFacts SmtpSessionAdapter::facts() const {
  SessionFacts f;
  f.listener = listener_;
  f.client_address = connection_.client();
  f.auth_identity = session_.auth_identity();
  f.tls = tls_;
  return f;
}

bool SmtpSessionAdapter::dispatch_events(Instant now) {
  bool any = false;
  while (auto event = session_.poll_event()) {
    any = true;
    on_event(*event, now);
  }
  return any;
}

void SmtpSessionAdapter::on_event(smtp::Event& event, Instant now) {
  MailHandler& handler = server_.handler_;
  if (auto* mail = std::get_if<smtp::ev::MailFrom>(&event)) {
    session_.complete(mail->id, handler.check_mail_from(mail->path, mail->params, facts()), now);
  } else if (auto* rcpt = std::get_if<smtp::ev::RcptTo>(&event)) {
    session_.complete(rcpt->id, handler.check_recipient(rcpt->path, facts()), now);
  } else if (auto* message = std::get_if<smtp::ev::Message>(&event)) {
    ++transactions_;
    connection_.start_job(deliver(std::move(*message)));
  } else if (auto* auth = std::get_if<smtp::ev::Auth>(&event)) {
    on_auth(*auth, now);
  } else if (auto* rejected = std::get_if<smtp::ev::Rejected>(&event)) {
    log_rejection(*rejected, now);
  } else if (auto* closed = std::get_if<smtp::ev::Closed>(&event)) {
    connection_.set_close_reason(closed->reason);
  }
  // Helo and TransactionReset are informational.
}

// One line per rejection, Postfix's shape so existing habits and tools find it:
//   smtp[7]: NOQUEUE: reject: RCPT from 192.0.2.1: 554 5.7.1 <x@gmail.com>: Relay access
//   denied; from=<a@b.test> arg=<TO:<x@gmail.com>> helo=<client.example>
// Rate-limited per server (LogBudget): a flood of bad commands costs a bounded log.
void SmtpSessionAdapter::log_rejection(const smtp::ev::Rejected& r, Instant now) {
  ++server_.counters_.rejections;
  LogBudget& budget = server_.reject_log_;
  if (!budget.admit(now)) return;
  const std::string wire = r.reply.to_wire(true);
  std::string line = "NOQUEUE: reject: " + r.stage + " from " + connection_.client() + ": " +
                     wire.substr(0, wire.find("\r\n"));
  line += "; from=<" + r.mail_from + ">";
  if (!r.argument.empty()) line += " arg=<" + r.argument + ">";
  line += " helo=<" + r.helo + ">";
  if (const std::uint64_t dropped = budget.take_suppressed(); dropped > 0) {
    line += " (" + std::to_string(dropped) + " earlier rejection line(s) suppressed)";
  }
  connection_.log(r.reply.transient() ? rt::LogLevel::info : rt::LogLevel::warn, line);
}

rt::Task<Connection::JobResult> SmtpSessionAdapter::deliver(smtp::ev::Message message) {
  const smtp::EventId id = message.id;
  const std::uint64_t received_bytes = message.content.size();
  DeliveryResult result = co_await server_.handler_.deliver(message.envelope, std::move(message.content));
  // "<id>: from=<..> to=<..> size=N result=..": one line per transaction, Postfix-like.
  std::string line = transaction_log_line(result.queue_id, message.envelope,
                                          result.size_bytes != 0 ? result.size_bytes : received_bytes, result.reply);
  co_return [this, id, reply = std::move(result.reply), line = std::move(line)](Instant now, bool open) mutable {
    SmtpServerCounters& counters = server_.counters_;
    ++(reply.positive() ? counters.messages_accepted : counters.messages_refused);
    connection_.log(reply.positive() ? rt::LogLevel::info : rt::LogLevel::warn,
                    line + " client=" + connection_.client() + (open ? "" : " (session closed before the reply)"));
    if (open) session_.complete(id, std::move(reply), now);
  };
}

void SmtpSessionAdapter::on_auth(const smtp::ev::Auth& auth, Instant now) {
  AuthGuard& guard = server_.guard_;
  const std::string& client = connection_.client();
  const std::string who = "AUTH " + auth.mechanism + " user=" +
                          (sasl::is_acceptable_username(auth.authcid) ? auth.authcid : std::string("<invalid>")) +
                          " client=" + client;
  if (auth.success && !guard.ip_locked(client, now)) {
    guard.record_success(auth.authcid);
    ++server_.counters_.auth_successes;
    connection_.log(rt::LogLevel::info, who + " ok");
    session_.complete(auth.id, smtp::Reply::make(235, {2, 7, 0}, "Authentication successful"), now);
    return;
  }
  // A failure (or any attempt from a locked-out IP): the same reply whatever the reason,
  // after a delay that grows with the IP's failures — never faster, never telling.
  ++server_.counters_.auth_failures;
  const Duration delay = guard.record_failure(client, auth.authcid, now);
  const bool locked = guard.ip_locked(client, now);
  connection_.log(rt::LogLevel::warn, who + " failed (" + std::string(sasl::to_string(auth.failure)) +
                                          (locked ? ", client locked out" : "") + ")");
  smtp::Reply reply = locked ? smtp::Reply::make(421, {4, 7, 0}, server_.config_.session.hostname +
                                                                    " Error: too many failed authentications")
                             : smtp::Reply::make(535, {5, 7, 8}, "Authentication credentials invalid");
  MAIL_ASSERT(!auth_delay_in_flight_);
  auth_delay_in_flight_ = true;
  connection_.start_job(answer_after(auth.id, std::move(reply), now + delay));
}

rt::Task<Connection::JobResult> SmtpSessionAdapter::answer_after(smtp::EventId id, smtp::Reply reply, Instant at) {
  // The connection lingers until this job is done: the delayed answer is always delivered.
  (void)co_await rt::sleep_until(*auth_timer_, at);
  MAIL_ASSERT(auth_delay_in_flight_);
  auth_delay_in_flight_ = false;
  co_return [this, id, reply = std::move(reply)](Instant now, bool open) mutable {
    if (open) session_.complete(id, std::move(reply), now);
  };
}

}  // namespace mail::node
