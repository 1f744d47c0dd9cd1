// Python bindings of the sans-IO POP3 server session (proto/pop3): cloudsdial._core.pop3.
// Bytes in, outputs and events out, time passed in as `now` (seconds). The session checks
// logins itself against the `users` given (name -> password, kept only as SCRAM-SHA-256
// credentials, as the users file does); the application answers its events: auth
// (complete_auth with the maildrop snapshot), retrieve (send_message, complete_retrieve)
// and update (complete_update). Every argument that could trip one of the session's
// assertions (unknown or already answered ids, admitting a failed login, a maildrop entry
// POP3 cannot express) is checked here and raised as a Python error instead.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <map>
#include <set>

#include "errors.h"
#include "proto/pop3/server_session.h"
#include "proto/sasl/credentials.h"
#include "tls/sasl_crypto.h"

namespace mail::py {

namespace pyb = pybind11;
using namespace pybind11::literals;

namespace {

// Session time: seconds as float, never going backwards for one session (as bind_smtp.cpp).
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

Duration duration_of(double s, const char* what) {
  if (!std::isfinite(s) || s <= 0 || s > 1e9) raise_error(ErrorKind::config, std::string(what) + " is seconds > 0");
  return Duration(static_cast<std::int64_t>(std::llround(s * 1e6)));
}

class MapCredentials final : public sasl::CredentialStore {
 public:
  std::optional<sasl::ScramCredentials> lookup(std::string_view user) const override {
    auto it = users.find(std::string(user));
    if (it == users.end()) return std::nullopt;
    return it->second;
  }
  bool has_users() const override { return !users.empty(); }
  std::map<std::string, sasl::ScramCredentials> users;
};

// RFC 1939 §7: a unique-id is 1 to 70 characters in the range 0x21 to 0x7E.
bool valid_uidl(std::string_view s) {
  if (s.empty() || s.size() > 70) return false;
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) return false;
  return true;
}

class PyPop3ServerSession {
 public:
  enum class Kind { auth_ok, auth_failed, retrieve, update };

  PyPop3ServerSession(pop3::SessionConfig config, const std::map<std::string, std::string>& users, double now)
      : session_(configured(std::move(config), users), clock_.at(now)) {}

  std::size_t feed(const pyb::bytes& data, double now) {
    const std::string_view in = data;
    return session_.feed(in, clock_.at(now));
  }
  void feed_eof(double now) {
    session_.feed_eof(clock_.at(now));
  }
  pyb::object poll_output() {
    auto o = session_.poll_output();
    if (!o) return pyb::none();
    if (auto* send = std::get_if<proto::out::Send>(&*o)) return pyb::make_tuple("send", as_bytes(send->bytes));
    if (auto* p = std::get_if<proto::out::Pause>(&*o)) return pyb::make_tuple("pause", secs(p->until));
    if (std::holds_alternative<proto::out::StartTls>(*o)) return pyb::make_tuple("starttls");
    if (std::holds_alternative<proto::out::StartCompress>(*o)) return pyb::make_tuple("compress");
    return pyb::make_tuple("close");
  }
  pyb::object poll_event() {
    auto e = session_.poll_event();
    if (!e) return pyb::none();
    if (auto* a = std::get_if<pop3::ev::Auth>(&*e)) {
      pending_[a->id] = a->success ? Kind::auth_ok : Kind::auth_failed;
      return pyb::dict("kind"_a = "auth", "id"_a = a->id, "success"_a = a->success, "user"_a = a->authcid,
                       "mechanism"_a = a->mechanism);
    }
    if (auto* r = std::get_if<pop3::ev::Retrieve>(&*e)) {
      pending_[r->id] = Kind::retrieve;
      pyb::object top = r->top_lines ? pyb::object(pyb::int_(*r->top_lines)) : pyb::object(pyb::none());
      return pyb::dict("kind"_a = "retrieve", "id"_a = r->id, "uid"_a = r->uid, "top_lines"_a = top);
    }
    if (auto* u = std::get_if<pop3::ev::Update>(&*e)) {
      pending_[u->id] = Kind::update;
      return pyb::dict("kind"_a = "update", "id"_a = u->id, "deleted_uids"_a = u->deleted_uids);
    }
    return pyb::none();
  }

