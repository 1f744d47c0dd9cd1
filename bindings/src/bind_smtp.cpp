// Python bindings of the sans-IO SMTP sessions (proto/smtp): ServerSession and
// ClientSession, for protocol developers who test their own clients or servers. Bytes in,
// outputs and events out, time passed in as `now` (seconds). Wraps the sessions with the
// checks their assertions need (reply codes, completion ids, monotonic time, addresses).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <set>

#include "errors.h"
#include "proto/smtp/address.h"
#include "proto/smtp/client_session.h"
#include "proto/smtp/server_session.h"

namespace mail::py {

namespace pyb = pybind11;
using namespace pybind11::literals;

namespace {

// Session time: seconds as float, never going backwards for one session.
class Clock {
 public:
  Instant at(double s) {
    if (!std::isfinite(s) || s < 0 || s > 1e12) raise_error(ErrorKind::config, "now is seconds >= 0");
    const Instant t(Duration(static_cast<std::int64_t>(std::llround(s * 1e6))));
    if (t < last_) raise_error(ErrorKind::config, "time went backwards (now must not decrease)");
    last_ = t;
    return t;
  }

 private:
  Instant last_{};
};

double secs(Instant t) { return static_cast<double>(t.time_since_epoch().count()) / 1e6; }
pyb::bytes as_bytes(std::string_view s) { return pyb::bytes(s.data(), s.size()); }
std::string addr(const smtp::Path& p) { return p.to_string(); }

pyb::dict reply_dict(const smtp::Reply& r) {
  return pyb::dict("code"_a = r.code, "enhanced"_a = r.enhanced.empty() ? std::string() : r.enhanced.to_string(),
                   "lines"_a = r.lines);
}

smtp::Reply make_reply(int code, const std::string& text, const std::string& enhanced) {
  if (code < 200 || code > 599) raise_error(ErrorKind::config, "reply codes are 200..599");
  if (text.find_first_of("\r\n") != std::string::npos) raise_error(ErrorKind::config, "reply text without CR/LF");
  smtp::EnhancedCode e;
  if (!enhanced.empty()) {
    unsigned a = 0, b = 0, c = 0;
    char tail = 0;
    if (std::sscanf(enhanced.c_str(), "%u.%u.%u%c", &a, &b, &c, &tail) != 3 || a != static_cast<unsigned>(code / 100) ||
        b > 999 || c > 999) {
      raise_error(ErrorKind::config, "enhanced code must be class.subject.detail with class = code / 100");
    }
    e = smtp::EnhancedCode{static_cast<std::uint8_t>(a), static_cast<std::uint16_t>(b), static_cast<std::uint16_t>(c)};
  }
  return smtp::Reply::make(static_cast<std::uint16_t>(code), e, text);
}

template <class Out>
pyb::object output_tuple(const Out& o) {
  if (auto* send = std::get_if<smtp::out::Send>(&o)) return pyb::make_tuple("send", as_bytes(send->bytes));
  if (std::holds_alternative<smtp::out::StartTls>(o)) return pyb::make_tuple("starttls");
  if (std::holds_alternative<smtp::out::Close>(o)) return pyb::make_tuple("close");
  if constexpr (std::is_same_v<Out, smtp::Output>) {
    if (auto* p = std::get_if<smtp::out::Pause>(&o)) return pyb::make_tuple("pause", secs(p->until));
  }
  return pyb::none();
}

class PyServerSession {
 public:
  PyServerSession(smtp::ServerConfig config, smtp::SessionInfo info, double now)
      : session_(std::move(config), std::move(info), clock_.at(now)) {}

