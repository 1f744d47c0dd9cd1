// Pop3SessionAdapter (see header). Must not: touch Asio, read the OS clock, delete mail
// outside QUIT's UPDATE, or leave the maildrop locked after the connection ends.
#include "node/pop3/session_adapter.h"

#include "core/assert.h"
#include "node/auth_guard.h"
#include "node/pop3/maildrop.h"
#include "runtime/await.h"

namespace mail::node {

Pop3SessionAdapter::Pop3SessionAdapter(Pop3Server& server, Connection& connection, pop3::SessionConfig config,
                                       Instant now)
    : server_(server),
      connection_(connection),
      session_(std::move(config), now),
      auth_timer_(server.env_.clock().make_timer()) {}

Pop3SessionAdapter::~Pop3SessionAdapter() { release_lock(); }

void Pop3SessionAdapter::release_lock() {
  if (!locked_) return;
  locked_ = false;
  server_.locked_maildrops_.erase(mailbox_);
}

bool Pop3SessionAdapter::dispatch_events(Instant now) {
  bool any = false;
  while (auto event = session_.poll_event()) {
    any = true;
    if (auto* a = std::get_if<pop3::ev::Auth>(&*event)) {
      on_auth(*a, now);
    } else if (auto* r = std::get_if<pop3::ev::Retrieve>(&*event)) {
      ++server_.counters_.commands;
      connection_.start_job(retrieve(r->id, r->uid));
    } else if (auto* u = std::get_if<pop3::ev::Update>(&*event)) {
      ++server_.counters_.commands;
      connection_.start_job(update(u->id, std::move(u->deleted_uids)));
    }
  }
  return any;
}

// ------------------------------------------------------------------------------ login
void Pop3SessionAdapter::on_auth(const pop3::ev::Auth& auth, Instant now) {
  LoginVerdict verdict = judge_login(server_.guard_, auth.mechanism, auth.authcid, auth.success, connection_.client(), now);
  connection_.log(verdict.level, verdict.log_line);
  if (verdict.accepted) {
    ++server_.counters_.auth_successes;
    connection_.start_job(login(auth.id, login_mailbox(server_.mailbox_of_login_, auth.authcid)));
    return;
  }
  // The same answer whatever the reason, after the guard's growing delay.
  ++server_.counters_.auth_failures;
  connection_.start_job(refuse_after(auth.id, now + verdict.delay));
}

rt::Task<Connection::JobResult> Pop3SessionAdapter::login(std::uint64_t id, std::string mailbox) {
  // RFC 1939 §8 / RFC 2449 §8.1.2: one POP3 session per maildrop; IMAP is not counted. A
  // client that reconnects at once may find its own previous connection not yet torn down
  // (its close still in flight): wait for the lock a little before answering [IN-USE].
  for (int tries = 0; server_.locked_maildrops_.contains(mailbox) && tries < kLockWaitTries; ++tries) {
    (void)co_await rt::sleep_until(*auth_timer_, server_.env_.clock().now() + kLockWaitStep);
  }
  if (server_.locked_maildrops_.contains(mailbox)) {
    connection_.log(rt::LogLevel::info, "maildrop of " + mailbox + " is in use");
    co_return [this, id](Instant now, bool open) {
      if (open) session_.complete_auth(id, false, {}, now, "[IN-USE] Maildrop is locked by another POP3 session");
    };
  }
  server_.locked_maildrops_.insert(mailbox);
  mailbox_ = mailbox;
  locked_ = true;
  auto opened = co_await pop3srv::open_maildrop(server_.store_, mailbox);
  if (!opened.ok()) {
    connection_.log(rt::LogLevel::error, "cannot open the maildrop of " + mailbox + ": " + opened.error().detail);
    release_lock();
    co_return [this, id](Instant now, bool open) {
      if (open) session_.complete_auth(id, false, {}, now, "[SYS/TEMP] Cannot open the maildrop now");
    };
  }
  co_return [this, id, drop = std::move(*opened)](Instant now, bool open) mutable {
    if (open) session_.complete_auth(id, true, std::move(drop), now);
  };
}

rt::Task<Connection::JobResult> Pop3SessionAdapter::refuse_after(std::uint64_t id, Instant at) {
  (void)co_await rt::sleep_until(*auth_timer_, at);
  co_return [this, id](Instant now, bool open) {
    if (open) session_.complete_auth(id, false, {}, now);
  };
}

// ------------------------------------------------------------------------------ RETR / TOP
rt::Task<Connection::JobResult> Pop3SessionAdapter::retrieve(std::uint64_t id, std::uint32_t uid) {
  // The message is read in pieces of kStreamChunkBytes (MailStore::read_range) and each
  // piece is written before the one after the next is read: a 30 MB RETR holds two pieces,
  // never the message. A read that fails after the first piece cannot be repaired: the
  // session closes the connection (complete_retrieve).
  const std::string inbox(pop3srv::kMaildropFolder);
  auto piece = co_await server_.store_.read_range(mailbox_, inbox, uid, 0, kStreamChunkBytes);
  if (!piece.ok()) {
    connection_.log(rt::LogLevel::warn, "RETR uid " + std::to_string(uid) + ": " + piece.error().detail);
    co_return [this, id](Instant now, bool open) {
      if (open) session_.complete_retrieve(id, false, now);
    };
  }
  ++retrieved_;
  ++server_.counters_.messages_retrieved;
  std::string chunk = std::move(*piece);
  std::uint64_t at = chunk.size();
  bool read_ok = true;
  want_more_ = true;
  while (chunk.size() == kStreamChunkBytes) {
    auto next = co_await server_.store_.read_range(mailbox_, inbox, uid, at, kStreamChunkBytes);
    Connection::JobResult partial = [this, id, chunk = std::move(chunk)](Instant, bool open) {
      want_more_ = open && session_.send_message(id, chunk);
    };
    const bool open = co_await connection_.deliver(std::move(partial));
    if (!open) co_return [](Instant, bool) {};
    if (!next.ok()) {
      connection_.log(rt::LogLevel::warn, "RETR uid " + std::to_string(uid) + " at " + std::to_string(at) + ": " +
                                              next.error().detail);
      read_ok = false;
      chunk.clear();
      break;
    }
    chunk = std::move(*next);
    at += chunk.size();
    if (!want_more_) break;  // TOP has its lines
  }
  if (!want_more_) chunk.clear();
  co_return [this, id, read_ok, rest = std::move(chunk)](Instant now, bool open) {
    if (!open) return;
    if (!rest.empty()) (void)session_.send_message(id, rest);
    session_.complete_retrieve(id, read_ok, now);
  };
}

// ------------------------------------------------------------------------------ QUIT
rt::Task<Connection::JobResult> Pop3SessionAdapter::update(std::uint64_t id, std::vector<std::uint32_t> uids) {
  const std::size_t marked = uids.size();
  auto removed = co_await pop3srv::remove_marked(server_.store_, mailbox_, std::move(uids));
  const bool ok = removed.ok();
  if (ok) {
    deleted_ += *removed;
    server_.counters_.messages_deleted += *removed;
  } else {
    connection_.log(rt::LogLevel::error, "QUIT: cannot delete " + std::to_string(marked) + " messages of " + mailbox_ +
                                             ": " + removed.error().detail);
  }
  co_return [this, id, ok](Instant now, bool open) {
    if (open) session_.complete_update(id, ok, now);
  };
}

}  // namespace mail::node