  void complete_auth(std::uint64_t id, bool accepted, const std::vector<std::tuple<std::uint32_t, std::uint64_t, std::string>>& maildrop,
                     const std::string& refusal, double now) {
    const Instant at = clock_.at(now);  // before take(): a bad `now` must leave the event pending
    const Kind kind = take(id, "auth");
    if (accepted && kind != Kind::auth_ok) {
      pending_[id] = kind;
      raise_error(ErrorKind::state, "the credentials were wrong: a failed login cannot be accepted");
    }
    if (refusal.find_first_of("\r\n") != std::string::npos) {
      pending_[id] = kind;
      raise_error(ErrorKind::config, "refusal text without CR/LF");
    }
    std::vector<pop3::MaildropEntry> drop;
    std::set<std::uint32_t> uids;
    std::set<std::string> uidls;
    for (const auto& [uid, size, uidl] : maildrop) {
      std::string why;
      if (!valid_uidl(uidl)) why = "uidl must be 1..70 characters 0x21..0x7E (RFC 1939 §7): '" + uidl + "'";
      else if (!uids.insert(uid).second) why = "uid " + std::to_string(uid) + " appears twice in the maildrop";
      else if (!uidls.insert(uidl).second) why = "uidl '" + uidl + "' appears twice (RFC 1939 §7: unique)";
      if (!why.empty()) {
        pending_[id] = kind;
        raise_error(ErrorKind::config, why);
      }
      drop.push_back(pop3::MaildropEntry{uid, size, uidl});
    }
    session_.complete_auth(id, accepted, std::move(drop), at, refusal);
  }
  bool send_message(std::uint64_t id, const pyb::bytes& data) {
    auto it = pending_.find(id);
    if (it == pending_.end() || it->second != Kind::retrieve)
      raise_error(ErrorKind::state, "no retrieve event " + std::to_string(id) + " awaits bytes");
    const std::string_view in = data;
    return session_.send_message(id, in);
  }
  void complete_retrieve(std::uint64_t id, bool ok, double now) {
    const Instant at = clock_.at(now);
    take(id, "retrieve");
    session_.complete_retrieve(id, ok, at);
  }
  void complete_update(std::uint64_t id, bool ok, double now) {
    const Instant at = clock_.at(now);
    take(id, "update");
    session_.complete_update(id, ok, at);
  }
  pyb::object poll_timeout() const {
    auto t = session_.poll_timeout();
    return t ? pyb::object(pyb::float_(secs(*t))) : pyb::object(pyb::none());
  }
  void handle_timeout(double now) { session_.handle_timeout(clock_.at(now)); }
  void tls_established(double now) { session_.tls_established(clock_.at(now)); }
  void shutdown(double now, bool force) { session_.shutdown(clock_.at(now), force); }
  std::string state() const { return std::string(pop3::to_string(session_.state())); }
  bool closed() const { return session_.closed(); }
  std::string user() const { return session_.user(); }
  bool tls_active() const { return session_.tls_active(); }
  std::size_t buffered_bytes() const { return session_.buffered_bytes(); }
  std::vector<std::string> capabilities() const {
    std::vector<std::string> out;
    const std::string caps = session_.capabilities();
    std::size_t pos = 0;
    while (pos < caps.size()) {
      const std::size_t end = caps.find("\r\n", pos);
      out.push_back(caps.substr(pos, end - pos));
      if (end == std::string::npos) break;
      pos = end + 2;
    }
    return out;
  }

 private:
  Kind take(std::uint64_t id, const char* what) {
    auto it = pending_.find(id);
    if (it == pending_.end()) raise_error(ErrorKind::state, "no event " + std::to_string(id) + " awaits an answer");
    const Kind k = it->second;
    const bool matches = std::string_view(what) == "auth" ? (k == Kind::auth_ok || k == Kind::auth_failed)
                         : std::string_view(what) == "retrieve" ? k == Kind::retrieve
                                                                 : k == Kind::update;
    if (!matches) raise_error(ErrorKind::state, "event " + std::to_string(id) + " is not a " + what + " event");
    pending_.erase(it);
    return k;
  }
  pop3::SessionConfig configured(pop3::SessionConfig c, const std::map<std::string, std::string>& users) {
    for (const auto& [name, password] : users) {
      if (!sasl::is_acceptable_username(name)) raise_error(ErrorKind::config, "not a usable user name: '" + name + "'");
      // A fixed salt per name: these are test sessions, not a users file.
      credentials_.users[name] = sasl::derive_scram_credentials(crypto_, password, "cloudsdial-pop3:" + name, 4096);
    }
    c.crypto = &crypto_;
    c.credentials = &credentials_;
    return c;
  }

  Clock clock_;
  tls::OpenSslCrypto crypto_;
  MapCredentials credentials_;
  pop3::ServerSession session_;  // after crypto_ and credentials_: it points at them
  std::map<std::uint64_t, Kind> pending_;
};

}  // namespace