  std::size_t feed(const pyb::bytes& data, double now) {
    const std::string_view in = data;
    return session_.feed(in, clock_.at(now));
  }
  void feed_eof(double now) { session_.feed_eof(clock_.at(now)); }
  pyb::object poll_output() {
    auto o = session_.poll_output();
    return o ? output_tuple(*o) : pyb::object(pyb::none());
  }
  pyb::object poll_event() {
    auto e = session_.poll_event();
    if (!e) return pyb::none();
    if (auto* h = std::get_if<smtp::ev::Helo>(&*e)) return pyb::dict("kind"_a = "helo", "name"_a = h->name, "extended"_a = h->extended);
    if (auto* mf = std::get_if<smtp::ev::MailFrom>(&*e)) {
      pending_.insert(mf->id);
      return pyb::dict("kind"_a = "mail_from", "id"_a = mf->id, "path"_a = addr(mf->path));
    }
    if (auto* r = std::get_if<smtp::ev::RcptTo>(&*e)) {
      pending_.insert(r->id);
      return pyb::dict("kind"_a = "rcpt_to", "id"_a = r->id, "path"_a = addr(r->path));
    }
    if (auto* m = std::get_if<smtp::ev::Message>(&*e)) {
      pending_.insert(m->id);
      std::vector<std::string> rcpts;
      for (const auto& r : m->envelope.recipients) rcpts.push_back(addr(r.path));
      return pyb::dict("kind"_a = "message", "id"_a = m->id, "mail_from"_a = addr(m->envelope.mail_from),
                       "recipients"_a = rcpts, "helo"_a = m->envelope.helo, "content"_a = as_bytes(m->content));
    }
    if (std::holds_alternative<smtp::ev::TransactionReset>(*e)) return pyb::dict("kind"_a = "transaction_reset");
    if (auto* r = std::get_if<smtp::ev::Rejected>(&*e)) {
      return pyb::dict("kind"_a = "rejected", "stage"_a = r->stage, "code"_a = r->reply.code,
                       "argument"_a = r->argument, "mail_from"_a = r->mail_from);
    }
    if (auto* c = std::get_if<smtp::ev::Closed>(&*e)) return pyb::dict("kind"_a = "closed", "reason"_a = c->reason);
    return pyb::none();
  }
  void complete(smtp::EventId id, int code, const std::string& text, const std::string& enhanced, double now) {
    smtp::Reply reply = make_reply(code, text, enhanced);
    if (pending_.count(id) == 0) raise_error(ErrorKind::state, "no event " + std::to_string(id) + " awaits a reply");
    const Instant at = clock_.at(now);
    pending_.erase(id);
    session_.complete(id, std::move(reply), at);
  }
  pyb::object poll_timeout() const {
    auto t = session_.poll_timeout();
    return t ? pyb::object(pyb::float_(secs(*t))) : pyb::object(pyb::none());
  }
  void handle_timeout(double now) { session_.handle_timeout(clock_.at(now)); }
  void shutdown(double now, bool force) { session_.shutdown(clock_.at(now), force); }
  std::string state() const { return std::string(smtp::to_string(session_.state())); }
  bool closed() const { return session_.closed(); }
  std::vector<std::string> history() const { return {session_.history().begin(), session_.history().end()}; }

 private:
  Clock clock_;
  smtp::ServerSession session_;
  std::set<smtp::EventId> pending_;
};

smtp::Mailbox mailbox_of(const std::string& a, const char* what) {
  auto m = smtp::parse_mailbox(a, smtp::SmtpLimits{}, true);
  if (!m) raise_error(ErrorKind::config, std::string(what) + " is not a valid local@domain address: '" + a + "'");
  return *m;
}

class PyClientSession {
 public:
  PyClientSession(smtp::ClientConfig config, double now) : session_(validated(std::move(config)), clock_.at(now)) {}

