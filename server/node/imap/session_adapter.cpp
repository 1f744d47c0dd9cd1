// ImapSessionAdapter (see header). Must not: touch Asio, read the OS clock, or run two
// commands of one session at once.
#include "node/imap/session_adapter.h"

#include "core/assert.h"
#include "node/auth_guard.h"
#include "runtime/await.h"

namespace mail::node {

ImapSessionAdapter::ImapSessionAdapter(ImapServer& server, Connection& connection, imap::SessionConfig config,
                                       Instant now)
    : server_(server),
      connection_(connection),
      session_(std::move(config), now),
      ctx_{server.env_, server.store_, server.config_.commands, session_, {}, {}, {}, {}},
      auth_timer_(server.env_.clock().make_timer()) {
  ctx_.send_now = [this](std::string lines) { return send_now(std::move(lines)); };
}

ImapSessionAdapter::~ImapSessionAdapter() { release_user_ip(); }

void ImapSessionAdapter::release_user_ip() {
  if (!counted_) return;
  counted_ = false;
  auto it = server_.sessions_by_user_ip_.find(user_ip_);
  MAIL_ASSERT(it != server_.sessions_by_user_ip_.end() && it->second > 0);
  if (--it->second == 0) server_.sessions_by_user_ip_.erase(it);
}

bool ImapSessionAdapter::dispatch_events(Instant now) {
  bool any = false;
  while (auto event = session_.poll_event()) {
    any = true;
    if (auto* c = std::get_if<imap::ev::Command>(&*event)) {
      ++commands_;
      ++server_.counters_.commands;
      connection_.start_job(execute(c->id, std::move(c->command)));
    } else if (auto* a = std::get_if<imap::ev::Auth>(&*event)) {
      on_auth(*a, now);
    } else if (auto* i = std::get_if<imap::ev::Idle>(&*event)) {
      start_idle(i->id);
    } else if (auto* d = std::get_if<imap::ev::IdleDone>(&*event)) {
      subscription_.reset();
      if (push_running_) {
        idle_end_id_ = d->id;  // the push in flight finishes IDLE
        idle_end_done_ = d->done;
      } else {
        connection_.start_job(end_idle(d->id, d->done));
      }
    }
  }
  return any;
}

rt::Task<Connection::JobResult> ImapSessionAdapter::execute(std::uint64_t id, imap::Command command) {
  ctx_.tag = command.tag;
  MAIL_ASSERT(running_id_ == 0);  // the session hands out one command at a time
  running_id_ = id;
  imap::Response response = co_await imapsrv::run_command(ctx_, std::move(command));
  running_id_ = 0;
  co_return [this, id, response = std::move(response)](Instant now, bool open) mutable {
    if (open) session_.complete(id, std::move(response), now);
  };
}

rt::Task<bool> ImapSessionAdapter::send_now(std::string lines) {
  MAIL_ASSERT(running_id_ != 0);
  Connection::JobResult partial = [this, id = running_id_, lines = std::move(lines)](Instant, bool open) mutable {
    if (open) session_.send_progress(id, std::move(lines));
  };
  co_return co_await connection_.deliver(std::move(partial));
}

// ------------------------------------------------------------------------------ login
void ImapSessionAdapter::on_auth(const imap::ev::Auth& auth, Instant now) {
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

rt::Task<Connection::JobResult> ImapSessionAdapter::login(std::uint64_t id, std::string user) {
  // SECURITY.md §6 test 8: at most sessions_per_user_ip_max sessions of one user from one
  // IP (counted from here until the connection ends).
  const std::uint32_t cap = server_.config_.sessions_per_user_ip_max;
  std::pair<std::string, std::string> key{user, connection_.client()};
  std::uint32_t& sessions = server_.sessions_by_user_ip_[key];
  if (cap != 0 && sessions >= cap) {  // sessions >= 1 here: the entry existed before
    connection_.log(rt::LogLevel::warn, "login refused: " + std::to_string(cap) + " sessions of " + user +
                                            " from " + connection_.client() + " already");
    co_return [this, id](Instant now, bool open) {
      if (open) session_.complete_auth(id, false, now, "[LIMIT] Too many sessions of this user from your IP");
    };
  }
  ++sessions;
  user_ip_ = std::move(key);
  counted_ = true;
  // One user model: the login's mailbox exists from its first login on.
  Status made = co_await server_.store_.ensure_mailbox(user);
  if (!made.ok()) {
    connection_.log(rt::LogLevel::error, "cannot open the mailbox of " + user + ": " + made.error().detail);
    release_user_ip();
  }
  ctx_.user = user;
  co_return [this, id, ok = made.ok()](Instant now, bool open) {
    if (open) session_.complete_auth(id, ok, now);
  };
}

rt::Task<Connection::JobResult> ImapSessionAdapter::refuse_after(std::uint64_t id, Instant at) {
  (void)co_await rt::sleep_until(*auth_timer_, at);
  co_return [this, id](Instant now, bool open) {
    if (open) session_.complete_auth(id, false, now);
  };
}

// ------------------------------------------------------------------------------ IDLE
void ImapSessionAdapter::start_idle(std::uint64_t /*id*/) {
  subscription_ = server_.store_.subscribe(ctx_.user, [this](std::string_view folder, std::uint64_t /*modseq*/) {
    if (ctx_.view && folder == ctx_.view->folder()) on_store_change();
  });
  // Anything that changed before IDLE began is told at once (RFC 2177 §3).
  on_store_change();
}

void ImapSessionAdapter::on_store_change() {
  if (push_running_) {
    push_again_ = true;
    return;
  }
  if (!ctx_.view) return;
  push_running_ = true;
  connection_.start_job(push_changes());
}

rt::Task<Connection::JobResult> ImapSessionAdapter::push_changes() {
  std::string updates;
  do {
    push_again_ = false;
    updates += co_await imapsrv::resync(ctx_, true);
  } while (push_again_ && idle_end_id_ == 0);
  push_running_ = false;
  const std::uint64_t end_id = idle_end_id_;
  const bool done = idle_end_done_;
  idle_end_id_ = 0;
  co_return [this, updates = std::move(updates), end_id, done](Instant now, bool open) mutable {
    if (!open) return;
    if (end_id != 0) {
      imap::Response r;
      r.untagged = std::move(updates);
      r.status = done ? imap::Response::Status::ok : imap::Response::Status::bad;
      r.text = done ? "IDLE terminated" : "Expected DONE";
      session_.complete(end_id, std::move(r), now);
    } else {
      session_.send_untagged(std::move(updates));
    }
  };
}

rt::Task<Connection::JobResult> ImapSessionAdapter::end_idle(std::uint64_t id, bool done) {
  std::string updates = co_await imapsrv::resync(ctx_, true);
  co_return [this, id, done, updates = std::move(updates)](Instant now, bool open) mutable {
    if (!open) return;
    imap::Response r;
    r.untagged = std::move(updates);
    r.status = done ? imap::Response::Status::ok : imap::Response::Status::bad;
    r.text = done ? "IDLE terminated" : "Expected DONE";
    session_.complete(id, std::move(r), now);
  };
}

}  // namespace mail::node
