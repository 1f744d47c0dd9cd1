// Simulated SMTP clients (see workload.h).
#include "workload.h"

#include <array>
#include <utility>

#include "runtime/await.h"
#include "sim_tls.h"
#include "sim_env.h"

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
    const std::uint64_t txs = config.transactions_per_session.draw(rng);
    std::uint64_t total_bytes = 0;
    for (std::uint64_t t = 0; t < txs; ++t) {
      LedgerEntry& e = ledger.add();
      e.session = p.index;
      e.server = p.server.address;
      e.liveness = liveness;
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
      std::string headers = "From: <sender" + std::to_string(p.index) + "@clients.test>\r\n";
      headers += "To: ";
      for (std::size_t r = 0; r < e.recipients.size(); ++r) headers += (r ? ", <" : "<") + e.recipients[r] + ">";
      headers += "\r\nSubject: simulated message " + std::to_string(e.id) + "\r\n";
      headers += "Message-ID: <sim." + std::to_string(e.id) + "@clients.test>\r\n";
      headers += "X-Sim-Id: " + std::to_string(e.id) + "\r\n\r\n";
      e.content = headers + make_body(rng, config.message_bytes.draw(rng), config.dot_line_ppm);
      e.outcome = LedgerEntry::Outcome::not_sent;
      total_bytes += e.content.size() + 200;
      p.messages.push_back(e.id);
    }
    if (!liveness && rng.chance_ppm(config.abrupt_disconnect_ppm)) p.hang_up_after_bytes = rng.between(1, total_bytes);
    plans.push_back(std::move(p));
  }
  return plans;
}

rt::Task<void> run_session(rt::Env& env, SessionPlan plan, WorkloadConfig config, Ledger& ledger, SessionStats& stats) {
  ++stats.started;
  auto now = [&env] { return env.clock().now(); };
  const std::string tag = "session=" + std::to_string(plan.index);
  auto conn = co_await rt::connect(env.net(), plan.server, now() + config.connect_timeout);
  if (!conn) {
    ++stats.connect_failures;
    ++stats.finished;
    env.log().write(rt::LogLevel::info, tag + " connect failed: " + std::string(to_string(conn.code())));
    co_return;  // every message stays not_sent
  }
  std::unique_ptr<rt::Stream> stream = std::move(*conn);

  smtp::ClientConfig cc;
  cc.helo_name = std::string(env.hostname()) + ".clients.test";
  cc.use_pipelining = plan.pipelining;
  cc.use_chunking = plan.chunking;
  cc.use_starttls = plan.starttls;
  smtp::ClientSession session(cc, now());
  std::map<smtp::TxId, std::uint64_t> tx_to_message;
  for (std::uint64_t id : plan.messages) {
    LedgerEntry& e = ledger.at(id);
    smtp::MailTransaction tx;
    if (!e.mail_from_set) {
      tx.mail_from.mailbox = smtp::Mailbox{"sender" + std::to_string(plan.index), "clients.test"};
    } else if (!e.mail_from.empty()) {
      const auto at = e.mail_from.rfind('@');
      tx.mail_from.mailbox = smtp::Mailbox{e.mail_from.substr(0, at), e.mail_from.substr(at + 1)};
    }
    for (const auto& r : e.recipients) {
      const auto at = r.rfind('@');
      smtp::Recipient rc;
      rc.path.mailbox = smtp::Mailbox{r.substr(0, at), r.substr(at + 1)};
      tx.recipients.push_back(std::move(rc));
    }
    tx.content = e.content;
    e.outcome = LedgerEntry::Outcome::pending;
    tx_to_message.emplace(session.submit(std::move(tx), now()), id);
  }
  session.quit(now());

  std::vector<std::byte> buf(16 * 1024);
  std::uint64_t sent = 0;
  bool done = false;
  bool hung_up = false;
  while (!done) {
    // Drain outputs and events after every session call (ClientSession contract).
    while (!done) {
      auto out = session.poll_output();
      if (!out) break;
      if (auto* send = std::get_if<smtp::out::Send>(&*out)) {
        std::string_view bytes = send->bytes;
        if (plan.hang_up_after_bytes && sent + bytes.size() >= *plan.hang_up_after_bytes) {
          bytes = bytes.substr(0, *plan.hang_up_after_bytes - sent);
          hung_up = true;
        }
        if (!bytes.empty()) {
          auto span = std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
          auto w = co_await rt::write_all(*stream, span, now() + config.connect_timeout * 10);
          sent += bytes.size();
          if (!w) {
            session.feed_eof(now());
            continue;
          }
        }
        if (hung_up) {
          env.log().write(rt::LogLevel::info, tag + " hangs up after " + std::to_string(sent) + " bytes");
          stream->close();
          ++stats.hung_up;
          done = true;
        }
      } else if (std::holds_alternative<smtp::out::Close>(*out)) {
        stream->close();
        done = true;
      } else {
        // out::StartTls: the 220 arrived; upgrade the stream (sim_tls.h), then tell the session.
        MAIL_ASSERT(config.tls_client != nullptr);
        const bool up = co_await client_tls_handshake(env, stream, *config.tls_client, now() + config.connect_timeout);
        if (up) {
          ++stats.tls_sessions;
          session.tls_established(now());
        } else {
          session.feed_eof(now());
        }
      }
    }
    while (auto ev = session.poll_event()) {
      if (auto* tr = std::get_if<smtp::ev::TransactionResult>(&*ev)) {
        LedgerEntry& e = ledger.at(tx_to_message.at(tr->id));
        e.decided_at = now();
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
        env.log().write(rt::LogLevel::info, tag + " msg=" + std::to_string(e.id) + " " +
                                                std::string(to_string(e.outcome)) + " " + e.reply);
      } else if (std::holds_alternative<smtp::ev::Closed>(*ev)) {
        // Output (Close) follows; keep draining.
      }
    }
    stats.client_buffered_max = std::max<std::uint64_t>(stats.client_buffered_max, session.buffered_bytes());
    if (done) break;
    if (session.closed()) {
      stream->close();
      break;
    }
    const Instant deadline = session.poll_timeout().value_or(instant_max());
    auto r = co_await rt::read_some(*stream, buf, deadline);
    if (r) {
      const std::size_t taken =
          session.feed(std::string_view(reinterpret_cast<const char*>(buf.data()), *r), now());
      if (taken != *r) stats.problems.push_back(tag + ": ClientSession::feed took fewer bytes than offered");
    } else if (r.code() == Errc::timeout) {
      session.handle_timeout(now());
    } else {
      session.feed_eof(now());
    }
  }
  // Whatever had no result when the session ended may or may not have been stored.
  for (std::uint64_t id : plan.messages) {
    LedgerEntry& e = ledger.at(id);
    if (e.outcome == LedgerEntry::Outcome::pending) {
      e.outcome = LedgerEntry::Outcome::unknown;
      e.decided_at = now();
      e.reply = hung_up ? "hung up" : "no result";
    }
  }
  ++stats.finished;
}

void launch_sessions(World& world, Instant phase_start, std::vector<SessionPlan> plans, const WorkloadConfig& config,
                     Ledger& ledger, SessionStats& stats) {
  for (auto& p : plans) {
    const HostId client = p.client;
    world.schedule_at(phase_start + p.start, client,
                      [&world, client, plan = std::move(p), config, &ledger, &stats]() mutable {
                        SimEnv& env = world.env(client);
                        env.tasks().spawn(run_session(env, std::move(plan), config, ledger, stats));
                      });
  }
}

}  // namespace mail::sim
