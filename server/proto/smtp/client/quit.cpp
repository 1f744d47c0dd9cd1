// ClientSession: the ends of a session — failing every pending transaction, aborting on
// a 421 (RFC 5321 §3.8), a protocol error, EOF or a timeout (§4.5.3.2), the orderly QUIT
// (§4.1.1.10) and its 221. Every submitted transaction still gets exactly one result. No I/O.
#include "core/assert.h"
#include "proto/smtp/client_session_impl.h"

namespace mail::smtp {

void ClientSession::Impl::fail_all(const Reply& why, bool local) {
  if (active) finish_active(why, false, local);
  while (!queue.empty()) {
    emit_failure(queue.front().id, queue.front().tx, why, local);
    queue.pop_front();
  }
  MAIL_ASSERT(!active);
}

// Fatal: every pending transaction fails with `why`, the connection closes now.
void ClientSession::Impl::abort(const Reply& why, bool local, std::string reason) {
  MAIL_ASSERT(st != ClientState::closed);
  fail_all(why, local);
  inflight.clear();
  deadline.reset();
  parser.reset();
  out.emplace_back(out::Close{});
  events.emplace_back(ev::Closed{std::move(reason)});
  enter(ClientState::closed);
}

void ClientSession::Impl::protocol_error(std::string_view what) {
  abort(local_reply(451, 5, 0, "protocol error from server: " + std::string(what)), true,
        "protocol error: " + std::string(what));
}

// Orderly give-up: pending transactions fail with `why`, then QUIT / 221 / close.
void ClientSession::Impl::quit_after_failure(const Reply& why, bool local, Instant now) {
  fail_all(why, local);
  inflight.clear();
  send_cmd("QUIT", Cmd::quit, 0, now);
  enter(ClientState::quit);
}

void ClientSession::Impl::on_quit() {
  MAIL_ASSERT(st == ClientState::quit);
  MAIL_ASSERT(!active);
  deadline.reset();
  out.emplace_back(out::Close{});
  events.emplace_back(ev::Closed{"quit"});
  enter(ClientState::closed);
}

void ClientSession::feed_eof(Instant /*now*/) {
  Impl& s = *impl_;
  if (s.st == ClientState::closed) return;
  if (s.st == ClientState::quit) {
    // The server closed without (or before we read) its 221: nothing was pending.
    MAIL_ASSERT(!s.active);
    s.inflight.clear();
    s.deadline.reset();
    s.out.emplace_back(out::Close{});
    s.events.emplace_back(ev::Closed{"quit (server closed)"});
    return s.enter(ClientState::closed);
  }
  const std::string where(to_string(s.st));
  s.abort(local_reply(451, 4, 2, "connection closed by server (state " + where + ")"), true,
          "connection closed by server in " + where);
}

void ClientSession::handle_timeout(Instant now) {
  Impl& s = *impl_;
  if (s.st == ClientState::closed || !s.deadline || now < *s.deadline) return;
  const std::string what = s.st == ClientState::tls_handshake ? std::string("TLS handshake")
                           : s.inflight.empty()               ? std::string(to_string(s.st))
                                                              : std::string(to_string(s.inflight.front().cmd)) + " reply";
  // RFC 5321 §4.5.3.2: give up on the connection; the transactions are retried later.
  s.abort(local_reply(451, 4, 2, "timeout waiting for " + what), true, "timeout waiting for " + what);
}

}  // namespace mail::smtp
