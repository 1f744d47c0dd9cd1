// Simulated SMTP clients (see workload.h).
#include "workload.h"

#include <array>
#include <utility>

#include "node/smtp_client_connection.h"
#include "runtime/await.h"
#include "sim_env.h"
#include "sim_tls.h"
#include "spawn_sessions.h"
#include "tls/sasl_crypto.h"

namespace mail::sim {

std::string_view to_string(LedgerEntry::Outcome o) noexcept {
  switch (o) {
    case LedgerEntry::Outcome::not_sent: return "not_sent";
    case LedgerEntry::Outcome::pending: return "pending";
    case LedgerEntry::Outcome::acked: return "acked";
    case LedgerEntry::Outcome::refused: return "refused";
    case LedgerEntry::Outcome::unknown: return "unknown";
  }
  return "?";
}

std::string_view to_string(SubmitAuth a) noexcept {
  switch (a) {
    case SubmitAuth::none: return "none";
    case SubmitAuth::good: return "good";
    case SubmitAuth::bad_password: return "bad-password";
    case SubmitAuth::no_auth: return "no-auth";
  }
  return "?";
}

LedgerEntry& Ledger::add() {
  entries_.emplace_back();
  entries_.back().id = entries_.size();
  return entries_.back();
}

namespace {

// Octet b of a draw becomes the printable character 32 + b % 95 (a table: no division).
constexpr std::array<char, 256> kPrintable = [] {
  std::array<char, 256> t{};
  for (std::size_t b = 0; b < t.size(); ++b) t[b] = static_cast<char>(32 + b % 95);
  return t;
}();

std::string make_body(Prng& rng, std::uint64_t bytes, std::uint32_t dot_line_ppm) {
  std::string body;
  body.reserve(bytes + 1000);
  while (body.size() < bytes) {
    // Mostly short lines, sometimes long ones close to the RFC 5321 §4.5.3.1.6 limit.
    const std::uint64_t len = rng.chance_ppm(50'000) ? rng.between(200, 990) : rng.between(0, 100);
    const std::size_t start = body.size();
    body.resize(start + len);
    char* out = body.data() + start;
    std::size_t i = 0;
    if (len > 0 && dot_line_ppm != 0 && rng.chance_ppm(dot_line_ppm)) out[i++] = '.';
    // Printable ASCII, 8 characters per draw (the last draw of a line may use fewer).
    for (; i + 8 <= len; i += 8) {
      const std::uint64_t r = rng.next_u64();
      for (int k = 0; k < 8; ++k) out[i + static_cast<std::size_t>(k)] = kPrintable[(r >> (8 * k)) & 0xff];
    }
    if (i < len) {
      std::uint64_t r = rng.next_u64();
      for (; i < len; ++i, r >>= 8) out[i] = kPrintable[r & 0xff];
    }
    body += "\r\n";
  }
  return body;
}

std::string one_line(const smtp::Reply& r) {
  std::string out = std::to_string(r.code);
  if (!r.lines.empty()) out += " " + r.lines.front();
  return out;
}

}  // namespace

void shape_message(Prng& rng, const WorkloadConfig& config, LedgerEntry& e) {
  if (config.eight_bit_ppm == 0 || !rng.chance_ppm(config.eight_bit_ppm)) return;
  e.eight_bit = true;
  // UTF-8 text at the top of the body: "Grüße, café ✉".
  const std::size_t body = e.content.find("\r\n\r\n");
  const std::size_t at = body == std::string::npos ? e.content.size() : body + 4;
  e.content.insert(at, "Gr\xC3\xBC\xC3\x9F" "e, caf\xC3\xA9 \xE2\x9C\x89\r\n");
  if (config.smtputf8_ppm == 0 || !rng.chance_ppm(config.smtputf8_ppm)) return;
  e.smtputf8 = true;
  e.content.insert(0, "Comments: \xE2\x9C\x89 Gr\xC3\xBC\xC3\x9F" "e\r\n");
}

std::string sim_message_body(Prng& rng, std::uint64_t bytes, std::uint32_t dot_line_ppm) {
  return make_body(rng, bytes, dot_line_ppm);
}

std::string sim_message_headers(std::string_view from, const std::vector<std::string>& recipients, std::uint64_t id) {
  std::string headers = "From: <";
  headers += from;
  headers += ">\r\nTo: ";
  for (std::size_t r = 0; r < recipients.size(); ++r) headers += (r ? ", <" : "<") + recipients[r] + ">";
  headers += "\r\nSubject: simulated message " + std::to_string(id) + "\r\n";
  headers += "Message-ID: <sim." + std::to_string(id) + "@clients.test>\r\n";
  headers += "X-Sim-Id: " + std::to_string(id) + "\r\n\r\n";
  return headers;
}

namespace {

// A submission session: port 587, STARTTLS required, and how it authenticates.
void plan_submission(Prng& rng, const WorkloadConfig& config, bool liveness, SessionPlan& p) {
  MAIL_ASSERT(config.submission_port != 0);
  MAIL_ASSERT(!config.submission_users.empty());
  MAIL_ASSERT(config.tls_client != nullptr);  // AUTH PLAIN goes only inside TLS
  p.server.port = config.submission_port;
  p.starttls = true;
  p.submit = SubmitAuth::good;
  // Liveness messages must all be acked: those sessions always log in properly.
  if (!liveness && rng.chance_ppm(config.bad_password_ppm)) {
    p.submit = SubmitAuth::bad_password;
  } else if (!liveness && rng.chance_ppm(config.no_auth_ppm)) {
    p.submit = SubmitAuth::no_auth;
  }
  if (p.submit == SubmitAuth::no_auth) return;
  const SubmissionUser& u = config.submission_users[rng.below(config.submission_users.size())];
  smtp::ClientAuth auth;
  auth.user = u.name;
  auth.password = p.submit == SubmitAuth::good ? u.password : u.password + "-wrong";
  auth.mechanisms = {sasl::Mechanism::plain};
  if (config.scram_ppm > 0 && rng.chance_ppm(config.scram_ppm)) auth.mechanisms = {sasl::Mechanism::scram_sha_256};
  p.auth = std::move(auth);
}

}  // namespace

std::vector<SessionPlan> plan_sessions(Prng& rng, const WorkloadConfig& config, std::uint32_t count,
                                       std::uint32_t first_index, const std::vector<HostId>& clients,
                                       const std::vector<rt::Endpoint>& servers, const std::vector<std::string>& domains,
                                       const std::vector<std::string>& users, bool liveness, Ledger& ledger) {
  MAIL_ASSERT(!clients.empty());
  MAIL_ASSERT(!servers.empty());
  MAIL_ASSERT(!domains.empty());
  MAIL_ASSERT(!users.empty());
  std::vector<SessionPlan> plans;
  for (std::uint32_t i = 0; i < count; ++i) {
    SessionPlan p;
    p.index = first_index + i;
    p.liveness = liveness;
    p.client = clients[rng.below(clients.size())];
    p.server = servers[rng.below(servers.size())];
    p.start = liveness ? Duration(static_cast<std::int64_t>(rng.below(1'000'000))) : config.session_start.draw(rng);
    p.pipelining = rng.chance_ppm(config.pipelining_ppm);
    p.chunking = rng.chance_ppm(config.chunking_ppm);
    // Drawn only in TLS scenarios, so the draws (and hashes) of the others do not move.
    if (config.tls_client) p.starttls = rng.chance_ppm(config.starttls_ppm);
    // Drawn only in submission scenarios, for the same reason.
    if (config.submission_ppm > 0 && rng.chance_ppm(config.submission_ppm)) plan_submission(rng, config, liveness, p);
    const std::uint64_t txs = config.transactions_per_session.draw(rng);
    std::uint64_t total_bytes = 0;
    for (std::uint64_t t = 0; t < txs; ++t) {
      LedgerEntry& e = ledger.add();
      e.session = p.index;
      e.server = p.server.address;
      e.liveness = liveness;
      e.submit = p.submit;
      const std::uint64_t rcpts = std::max<std::uint64_t>(1, config.recipients.draw(rng));
      for (std::uint64_t r = 0; r < rcpts; ++r) {
        std::string local;
        if (!liveness && rng.chance_ppm(config.unknown_recipient_ppm)) {
          local = "nobody" + std::to_string(rng.below(5));
        } else {
          local = users[rng.below(users.size())];
          if (rng.chance_ppm(100'000)) local += "+tag" + std::to_string(rng.below(3));
        }
        e.recipients.push_back(local + "@" + domains[rng.below(domains.size())]);
      }
      // Liveness messages name only local users, so each one must be acked.
      const std::string headers =
          sim_message_headers("sender" + std::to_string(p.index) + "@clients.test", e.recipients, e.id);
      e.content = headers + make_body(rng, config.message_bytes.draw(rng), config.dot_line_ppm);
      shape_message(rng, config, e);
      e.outcome = LedgerEntry::Outcome::not_sent;
      total_bytes += e.content.size() + 200;
      p.messages.push_back(e.id);
    }
    if (!liveness && rng.chance_ppm(config.abrupt_disconnect_ppm)) p.hang_up_after_bytes = rng.between(1, total_bytes);
    plans.push_back(std::move(p));
  }
  return plans;
}

namespace {

// The simulator's side of one client connection, as hooks of the node service: ledger
// bookkeeping and its log lines, the abrupt hang-up fault, and the client statistics.
class SessionHooks final : public node::SmtpClientHooks {
 public:
  SessionHooks(rt::Env& env, const SessionPlan& plan, Ledger& ledger, SessionStats& stats, std::string tag)
      : env_(env), plan_(plan), ledger_(ledger), stats_(stats), tag_(std::move(tag)) {}

  std::map<smtp::TxId, std::uint64_t> tx_to_message;

  void on_event(node::SmtpClientConnection& conn, smtp::ClientEvent event) override {
    if (const auto* a = std::get_if<smtp::ev::Authenticated>(&event)) {
      // Every message of the session goes through this connection: all are authenticated.
      ++stats_.authenticated_sessions;
      for (std::uint64_t id : plan_.messages) ledger_.at(id).authenticated = true;
      env_.log().write(rt::LogLevel::info, tag_ + " authenticated " + std::string(sasl::to_string(a->mechanism)) +
                                               " as " + a->user);
      return;
    }
    auto* tr = std::get_if<smtp::ev::TransactionResult>(&event);
    if (tr == nullptr) return;  // SessionReady, Closed: nothing for the ledger
    LedgerEntry& e = ledger_.at(tx_to_message.at(tr->id));
    MAIL_ASSERT(e.outcome == LedgerEntry::Outcome::pending);
    e.decided_at = env_.clock().now();
    if (conn.hung_up()) {
      // Failed by our own hang-up: the server may or may not have stored it.
      e.outcome = LedgerEntry::Outcome::unknown;
      e.reply = "hung up";
      return;
    }
    e.reply = one_line(tr->reply);
    e.rcpt_accepted.clear();
    for (const auto& r : tr->recipients) e.rcpt_accepted.push_back(r.accepted);
    if (tr->accepted) {
      e.outcome = LedgerEntry::Outcome::acked;
    } else if (tr->local) {
      e.outcome = LedgerEntry::Outcome::unknown;
    } else {
      e.outcome = LedgerEntry::Outcome::refused;
    }
    env_.log().write(rt::LogLevel::info,
                     tag_ + " msg=" + std::to_string(e.id) + " " + std::string(to_string(e.outcome)) + " " + e.reply);
  }

  void on_tls(node::SmtpClientConnection&, const Result<tls::ev::HandshakeDone>& result) override {
    if (result) ++stats_.tls_sessions;
  }

  // The abrupt disconnect: the bytes up to the planned count go out, then the stream closes.
  node::WritePlan before_write(const node::SmtpClientConnection& conn, std::string_view bytes) override {
    if (!plan_.hang_up_after_bytes || conn.bytes_sent() + bytes.size() < *plan_.hang_up_after_bytes)
      return node::WritePlan{bytes.size(), false};
    MAIL_ASSERT(conn.bytes_sent() <= *plan_.hang_up_after_bytes);
    return node::WritePlan{static_cast<std::size_t>(*plan_.hang_up_after_bytes - conn.bytes_sent()), true};
  }

  void on_hang_up(const node::SmtpClientConnection& conn) override {
    env_.log().write(rt::LogLevel::info, tag_ + " hangs up after " + std::to_string(conn.bytes_sent()) + " bytes");
    ++stats_.hung_up;
  }

  void on_feed(const node::SmtpClientConnection&, std::size_t offered, std::size_t taken) override {
    if (taken != offered) stats_.problems.push_back(tag_ + ": ClientSession::feed took fewer bytes than offered");
  }

  void after_round(const node::SmtpClientConnection& conn) override {
    stats_.client_buffered_max = std::max<std::uint64_t>(stats_.client_buffered_max, conn.session().buffered_bytes());
  }

 private:
  rt::Env& env_;
  const SessionPlan& plan_;
  Ledger& ledger_;
  SessionStats& stats_;
  std::string tag_;
};

}  // namespace

rt::Task<void> run_session(rt::Env& env, SessionPlan plan, WorkloadConfig config, Ledger& ledger, SessionStats& stats) {
  ++stats.started;
  if (plan.submit != SubmitAuth::none) ++stats.submission_sessions;
  auto now = [&env] { return env.clock().now(); };
  const std::string tag = "session=" + std::to_string(plan.index);
  auto conn = co_await rt::connect(env.net(), plan.server, now() + config.connect_timeout);
  if (!conn) {
    ++stats.connect_failures;
    ++stats.finished;
    env.log().write(rt::LogLevel::info, tag + " connect failed: " + std::string(to_string(conn.code())));
    co_return;  // every message stays not_sent
  }

  node::SmtpClientOptions options;
  options.session.helo_name = std::string(env.hostname()) + ".clients.test";
  options.session.use_pipelining = plan.pipelining;
  options.session.use_chunking = plan.chunking;
  options.session.use_starttls = plan.starttls;
  // SCRAM's hashes and nonce. OpenSSL's randomness comes from the seed while a World runs.
  tls::OpenSslCrypto crypto;
  if (plan.submit != SubmitAuth::none) {
    // Submission: TLS first (the server offers AUTH PLAIN only inside it), then AUTH.
    options.session.require_tls = true;
    options.session.auth = plan.auth;
    if (options.session.auth) options.session.auth->crypto = &crypto;
  }
  options.write_timeout = config.connect_timeout * 10;
  options.tls_handshake_timeout = config.connect_timeout;
  options.tls_context = config.tls_client;
  options.tls_server_name = kSimTlsHostname;
  SessionHooks hooks(env, plan, ledger, stats, tag);
  node::SmtpClientConnection client(env, std::move(*conn), std::move(options), hooks);
  for (std::uint64_t id : plan.messages) {
    LedgerEntry& e = ledger.at(id);
    smtp::MailTransaction tx;
    if (!e.mail_from_set) {
      tx.mail_from.mailbox = smtp::Mailbox{"sender" + std::to_string(plan.index), "clients.test"};
    } else if (!e.mail_from.empty()) {
      const auto at = e.mail_from.rfind('@');
      tx.mail_from.mailbox = smtp::Mailbox{e.mail_from.substr(0, at), e.mail_from.substr(at + 1)};
    }
    for (std::size_t i = 0; i < e.recipients.size(); ++i) {
      const std::string& r = e.recipients[i];
      const auto at = r.rfind('@');
      smtp::Recipient rc;
      rc.path.mailbox = smtp::Mailbox{r.substr(0, at), r.substr(at + 1)};
      if (i < e.notify_success.size() && e.notify_success[i]) {
        rc.params.notify.success = true;
        rc.params.notify.failure = true;
      }
      tx.recipients.push_back(std::move(rc));
    }
    tx.content = e.content;
    if (e.eight_bit) tx.mail_params.body = smtp::BodyType::eight_bit_mime;
    tx.mail_params.smtputf8 = e.smtputf8;
    e.outcome = LedgerEntry::Outcome::pending;
    hooks.tx_to_message.emplace(client.submit(std::move(tx)), id);
  }
  client.quit();
  co_await client.run();
  // The node service gives every transaction its result; this only guards that promise.
  for (std::uint64_t id : plan.messages) {
    LedgerEntry& e = ledger.at(id);
    if (e.outcome == LedgerEntry::Outcome::pending) {
      e.outcome = LedgerEntry::Outcome::unknown;
      e.decided_at = now();
      e.reply = "no result";
    }
  }
  ++stats.finished;
}

void launch_sessions(World& world, Instant phase_start, std::vector<SessionPlan> plans, const WorkloadConfig& config,
                     Ledger& ledger, SessionStats& stats) {
  spawn_sessions(world, phase_start, std::move(plans), config, ledger, stats, &run_session);
}

}  // namespace mail::sim
