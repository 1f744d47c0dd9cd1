// The admin REST API under /admin/api/ (JSON; errors are RFC 7807 problem details,
// application/problem+json). Users (list, add, delete, password: store::apply_user_edit,
// the code path of `cloudsdial user`, then MailServer::reload_users so a new login gets its
// mailbox at once), local domains, the outbound queue (list, show, flush, hold, release,
// delete: the QueueManager calls and reports of the control socket behind `cloudsdial
// queue`), and server status. Auth: HTTP Basic (RFC 7617) against the configured admin
// user and password, compared in constant time; accepted only over TLS or from a loopback
// peer (else 403), like IMAP's plaintext policy. Missing or wrong credentials: 401 with
// WWW-Authenticate; wrong ones are counted (admin auth failures in /metrics) and go through
// the mail listeners' AuthGuard (growing delay per IP, lockouts). Without an
// admin user configured no route is added: every /admin/api path is 404. Env only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "http/message.h"
#include "node/http/router.h"
#include "runtime/env.h"
#include "runtime/task.h"

namespace mail::node {

class MailServer;

struct AdminApiConfig {
  std::string user;      // empty: the admin API is off
  std::string password;  // the secret itself (the app reads [http] admin_password_file)
  bool enabled() const noexcept { return !user.empty() && !password.empty(); }
};

struct AdminCounters {
  std::uint64_t requests = 0;       // authenticated requests
  std::uint64_t auth_failures = 0;  // wrong credentials (missing ones are not counted)
};

// Equal strings, in time independent of where they differ (length leaks, contents do not).
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

class AdminApi {
 public:
  // `server` must outlive this object and the router it is added to.
  AdminApi(rt::Env& env, MailServer& server, AdminApiConfig config);
  ~AdminApi();
  AdminApi(const AdminApi&) = delete;
  AdminApi& operator=(const AdminApi&) = delete;

  // Adds the /admin/api/ routes (GET, POST, PUT, DELETE); nothing when not enabled().
  void add_routes(HttpRouter& router);
  // The answer to one request under /admin/api/ (also used by tests).
  rt::Task<http::Response> handle(http::Request request);
  const AdminCounters& counters() const noexcept { return counters_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  AdminCounters counters_;
};

}  // namespace mail::node