void bind_pop3(pyb::module_& root) {
  auto m = root.def_submodule("pop3", "Sans-IO POP3 server session: bytes and time in, outputs and events out.");

  pyb::class_<PyPop3ServerSession>(
      m, "ServerSession",
      "The RFC 1939 server session (with CAPA, STLS, SASL AUTH, UTF8). After every call drain poll_output() and "
      "poll_event(); answer auth with complete_auth(), retrieve with send_message()... complete_retrieve(), "
      "update with complete_update().")
      .def(pyb::init([](std::map<std::string, std::string> users, double now, std::string greeting,
                        bool plaintext_without_tls, bool starttls_available, bool tls_active, double login_timeout,
                        double idle_timeout, std::string implementation, std::uint32_t command_line_bytes_max,
                        std::uint32_t errors_max, std::uint32_t errors_max_pre_auth) {
             pop3::SessionConfig c;
             if (greeting.find_first_of("\r\n") != std::string::npos || implementation.find_first_of("\r\n") != std::string::npos)
               raise_error(ErrorKind::config, "greeting and implementation are one line each");
             if (command_line_bytes_max < 255) raise_error(ErrorKind::config, "command_line_bytes_max >= 255 (RFC 2449 §4)");
             if (errors_max == 0 || errors_max_pre_auth == 0) raise_error(ErrorKind::config, "error budgets must be > 0");
             c.greeting = std::move(greeting);
             c.plaintext_without_tls = plaintext_without_tls;
             c.starttls_available = starttls_available;
             c.tls_active = tls_active;
             c.login_timeout = duration_of(login_timeout, "login_timeout");
             c.idle_timeout = duration_of(idle_timeout, "idle_timeout");
             c.implementation = std::move(implementation);
             c.limits.command_line_bytes_max = command_line_bytes_max;
             c.limits.errors_max = errors_max;
             c.limits.errors_max_pre_auth = errors_max_pre_auth;
             return std::make_unique<PyPop3ServerSession>(std::move(c), users, now);
           }),
           pyb::kw_only(), "users"_a = std::map<std::string, std::string>{}, "now"_a = 0.0,
           "greeting"_a = "Cloudsdial POP3 ready", "plaintext_without_tls"_a = true, "starttls_available"_a = false,
           "tls_active"_a = false, "login_timeout"_a = 60.0, "idle_timeout"_a = 600.0,
           "implementation"_a = "Cloudsdial", "command_line_bytes_max"_a = 512, "errors_max"_a = 20,
           "errors_max_pre_auth"_a = 10)
      .def("feed", &PyPop3ServerSession::feed, "data"_a, "now"_a = 0.0,
           "Returns how many bytes were taken (fewer while an event awaits its answer: feed the rest later).")
      .def("feed_eof", &PyPop3ServerSession::feed_eof, "now"_a = 0.0)
      .def("poll_output", &PyPop3ServerSession::poll_output, "('send', bytes) | ('starttls',) | ('close',) | None")
      .def("poll_event", &PyPop3ServerSession::poll_event,
           "A dict with 'kind' (auth, retrieve, update) and 'id', or None.")
      .def("complete_auth", &PyPop3ServerSession::complete_auth, "id"_a, "accepted"_a,
           "maildrop"_a = std::vector<std::tuple<std::uint32_t, std::uint64_t, std::string>>{}, "refusal"_a = "",
           "now"_a = 0.0,
           "maildrop: (uid, size, uidl) per message, message number = index + 1. refusal: the -ERR text for "
           "good credentials refused, e.g. '[IN-USE] ...'.")
      .def("send_message", &PyPop3ServerSession::send_message, "id"_a, "data"_a,
           "The next raw bytes (CRLF, not dot-stuffed) of the message; False when no more are wanted.")
      .def("complete_retrieve", &PyPop3ServerSession::complete_retrieve, "id"_a, "ok"_a = true, "now"_a = 0.0)
      .def("complete_update", &PyPop3ServerSession::complete_update, "id"_a, "ok"_a = true, "now"_a = 0.0)
      .def("poll_timeout", &PyPop3ServerSession::poll_timeout)
      .def("handle_timeout", &PyPop3ServerSession::handle_timeout, "now"_a)
      .def("tls_established", &PyPop3ServerSession::tls_established, "now"_a = 0.0)
      .def("shutdown", &PyPop3ServerSession::shutdown, "now"_a = 0.0, "force"_a = false)
      .def_property_readonly("state", &PyPop3ServerSession::state)
      .def_property_readonly("closed", &PyPop3ServerSession::closed)
      .def_property_readonly("user", &PyPop3ServerSession::user)
      .def_property_readonly("tls_active", &PyPop3ServerSession::tls_active)
      .def_property_readonly("buffered_bytes", &PyPop3ServerSession::buffered_bytes)
      .def_property_readonly("capabilities", &PyPop3ServerSession::capabilities);
}

}  // namespace mail::py
