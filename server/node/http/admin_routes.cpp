// The admin REST API (see header). Must not: answer anything under /admin/api/ before the
// credentials matched, compare a secret with an early exit, keep a second user or queue
// model (users go through store::apply_user_edit, the queue through QueueManager and the
// control socket's reports), or let two user edits of this server interleave.
#include "node/http/admin_routes.h"

#include <boost/json.hpp>
#include <chrono>
#include <map>

#include "core/ascii.h"
#include "node/listener_service.h"
#include "node/mail_server.h"
#include "node/queue_report.h"
#include "proto/sasl/base64.h"
#include "runtime/await.h"
#include "store/index/async_mutex.h"
#include "store/user_db.h"

#ifndef CLOUDSDIAL_VERSION
#define CLOUDSDIAL_VERSION "0.0.0"
#endif

namespace mail::node {

namespace json = boost::json;

namespace {

constexpr std::string_view kPrefix = "/admin/api/";
constexpr std::string_view kRealm = "Basic realm=\"cloudsdial admin\", charset=\"UTF-8\"";

std::string_view reason(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 415: return "Unsupported Media Type";
    default: return status >= 500 ? "Internal Server Error" : "Error";
  }
}

// RFC 7807 §3: type, title, status, detail.
http::Response problem(int status, std::string_view type, std::string detail) {
  json::object o;
  o["type"] = "urn:cloudsdial:admin:" + std::string(type);
  o["title"] = reason(status);
  o["status"] = status;
  o["detail"] = std::move(detail);
  http::Response r;
  r.status = status;
  r.headers.push_back(http::Header{"Content-Type", "application/problem+json"});
  r.body = json::serialize(o);
  return r;
}

// RFC 9110 §15.5.6: a 405 lists the methods the resource has.
http::Response method_not_allowed(std::string_view allow) {
  http::Response r = problem(405, "method", "allowed here: " + std::string(allow));
  r.headers.push_back(http::Header{"Allow", std::string(allow)});
  return r;
}

http::Response json_response(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.headers.push_back(http::Header{"Content-Type", "application/json"});
  r.body = std::move(body);
  return r;
}

http::Response json_response(int status, const json::value& v) { return json_response(status, json::serialize(v)); }

// Errc of a failed operation -> the problem it is.
http::Response problem_of(const Error& e) {
  switch (e.code) {
    case Errc::not_found: return problem(404, "not-found", e.detail);
    case Errc::exists: return problem(409, "exists", e.detail);
    case Errc::invalid: return problem(400, "invalid", e.detail);
    default: return problem(500, "internal", e.detail);
  }
}

// "%40" -> "@" (RFC 3986 §2.1); nullopt on a malformed escape or an encoded NUL/slash.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0' || c == '/') return std::nullopt;
    out += c;
    i += 2;
  }
  return out;
}

// "users/bob/password" -> {"users", "bob", "password"}, each decoded.
std::optional<std::vector<std::string>> segments(std::string_view rest) {
  std::vector<std::string> out;
  while (!rest.empty()) {
    const std::size_t slash = rest.find('/');
    auto part = percent_decode(rest.substr(0, slash));
    if (!part || part->empty()) return std::nullopt;
    out.push_back(std::move(*part));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return out;
}

// The string members `names` of a JSON object body; nullopt when it is not one.
std::optional<std::map<std::string, std::string>> string_fields(const std::string& body,
                                                                std::initializer_list<std::string_view> names) {
  std::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  std::map<std::string, std::string> out;
  for (auto name : names) {
    const json::value* f = v.as_object().if_contains(name);
    if (f == nullptr || !f->is_string()) return std::nullopt;
    out[std::string(name)] = std::string(f->as_string());
  }
  return out;
}

}  // namespace

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  // Runs over the longer input; a length difference makes it unequal without an early exit.
  const std::size_t n = a.size() > b.size() ? a.size() : b.size();
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0u;
    const unsigned y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0u;
    diff |= x ^ y;
  }
  return diff == 0;
}

struct AdminApi::Impl {
  Impl(rt::Env& e, MailServer& s, AdminApiConfig c)
      : env(e), server(s), config(std::move(c)), edits(e.executor()), started(e.clock().now()) {}

  rt::Env& env;
  MailServer& server;
  AdminApiConfig config;
  store::index::AsyncMutex edits;  // one user edit at a time
  tls::OpenSslCrypto crypto;
  Instant started;

  rt::Task<http::Response> users(const std::string& method, const std::vector<std::string>& path,
                                 const http::Request& request);
  rt::Task<http::Response> queue(const std::string& method, const std::vector<std::string>& path);
  http::Response status();
  rt::Task<Status> edit(store::UserEdit change);
};

AdminApi::AdminApi(rt::Env& env, MailServer& server, AdminApiConfig config)
    : impl_(std::make_unique<Impl>(env, server, std::move(config))) {}