  smtp::TxId submit(const std::optional<std::string>& mail_from, const std::vector<std::string>& recipients,
                    const pyb::bytes& content, double now) {
    if (session_.closed()) raise_error(ErrorKind::state, "the session is closed");
    if (recipients.empty()) raise_error(ErrorKind::config, "a transaction needs at least one recipient");
    smtp::MailTransaction tx;
    if (mail_from && !mail_from->empty()) tx.mail_from.mailbox = mailbox_of(*mail_from, "mail_from");
    for (const auto& r : recipients) {
      smtp::Recipient rc;
      rc.path.mailbox = mailbox_of(r, "recipient");
      tx.recipients.push_back(std::move(rc));
    }
    tx.content = std::string(std::string_view(content));
    return session_.submit(std::move(tx), clock_.at(now));
  }
  void quit(double now) {
    if (!session_.closed()) session_.quit(clock_.at(now));
  }
  void cancel(double now, const std::string& why) {
    if (!session_.closed()) session_.cancel(clock_.at(now), why);
  }
  std::size_t feed(const pyb::bytes& data, double now) {
    const std::string_view in = data;
    return session_.feed(in, clock_.at(now));
  }
  void feed_eof(double now) { session_.feed_eof(clock_.at(now)); }
  pyb::object poll_output() {
    auto o = session_.poll_output();
    return o ? output_tuple(*o) : pyb::object(pyb::none());
  }
  pyb::object poll_event() {
    auto e = session_.poll_event();
    if (!e) return pyb::none();
    if (auto* r = std::get_if<smtp::ev::SessionReady>(&*e)) {
      std::vector<std::string> caps;
      for (const auto& c : r->capabilities.items) caps.push_back(c.keyword);
      return pyb::dict("kind"_a = "session_ready", "extended"_a = r->extended, "tls"_a = r->tls,
                       "capabilities"_a = caps);
    }
    if (auto* t = std::get_if<smtp::ev::TransactionResult>(&*e)) {
      pyb::list rcpts;
      for (const auto& r : t->recipients) {
        rcpts.append(pyb::dict("path"_a = addr(r.path), "accepted"_a = r.accepted, "reply"_a = reply_dict(r.reply)));
      }
      return pyb::dict("kind"_a = "transaction_result", "id"_a = t->id, "accepted"_a = t->accepted,
                       "local"_a = t->local, "reply"_a = reply_dict(t->reply), "recipients"_a = rcpts);
    }
    if (auto* c = std::get_if<smtp::ev::Closed>(&*e)) return pyb::dict("kind"_a = "closed", "reason"_a = c->reason);
    if (auto* a = std::get_if<smtp::ev::Authenticated>(&*e))
      return pyb::dict("kind"_a = "authenticated", "mechanism"_a = std::string(sasl::to_string(a->mechanism)),
                       "user"_a = a->user);
    return pyb::none();
  }
  pyb::object poll_timeout() const {
    auto t = session_.poll_timeout();
    return t ? pyb::object(pyb::float_(secs(*t))) : pyb::object(pyb::none());
  }
  void handle_timeout(double now) { session_.handle_timeout(clock_.at(now)); }
  std::string state() const { return std::string(smtp::to_string(session_.state())); }
  bool closed() const { return session_.closed(); }
  std::size_t pending_transactions() const { return session_.pending_transactions(); }
  std::vector<std::string> history() const { return {session_.history().begin(), session_.history().end()}; }

