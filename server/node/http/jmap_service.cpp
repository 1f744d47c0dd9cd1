// JmapService (see header). Must not: answer a JMAP request without an authenticated
// user, accept a password in clear from a non-loopback peer, or keep an event stream
// alive past its connection.
#include "node/http/jmap_service.h"

#include <boost/json.hpp>

#include "core/ascii.h"
#include "core/assert.h"
#include "jmap/ids.h"
#include "jmap/submission.h"
#include "proto/sasl/base64.h"
#include "proto/smtp/address.h"
#include "runtime/await.h"

namespace mail::node {
namespace {

namespace json = boost::json;

http::Response from(const jmap::HttpResult& r) {
  http::Response out;
  out.status = r.status;
  out.body = r.body;
  out.headers.push_back(http::Header{"Content-Type", r.content_type});
  out.headers.push_back(http::Header{"Cache-Control", "no-cache, no-store"});
  return out;
}

http::Response unauthorized() {
  http::Response r;
  r.status = 401;
  r.body = R"({"type":"about:blank","status":401,"detail":"Authentication is required."})";
  r.headers.push_back(http::Header{"Content-Type", "application/problem+json"});
  r.headers.push_back(http::Header{"WWW-Authenticate", "Basic realm=\"cloudsdial\", charset=\"UTF-8\""});
  return r;
}

http::Response forbidden_plaintext() {
  http::Response r;
  r.status = 403;
  r.body = R"({"type":"about:blank","status":403,"detail":"Passwords are only accepted over TLS."})";
  r.headers.push_back(http::Header{"Content-Type", "application/problem+json"});
  return r;
}

std::string hex_of(const Sha256Digest& d) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (auto b : d) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

// "/jmap/download/{account}/{blob}/{name}" -> its three segments (percent-decoded).
std::optional<std::array<std::string, 3>> download_segments(std::string_view path) {
  constexpr std::string_view prefix = "/jmap/download/";
  if (!path.starts_with(prefix)) return std::nullopt;
  path.remove_prefix(prefix.size());
  std::array<std::string, 3> out;
  for (int i = 0; i < 3; ++i) {
    const auto slash = path.find('/');
    if (i < 2 && slash == std::string_view::npos) return std::nullopt;
    out[static_cast<std::size_t>(i)] = http::percent_decode(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------- Outbound
// EmailSubmission as an authenticated client of the submission port: MAIL FROM, RCPT TO
// and the message through the production MailHandler (RFC 6409 checks, local delivery,
// relay queue).
class JmapService::Outbound final : public jmap::Submitter {
 public:
  explicit Outbound(MailHandler& handler) : handler_(handler) {}
  rt::Task<jmap::SubmitOutcome> submit(std::string user, std::string mail_from, std::vector<std::string> rcpt_to,
                                       std::string content) override {
    jmap::SubmitOutcome out;
    SessionFacts facts;
    facts.listener = ListenerKind::submission;
    facts.client_address = "127.0.0.1";
    facts.auth_identity = user;
    facts.tls = true;
    smtp::SmtpLimits limits;
    auto from = smtp::parse_mailbox(mail_from, limits, true);
    if (!from) {
      out.reply = "553 5.1.7 The sender address is not valid";
      co_return out;
    }
    smtp::Envelope envelope;
    envelope.helo = "jmap";
    envelope.extended_hello = true;
    envelope.client_address = facts.client_address;
    envelope.tls = true;
    envelope.auth_identity = user;
    envelope.mail_from.mailbox = *from;
    const smtp::Reply from_reply = handler_.check_mail_from(envelope.mail_from, envelope.mail_params, facts);
    if (!from_reply.positive()) {
      out.reply = std::to_string(from_reply.code) + " " + (from_reply.lines.empty() ? "" : from_reply.lines.front());
      co_return out;
    }
    for (const auto& rcpt : rcpt_to) {
      auto to = smtp::parse_mailbox(rcpt, limits, true);
      smtp::Recipient r;
      if (to) r.path.mailbox = *to;
      const smtp::Reply reply = to ? handler_.check_recipient(r.path, facts)
                                   : smtp::Reply::make(553, {5, 1, 3}, "The recipient address is not valid");
      if (!reply.positive()) {
        out.refused.push_back(rcpt);
        out.reply += rcpt + ": " + std::to_string(reply.code) + " " + (reply.lines.empty() ? "" : reply.lines.front()) + "\n";
        continue;
      }
      envelope.recipients.push_back(std::move(r));
    }
    if (!out.refused.empty()) co_return out;  // all or nothing, as the client asked for all
    rt::Task<DeliveryResult> delivering = handler_.deliver(envelope, std::move(content));
    DeliveryResult result = co_await std::move(delivering);
    out.accepted = result.reply.positive();
    out.reply = std::to_string(result.reply.code) + " " + (result.reply.lines.empty() ? "" : result.reply.lines.front());
    co_return out;
  }

 private:
  MailHandler& handler_;
};

// ---------------------------------------------------------------------------- EventStream
// RFC 8620 §7.3: "state" events when the account's states change, "ping" events every
// `ping` seconds. Wakes on the store's change notifications; cancel() ends it.
class JmapService::EventStream final : public HttpBodyStream {
 public:
  EventStream(JmapService& service, std::string user, std::string types, bool close_after_state,
              std::uint32_t ping_seconds)
      : service_(service), user_(std::move(user)), types_(std::move(types)), close_after_state_(close_after_state),
        ping_(ping_seconds), timer_(service.env_.clock().make_timer()) {
    subscription_ = service_.store_.subscribe(user_, [this](std::string_view, std::uint64_t) {
      changed_ = true;
      timer_->cancel();
    });
  }
  ~EventStream() override { subscription_.reset(); }

  rt::Task<std::string> next() override {
    for (;;) {
      if (cancelled_ || done_) co_return std::string();
      if (first_ || changed_) {
        const bool first = first_;
        first_ = false;
        changed_ = false;
        std::string event = co_await state_event(first);
        if (!event.empty()) {
          if (close_after_state_ && !first) done_ = true;
          co_return event;
        }
        continue;
      }
      const Instant now = service_.env_.clock().now();
      if (ping_ > 0 && now >= next_ping_) {
        next_ping_ = now + std::chrono::seconds(ping_);
        co_return "event: ping\ndata: {\"interval\":" + std::to_string(ping_) + "}\n\n";
      }
      const Instant wake = ping_ > 0 ? next_ping_ : now + std::chrono::hours(24);
      (void)co_await rt::sleep_until(*timer_, wake);
    }
  }

  void cancel() override {
    cancelled_ = true;
    timer_->cancel();
  }

 private:
  // The StateChange (RFC 8620 §7.1) of the types asked for that changed since the last
  // one sent; "" when none did. The first event is sent whatever changed (a baseline).
  rt::Task<std::string> state_event(bool first) {
    auto states = co_await service_.api_->states(user_);
    if (!states) co_return std::string();
    json::object changed;
    auto put = [&](std::string_view type, const std::string& state, std::string& last) {
      if (types_ != "*" && ("," + types_ + ",").find("," + std::string(type) + ",") == std::string::npos) return;
      if (!first && state == last) return;
      last = state;
      changed[type] = state;
    };
    put("Email", states->email, last_.email);
    put("Mailbox", states->mailbox, last_.mailbox);
    put("Thread", states->thread, last_.thread);
    put("EmailSubmission", states->submission, last_.submission);
    if (changed.empty() && !first) co_return std::string();
    json::object event{{"@type", "StateChange"},
                       {"changed", json::object{{jmap::Api::account_id(user_), std::move(changed)}}}};
    co_return "event: state\ndata: " + json::serialize(event) + "\n\n";
  }

  JmapService& service_;
  std::string user_;
  std::string types_;
  bool close_after_state_;
  std::uint32_t ping_;
  std::unique_ptr<rt::Timer> timer_;
  std::unique_ptr<store::ChangeSubscription> subscription_;
  jmap::States last_;
  Instant next_ping_{};
  bool first_ = true;
  bool changed_ = false;
  bool cancelled_ = false;
  bool done_ = false;
};

// ---------------------------------------------------------------------------- service
JmapService::JmapService(rt::Env& env, store::MailStore& store, MailHandler& outbound, Crypto& crypto,
                         const sasl::CredentialStore* credentials, AuthGuard& guard, JmapServiceConfig config)
    : env_(env), store_(store), crypto_(crypto), credentials_(credentials), guard_(guard), config_(std::move(config)),
      outbound_(std::make_unique<Outbound>(outbound)) {
  jmap::ApiConfig api;
  api.hostname = config_.hostname;
  api.address_of = config_.address_of;
  api.now_unix = [this] { return env_.clock().wall_now().unix_us / 1'000'000; };
  api_ = std::make_unique<jmap::Api>(store_, outbound_.get(), std::move(api));
  std::array<std::uint8_t, 32> key{};
  crypto_.random_bytes(key);
  token_key_.assign(reinterpret_cast<const char*>(key.data()), key.size());
}

JmapService::~JmapService() = default;

void JmapService::add_routes(HttpRouter& router) {
  router.add("GET", "/.well-known/jmap", [this](http::Request r) { return session(std::move(r)); });
  router.add("POST", "/jmap/api", [this](http::Request r) { return api_call(std::move(r)); });
  router.add("POST", "/jmap/api/", [this](http::Request r) { return api_call(std::move(r)); });
  router.add_prefix("POST", "/jmap/upload/", [this](http::Request r) { return upload(std::move(r)); });
  router.add_prefix("GET", "/jmap/download/", [this](http::Request r) { return download(std::move(r)); });
  router.add("POST", "/jmap/login", [this](http::Request r) { return login(std::move(r)); });
  router.add_stream("GET", "/jmap/eventsource", [this](http::Request r) { return event_source(std::move(r)); });
}

bool JmapService::may_use_password(const http::Request& request) const {
  return request.secure || (config_.plaintext_on_loopback && is_loopback_address(request.peer));
}

std::string JmapService::issue_token(std::string_view user) {
  const std::int64_t expires =
      env_.clock().wall_now().unix_us / 1'000'000 + std::chrono::duration_cast<std::chrono::seconds>(config_.token_lifetime).count();
  const std::string payload = std::to_string(expires) + ":" + std::string(user);
  return jmap::base64url(payload) + "." + hex_of(crypto_.hmac_sha256(token_key_, payload));
}

std::optional<std::string> JmapService::check_token(std::string_view token) {
  const auto dot = token.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto payload = jmap::unbase64url(token.substr(0, dot));
  if (!payload) return std::nullopt;
  const std::string mac = hex_of(crypto_.hmac_sha256(token_key_, *payload));
  if (!crypto_.constant_time_equal(mac, token.substr(dot + 1))) return std::nullopt;
  const auto colon = payload->find(':');
  if (colon == std::string::npos) return std::nullopt;
  std::int64_t expires = 0;
  try {
    expires = std::stoll(payload->substr(0, colon));
  } catch (...) {
    return std::nullopt;
  }
  if (expires < env_.clock().wall_now().unix_us / 1'000'000) return std::nullopt;
  return payload->substr(colon + 1);
}

rt::Task<std::optional<std::string>> JmapService::check_password(const std::string& login, const std::string& password,
                                                                 const std::string& client, std::string_view mechanism) {
  constexpr Duration kPasswordCacheTtl = 60s;
  constexpr std::size_t kPasswordCacheMax = 4096;
  const Instant now = env_.clock().now();
  // Every JMAP request carries the password under Basic: a PBKDF2 per request would cost
  // more than the request. A recent success is remembered under a keyed hash.
  std::string cache_key = login;
  cache_key += '\0';
  cache_key += password;
  const Sha256Digest digest = crypto_.hmac_sha256(token_key_, cache_key);
  cache_key.assign(reinterpret_cast<const char*>(digest.data()), digest.size());
  if (auto hit = password_cache_.find(cache_key); hit != password_cache_.end()) {
    if (hit->second.expires > now && !guard_.ip_locked(client, now)) co_return hit->second.mailbox;
    password_cache_.erase(hit);
  }
  bool ok = false;
  if (credentials_ != nullptr && !guard_.user_locked(auth_budget_key(login), now)) {
    ok = sasl::verify_password(crypto_, *credentials_, login, password);
  }
  LoginVerdict verdict = judge_login(guard_, mechanism, login, ok, client, now);
  env_.log().write(verdict.level, "jmap: " + verdict.log_line);
  if (verdict.accepted) {
    std::string mailbox = login_mailbox(mailbox_of_login_, login);
    if (password_cache_.size() >= kPasswordCacheMax) {
      auto oldest = password_cache_.begin();
      for (auto it = password_cache_.begin(); it != password_cache_.end(); ++it) {
        if (it->second.expires < oldest->second.expires) oldest = it;
      }
      password_cache_.erase(oldest);
    }
    password_cache_[cache_key] = CachedLogin{mailbox, now + kPasswordCacheTtl};
    co_return mailbox;
  }
  ++counters_.auth_failures;
  auto timer = env_.clock().make_timer();
  (void)co_await rt::sleep_until(*timer, now + verdict.delay);
  co_return std::nullopt;
}

rt::Task<JmapService::Authenticated> JmapService::authenticate(const http::Request& request, bool query_token) {
  Authenticated out;
  out.refusal = unauthorized();
  std::optional<std::string> token;
  if (auto h = request.header("Authorization")) {
    std::string_view v = *h;
    if (v.size() > 7 && iequals(v.substr(0, 7), "Bearer ")) {
      token = std::string(v.substr(7));
    } else if (v.size() > 6 && iequals(v.substr(0, 6), "Basic ")) {
      if (!may_use_password(request)) {
        out.refusal = forbidden_plaintext();
        co_return out;
      }
      auto decoded = sasl::base64_decode(v.substr(6));
      const auto colon = decoded ? decoded->find(':') : std::string::npos;
      if (colon == std::string::npos) co_return out;
      const std::string login = decoded->substr(0, colon);
      const std::string password = decoded->substr(colon + 1);
      out.user = co_await check_password(login, password, request.peer, "BASIC");
      co_return out;
    }
  }
  if (!token && query_token) token = http::query_param(request.target, "access_token");
  if (token) {
    out.user = check_token(*token);
    if (!out.user) ++counters_.auth_failures;
  }
  co_return out;
}

rt::Task<http::Response> JmapService::session(http::Request request) {
  Authenticated auth = co_await authenticate(request, false);
  if (!auth.user) co_return auth.refusal;
  (void)co_await store_.ensure_mailbox(*auth.user);
  std::string base = request.secure ? "https://" : "http://";
  base += request.header("Host").value_or("localhost");
  jmap::HttpResult r = co_await api_->session(*auth.user, std::move(base));
  co_return from(r);
}

rt::Task<http::Response> JmapService::api_call(http::Request request) {
  Authenticated auth = co_await authenticate(request, false);
  if (!auth.user) co_return auth.refusal;
  ++counters_.requests;
  (void)co_await store_.ensure_mailbox(*auth.user);
  const std::uint64_t submissions_before = api_->submissions(*auth.user).size();
  jmap::HttpResult r = co_await api_->call(*auth.user, std::move(request.body));
  counters_.submissions += api_->submissions(*auth.user).size() - submissions_before;
  co_return from(r);
}

rt::Task<http::Response> JmapService::upload(http::Request request) {
  Authenticated auth = co_await authenticate(request, false);
  if (!auth.user) co_return auth.refusal;
  std::string_view rest = request.path().substr(std::string_view("/jmap/upload/").size());
  const std::string account = http::percent_decode(rest.substr(0, rest.find('/')));
  std::string type(request.header("Content-Type").value_or("application/octet-stream"));
  jmap::HttpResult r = co_await api_->upload(*auth.user, account, std::move(type), std::move(request.body));
  co_return from(r);
}

rt::Task<http::Response> JmapService::download(http::Request request) {
  Authenticated auth = co_await authenticate(request, true);
  if (!auth.user) co_return auth.refusal;
  auto segments = download_segments(request.path());
  if (!segments) co_return http::text_response(404, "Not found\n");
  std::string accept = http::query_param(request.target, "accept").value_or("");
  jmap::HttpResult r = co_await api_->download(*auth.user, (*segments)[0], (*segments)[1], (*segments)[2], accept);
  http::Response out = from(r);
  if (r.status == 200) {
    // Never rendered as a page of ours (SECURITY: an HTML attachment must not run here).
    std::string name;
    for (char c : r.file_name) name += (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) ? '_' : c;
    out.headers.push_back(http::Header{"Content-Disposition", "attachment; filename=\"" + name + "\""});
    out.headers.push_back(http::Header{"X-Content-Type-Options", "nosniff"});
    out.headers.push_back(http::Header{"Content-Security-Policy", "default-src 'none'; sandbox"});
  }
  co_return out;
}

rt::Task<http::Response> JmapService::login(http::Request request) {
  if (!may_use_password(request)) co_return forbidden_plaintext();
  boost::system::error_code ec;
  json::value v = json::parse(request.body, ec);
  const auto* o = ec ? nullptr : v.if_object();
  const auto* user = o ? o->if_contains("username") : nullptr;
  const auto* password = o ? o->if_contains("password") : nullptr;
  if (user == nullptr || !user->is_string() || password == nullptr || !password->is_string()) {
    co_return http::text_response(400, "Expected {\"username\": ..., \"password\": ...}\n");
  }
  auto mailbox = co_await check_password(std::string(user->get_string()), std::string(password->get_string()),
                                         request.peer, "LOGIN");
  if (!mailbox) co_return unauthorized();
  (void)co_await store_.ensure_mailbox(*mailbox);
  http::Response r;
  r.body = json::serialize(json::object{{"accessToken", issue_token(*mailbox)},
                                        {"tokenType", "Bearer"},
                                        {"username", *mailbox},
                                        {"expiresIn", std::chrono::duration_cast<std::chrono::seconds>(config_.token_lifetime).count()}});
  r.headers.push_back(http::Header{"Content-Type", "application/json"});
  r.headers.push_back(http::Header{"Cache-Control", "no-store"});
  co_return r;
}

rt::Task<HttpAnswer> JmapService::event_source(http::Request request) {
  HttpAnswer answer;
  Authenticated auth = co_await authenticate(request, true);
  if (!auth.user) {
    answer.response = auth.refusal;
    co_return answer;
  }
  const std::string types = http::query_param(request.target, "types").value_or("*");
  const bool close_after_state = http::query_param(request.target, "closeafter").value_or("no") == "state";
  std::uint32_t ping = 0;
  try {
    ping = static_cast<std::uint32_t>(std::stoul(http::query_param(request.target, "ping").value_or("0")));
  } catch (...) {
    ping = 0;
  }
  if (ping > 0) ping = std::clamp<std::uint32_t>(ping, config_.ping_min_seconds, 3600);
  ++counters_.event_streams;
  answer.response.streamed = true;
  answer.response.headers.push_back(http::Header{"Content-Type", "text/event-stream"});
  answer.response.headers.push_back(http::Header{"Cache-Control", "no-cache"});
  answer.stream = std::make_unique<EventStream>(*this, *auth.user, types, close_after_state, ping);
  co_return answer;
}

}  // namespace mail::node