AdminApi::~AdminApi() = default;

void AdminApi::add_routes(HttpRouter& router) {
  if (!impl_->config.enabled()) return;
  for (const char* method : {"GET", "POST", "PUT", "DELETE"}) {
    router.add_prefix(method, std::string(kPrefix), [this](http::Request request) { return handle(std::move(request)); });
  }
}

rt::Task<http::Response> AdminApi::handle(http::Request request) {
  const AdminApiConfig& config = impl_->config;
  if (!config.enabled()) co_return problem(404, "not-found", "the admin API is off");
  // RFC 7617 §4: Basic sends the password in the clear; only over TLS or on loopback.
  if (!request.secure && !is_loopback_address(request.peer)) {
    co_return problem(403, "tls-required", "the admin API needs HTTPS (or a loopback client)");
  }
  bool authorized = false;
  std::string claimed_user;
  const auto header = request.header("Authorization");
  // The failed-authentication defences every mail listener shares (auth_guard.h): a locked-out
  // IP or admin name is refused like wrong credentials, without looking at them.
  AuthGuard& guard = impl_->server.smtp().auth_guard();
  const Instant now = impl_->env.clock().now();
  const bool locked = guard.ip_locked(request.peer, now) || guard.user_locked(config.user, now);
  if (header) {
    std::string_view h = *header;
    // RFC 7617 §2: the scheme name is case-insensitive.
    if (istarts_with(h, "Basic ")) {
      h.remove_prefix(6);
      while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
      const auto decoded = sasl::base64_decode(h);
      const std::size_t colon = decoded ? decoded->find(':') : std::string::npos;
      if (colon != std::string::npos) {
        const std::string_view user = std::string_view(*decoded).substr(0, colon);
        const std::string_view password = std::string_view(*decoded).substr(colon + 1);
        // Both compared, always: no early exit on the user name either.
        const bool user_ok = constant_time_equal(user, config.user);
        const bool password_ok = constant_time_equal(password, config.password);
        authorized = user_ok && password_ok && !locked;
        claimed_user = std::string(user);
      }
    }
    if (!authorized) {
      ++counters_.auth_failures;
      // Answered after the guard's growing delay (per IP), as IMAP and POP3 do.
      const Duration delay = guard.record_failure(request.peer, claimed_user, now);
      if (delay > Duration::zero()) {
        auto timer = impl_->env.clock().make_timer();
        (void)co_await rt::sleep_until(*timer, now + delay);
      }
    } else {
      guard.record_success(claimed_user);
    }
  }
  if (!authorized) {
    http::Response r = problem(401, "unauthorized", header ? "wrong admin credentials" : "admin credentials needed");
    r.headers.push_back(http::Header{"WWW-Authenticate", std::string(kRealm)});
    co_return r;
  }
  ++counters_.requests;
  const std::string_view full = request.path();
  if (!full.starts_with(kPrefix)) co_return problem(404, "not-found", "no such resource");
  auto path = segments(full.substr(kPrefix.size()));
  if (!path || path->empty()) co_return problem(404, "not-found", "no such resource");
  // HEAD is served by the GET handler (the session drops the body, RFC 9110 §9.3.2).
  const std::string method = request.method == "HEAD" ? std::string("GET") : request.method;
  const std::string& what = (*path)[0];
  if (what == "users") {
    http::Response r = co_await impl_->users(method, *path, request);
    co_return r;
  }
  if (what == "queue") {
    http::Response r = co_await impl_->queue(method, *path);
    co_return r;
  }
  if (what == "domains" && path->size() == 1) {
    if (method != "GET") co_return method_not_allowed("GET");
    json::array domains;
    for (const auto& d : impl_->server.config().directory.domains) domains.emplace_back(d);
    co_return json_response(200, json::object{{"domains", std::move(domains)}});
  }
  if (what == "status" && path->size() == 1) {
    if (method != "GET") co_return method_not_allowed("GET");
    co_return impl_->status();
  }
  co_return problem(404, "not-found", "no such resource");
}

rt::Task<Status> AdminApi::Impl::edit(store::UserEdit change) {
  if (server.config().users_path.empty()) co_return fail(Errc::invalid, "no users file is configured");
  auto guard = co_await edits.lock();
  Status done = co_await store::apply_user_edit(env.disk(), crypto, server.config().users_path, std::move(change));
  // The server answers from the file now (a new login gets its mailbox: one user model).
  if (done.ok()) co_await server.reload_users(false);
  co_return done;
}