 private:
  static smtp::ClientConfig validated(smtp::ClientConfig c) {
    if (!smtp::is_valid_domain(c.helo_name, false) && !smtp::is_valid_address_literal(c.helo_name)) {
      raise_error(ErrorKind::config, "helo_name must be a domain or an address literal: '" + c.helo_name + "'");
    }
    if (c.chunk_bytes == 0) raise_error(ErrorKind::config, "chunk_bytes must be > 0");
    return c;
  }
  Clock clock_;
  smtp::ClientSession session_;
};

}  // namespace

void bind_smtp(pyb::module_& root) {
  auto m = root.def_submodule("smtp", "Sans-IO SMTP sessions: bytes and time in, outputs and events out.");

  pyb::class_<PyServerSession>(m, "ServerSession",
                               "The RFC 5321 server session. After every call drain poll_output() and poll_event(); "
                               "answer mail_from / rcpt_to / message events with complete(id, code, text).")
      .def(pyb::init([](std::string hostname, std::string remote_address, double now, bool pipelining, bool chunking,
                        std::uint64_t message_size_max) {
             smtp::ServerConfig c;
             if (!smtp::is_valid_domain(hostname, false)) raise_error(ErrorKind::config, "hostname must be a domain");
             c.hostname = std::move(hostname);
             c.pipelining = pipelining;
             c.chunking = chunking;
             if (message_size_max != 0) c.limits.message_bytes_max = message_size_max;
             smtp::SessionInfo info;
             info.remote_address = std::move(remote_address);
             return std::make_unique<PyServerSession>(std::move(c), std::move(info), now);
           }),
           pyb::kw_only(), "hostname"_a = "mx.example.test", "remote_address"_a = "192.0.2.1", "now"_a = 0.0,
           "pipelining"_a = true, "chunking"_a = true, "message_size_max"_a = 0)
      .def("feed", &PyServerSession::feed, "data"_a, "now"_a = 0.0, "Returns how many bytes were taken.")
      .def("feed_eof", &PyServerSession::feed_eof, "now"_a = 0.0)
      .def("poll_output", &PyServerSession::poll_output,
           "('send', bytes) | ('pause', until) | ('starttls',) | ('close',) | None")
      .def("poll_event", &PyServerSession::poll_event, "A dict with 'kind' (helo, mail_from, rcpt_to, message, "
                                                       "transaction_reset, closed) or None.")
      .def("complete", &PyServerSession::complete, "id"_a, "code"_a, "text"_a = "Ok", "enhanced"_a = "",
           "now"_a = 0.0)
      .def("poll_timeout", &PyServerSession::poll_timeout)
      .def("handle_timeout", &PyServerSession::handle_timeout, "now"_a)
      .def("shutdown", &PyServerSession::shutdown, "now"_a = 0.0, "force"_a = false)
      .def_property_readonly("state", &PyServerSession::state)
      .def_property_readonly("closed", &PyServerSession::closed)
      .def_property_readonly("history", &PyServerSession::history);

  pyb::class_<PyClientSession>(m, "ClientSession",
                               "The RFC 5321 client session. submit() transactions, feed() the server's bytes, "
                               "send what poll_output() gives; every transaction ends in one transaction_result.")
      .def(pyb::init([](std::string helo_name, double now, bool pipelining, bool chunking) {
             smtp::ClientConfig c;
             c.helo_name = std::move(helo_name);
             c.use_pipelining = pipelining;
             c.use_chunking = chunking;
             return std::make_unique<PyClientSession>(std::move(c), now);
           }),
           pyb::kw_only(), "helo_name"_a = "client.example.test", "now"_a = 0.0, "pipelining"_a = true,
           "chunking"_a = false)
      .def("submit", &PyClientSession::submit, "mail_from"_a, "recipients"_a, "content"_a, "now"_a = 0.0,
           "Queues a transaction; returns its id. mail_from None or '' is the null sender.")
      .def("quit", &PyClientSession::quit, "now"_a = 0.0)
      .def("cancel", &PyClientSession::cancel, "now"_a = 0.0, "why"_a = "canceled")
      .def("feed", &PyClientSession::feed, "data"_a, "now"_a = 0.0)
      .def("feed_eof", &PyClientSession::feed_eof, "now"_a = 0.0)
      .def("poll_output", &PyClientSession::poll_output)
      .def("poll_event", &PyClientSession::poll_event,
           "A dict with 'kind' (session_ready, transaction_result, authenticated, closed) or None.")
      .def("poll_timeout", &PyClientSession::poll_timeout)
      .def("handle_timeout", &PyClientSession::handle_timeout, "now"_a)
      .def_property_readonly("state", &PyClientSession::state)
      .def_property_readonly("closed", &PyClientSession::closed)
      .def_property_readonly("pending_transactions", &PyClientSession::pending_transactions)
      .def_property_readonly("history", &PyClientSession::history);
}

}  // namespace mail::py
