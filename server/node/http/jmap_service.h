// JmapService: JMAP (server/jmap) on the HTTP server. Authenticates every request — HTTP
// Basic (RFC 7617) over TLS or from a loopback peer, or a bearer token (RFC 6750) that
// POST /jmap/login issues — with the users, AuthGuard and failure delays IMAP uses; sends
// EmailSubmissions through the SMTP submission path (MailHandler: local delivery or the
// outbound queue, as an authenticated client of the submission port would); streams
// StateChange events (RFC 8620 §7.3) from the store's change notifications. Routes:
//   GET  /.well-known/jmap           the Session resource (RFC 8620 §2)
//   POST /jmap/api                   method calls (§3)
//   POST /jmap/upload/{account}/     blob upload (§6.1)
//   GET  /jmap/download/{account}/{blob}/{name}?accept=   blob download (§6.2)
//   GET  /jmap/eventsource?types=&closeafter=&ping=       push (§7.3)
//   POST /jmap/login                 {"username","password"} -> {"accessToken"} (webmail)
// Tokens are HMAC-SHA256 of user and expiry under a key drawn at start: a restart logs
// everyone out, nothing is stored. EventSource and download links cannot send headers, so
// those two also take ?access_token=. Env only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/crypto.h"
#include "http/message.h"
#include "jmap/api.h"
#include "node/auth_guard.h"
#include "node/http/router.h"
#include "node/smtp_server.h"
#include "proto/sasl/credentials.h"
#include "runtime/env.h"
#include "store/mail_store.h"

namespace mail::node {

struct JmapServiceConfig {
  bool plaintext_on_loopback = true;  // Basic and /jmap/login without TLS from 127.0.0.0/8, ::1
  Duration token_lifetime = 24h;
  std::string hostname = "localhost";  // Message-ID domain of Emails created over JMAP
  std::uint32_t ping_min_seconds = 5;  // RFC 8620 §7.3: the server may raise a low ping
  // The address a user sends from (Identity/get, the submission's MAIL FROM).
  std::function<std::string(std::string_view user)> address_of;
};

struct JmapCounters {
  std::uint64_t requests = 0;       // API posts
  std::uint64_t auth_failures = 0;  // wrong or missing credentials, refused tokens
  std::uint64_t submissions = 0;    // EmailSubmissions accepted
  std::uint64_t event_streams = 0;  // EventSource connections opened
};

class JmapService {
 public:
  JmapService(rt::Env& env, store::MailStore& store, MailHandler& outbound, Crypto& crypto,
              const sasl::CredentialStore* credentials, AuthGuard& guard, JmapServiceConfig config);
  ~JmapService();
  JmapService(const JmapService&) = delete;
  JmapService& operator=(const JmapService&) = delete;

  // The mailbox a login opens (one user model).
  void set_mailbox_of_login(std::function<std::string(std::string_view)> fn) { mailbox_of_login_ = std::move(fn); }
  void add_routes(HttpRouter& router);
  const JmapCounters& counters() const noexcept { return counters_; }
  jmap::Api& api() noexcept { return *api_; }

  // A bearer token for `user`, valid until now + token_lifetime (tests, the webmail).
  std::string issue_token(std::string_view user);

 private:
  class Outbound;
  class EventStream;
  // The user of an authenticated request, or the 401 (or 403) response.
  struct Authenticated {
    std::optional<std::string> user;
    http::Response refusal;
  };
  rt::Task<Authenticated> authenticate(const http::Request& request, bool query_token);
  rt::Task<std::optional<std::string>> check_password(const std::string& login, const std::string& password,
                                                      const std::string& client, std::string_view mechanism);
  std::optional<std::string> check_token(std::string_view token);
  bool may_use_password(const http::Request& request) const;

  rt::Task<http::Response> session(http::Request request);
  rt::Task<http::Response> api_call(http::Request request);
  rt::Task<http::Response> upload(http::Request request);
  rt::Task<http::Response> download(http::Request request);
  rt::Task<http::Response> login(http::Request request);
  rt::Task<HttpAnswer> event_source(http::Request request);

  rt::Env& env_;
  store::MailStore& store_;
  Crypto& crypto_;
  const sasl::CredentialStore* credentials_;
  AuthGuard& guard_;
  JmapServiceConfig config_;
  std::function<std::string(std::string_view)> mailbox_of_login_;
  std::unique_ptr<Outbound> outbound_;
  std::unique_ptr<jmap::Api> api_;
  std::string token_key_;
  // Basic credentials verified lately (Dovecot's auth cache): HMAC of "login\0password"
  // under token_key_ -> (mailbox, expiry). A password change takes effect within
  // kPasswordCacheTtl; bounded to kPasswordCacheMax entries (oldest dropped first).
  struct CachedLogin {
    std::string mailbox;
    Instant expires{};
  };
  std::map<std::string, CachedLogin> password_cache_;
  JmapCounters counters_;
};

}  // namespace mail::node