rt::Task<http::Response> AdminApi::Impl::users(const std::string& method, const std::vector<std::string>& path,
                                               const http::Request& request) {
  if (path.size() == 1 && method == "GET") {
    json::array names;
    for (const auto& n : server.logins().names()) names.emplace_back(n);
    co_return json_response(200, json::object{{"users", std::move(names)}});
  }
  if (path.size() == 1 && method == "POST") {
    auto fields = string_fields(request.body, {"name", "password"});
    if (!fields) co_return problem(400, "invalid", "the body must be a JSON object with string name and password");
    store::UserEdit change;
    change.verb = store::UserEdit::Verb::add;
    change.name = (*fields)["name"];
    change.password = (*fields)["password"];
    Status done = co_await edit(std::move(change));
    if (!done.ok()) co_return problem_of(done.error());
    co_return json_response(201, json::object{{"name", store::canonical_user_name((*fields)["name"])}});
  }
  if (path.size() == 2 && method == "DELETE") {
    store::UserEdit change;
    change.verb = store::UserEdit::Verb::del;
    change.name = path[1];
    Status done = co_await edit(std::move(change));
    if (!done.ok()) co_return problem_of(done.error());
    co_return json_response(200, json::object{{"deleted", store::canonical_user_name(path[1])}});
  }
  if (path.size() == 3 && path[2] == "password" && method == "PUT") {
    auto fields = string_fields(request.body, {"password"});
    if (!fields) co_return problem(400, "invalid", "the body must be a JSON object with a string password");
    store::UserEdit change;
    change.verb = store::UserEdit::Verb::passwd;
    change.name = path[1];
    change.password = (*fields)["password"];
    Status done = co_await edit(std::move(change));
    if (!done.ok()) co_return problem_of(done.error());
    co_return json_response(200, json::object{{"name", store::canonical_user_name(path[1])}});
  }
  if (path.size() == 1) co_return method_not_allowed("GET, POST");
  if (path.size() == 2) co_return method_not_allowed("DELETE");
  if (path.size() == 3 && path[2] == "password") co_return method_not_allowed("PUT");
  co_return problem(404, "not-found", "users: GET, POST users; DELETE users/NAME; PUT users/NAME/password");
}

// The operations of the control socket (ControlServer::answer), with HTTP statuses.
rt::Task<http::Response> AdminApi::Impl::queue(const std::string& method, const std::vector<std::string>& path) {
  QueueManager* q = server.outbound();
  if (q == nullptr) co_return problem(409, "no-queue", "outbound delivery is off ([relay] outbound = false): no queue");
  if (path.size() == 1 && method == "GET") co_return json_response(200, queue_list_json(q->list()));
  if (path.size() == 2 && path[1] == "flush" && method == "POST") {
    Status s = q->flush("");
    if (!s.ok()) co_return problem_of(s.error());
    co_return json_response(200, ok_json());
  }
  const bool flush = path.size() == 2 && path[1] == "flush";
  if (path.size() == 2 && !flush && method == "GET") {
    auto m = q->show(path[1]);
    if (!m.ok()) co_return problem_of(m.error());
    co_return json_response(200, queue_show_json(*m));
  }
  if (path.size() == 2 && !flush && method == "DELETE") {
    Status s = co_await q->remove(path[1]);
    if (!s.ok()) co_return problem_of(s.error());
    co_return json_response(200, ok_json());
  }
  if (path.size() == 3 && method == "POST") {
    Status s;
    if (path[2] == "hold") {
      s = co_await q->hold(path[1]);
    } else if (path[2] == "release") {
      s = co_await q->release(path[1]);
    } else if (path[2] == "flush") {
      s = q->flush(path[1]);
    } else {
      co_return problem(404, "not-found", "queue/ID/: hold, release or flush");
    }
    if (!s.ok()) co_return problem_of(s.error());
    co_return json_response(200, ok_json());
  }
  if (path.size() == 1) co_return method_not_allowed("GET");
  if (flush) co_return method_not_allowed("POST");
  if (path.size() == 2) co_return method_not_allowed("GET, DELETE");
  if (path.size() == 3) co_return method_not_allowed("POST");
  co_return problem(404, "not-found",
                    "queue: GET queue, POST queue/flush, GET|DELETE queue/ID, POST queue/ID/hold|release|flush");
}

http::Response AdminApi::Impl::status() {
  json::object connections;
  connections["smtp"] = server.smtp().connection_count();
  if (auto* s = server.imap()) connections["imap"] = s->connection_count();
  if (auto* s = server.pop3()) connections["pop3"] = s->connection_count();
  if (auto* s = server.http()) connections["http"] = s->connection_count();
  json::object o;
  o["version"] = CLOUDSDIAL_VERSION;
  o["uptime_seconds"] = std::chrono::duration_cast<std::chrono::seconds>(env.clock().now() - started).count();
  o["connections"] = std::move(connections);
  if (auto* q = server.outbound()) {
    o["queue_messages"] = q->counters().messages;
  } else {
    o["queue_messages"] = nullptr;
  }
  o["users"] = server.logins().size();
  return json_response(200, o);
}

}  // namespace mail::node
