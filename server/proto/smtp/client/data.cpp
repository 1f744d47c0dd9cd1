// ClientSession: the content — DATA, the stuffed content and "." (RFC 5321 §4.1.1.4,
// §4.5.2; RFC 2920 §3.1: a lone "." when DATA got 354 without a recipient), and BDAT
// chunks (RFC 3030 §2, §4.2: no more chunks after a failed one). No I/O; never a bare CR
// or LF on the wire, never a chunk boundary between CR and LF.
#include "core/assert.h"
#include "proto/smtp/client_session_impl.h"

namespace mail::smtp {

namespace {

// Length of the BDAT chunk starting at `from`: at most `chunk_bytes`, ending after the
// last LF in that window when there is one, and never between a CR and its LF. Receivers
// that check each chunk for bare CR/LF (Postfix smtpd_forbid_bare_newline = reject) then
// never see half a line ending.
std::size_t chunk_length(std::string_view wire, std::size_t from, std::size_t chunk_bytes) {
  MAIL_ASSERT(from <= wire.size());
  MAIL_ASSERT(chunk_bytes > 0);
  const std::size_t left = wire.size() - from;
  if (left <= chunk_bytes) return left;
  const std::string_view window = wire.substr(from, chunk_bytes);
  const std::size_t lf = window.rfind('\n');
  if (lf != std::string_view::npos) return lf + 1;
  if (window.back() == '\r' && wire[from + chunk_bytes] == '\n') return chunk_bytes + 1;
  return chunk_bytes;
}

}  // namespace

// BDAT chunks (RFC 3030 §2): "BDAT <n>[ LAST]" CRLF then exactly n octets. Pipelined:
// every chunk at once; otherwise one, and the next after its 250.
void ClientSession::Impl::send_chunks(Instant now) {
  MAIL_ASSERT(active.has_value());
  Active& a = *active;
  do {
    const std::size_t left = a.wire.size() - a.wire_sent;
    const std::size_t n = chunk_length(a.wire, a.wire_sent, cfg.chunk_bytes);
    MAIL_ASSERT(n <= left);
    const bool last = n == left;
    std::string cmd = "BDAT " + std::to_string(n) + (last ? " LAST" : "");
    send_cmd(std::move(cmd), last ? Cmd::bdat_last : Cmd::bdat, a.chunks, now);
    send_bytes(std::string_view(a.wire).substr(a.wire_sent, n));
    a.wire_sent += n;
    ++a.chunks;
    if (last) break;
  } while (a.pipelined);
  MAIL_ASSERT(a.wire_sent <= a.wire.size());
}

void ClientSession::Impl::on_data(const Reply& r, Instant now) {
  MAIL_ASSERT(st == ClientState::data);
  MAIL_ASSERT(active.has_value());
  Active& a = *active;
  // RFC 5321 §4.3.2: an unrecognized code is interpreted by its first digit, so any 3yz
  // (not only 354) is the go-ahead for the content.
  if (r.code / 100 == 3) {
    if (a.mail_ok && a.accepted > 0) {
      send_bytes(a.wire);
      std::string().swap(a.wire);  // the output queue holds the only copy now
    } else {
      // RFC 2920 §3.1: DATA accepted although no recipient was: end it with a lone ".".
      a.failure = no_recipient_reply();
      send_bytes(".\r\n");
    }
    expect(Cmd::dot, 0, now);
    return enter(ClientState::data_end);
  }
  const bool mail_ok = a.mail_ok;
  const Reply why = (a.mail_ok && a.accepted > 0) ? r : no_recipient_reply();
  finish_active(why, false, false);
  after_failure(mail_ok, now);
}

void ClientSession::Impl::on_final(const Reply& r, Instant now) {
  MAIL_ASSERT(st == ClientState::data_end);
  MAIL_ASSERT(active.has_value());
  // RFC 5321 §4.1.1.4: after the reply to "." the server holds no transaction, so no RSET.
  if (active->failure) {
    const Reply why = *active->failure;
    finish_active(why, false, false);
  } else {
    finish_active(r, is_2xx(r), false);
  }
  enter(ClientState::ready);
  start_next(now);
}

void ClientSession::Impl::on_bdat(const Reply& r, Instant now) {
  MAIL_ASSERT(st == ClientState::bdat);
  MAIL_ASSERT(active.has_value());
  Active& a = *active;
  if (!is_2xx(r) && !a.failure) a.failure = r;
  if (a.pipelined) return;  // later chunk replies are already on their way
  if (a.failure) {
    // RFC 3030 §4.2: after a failed chunk send no more; RSET.
    const Reply why = *a.failure;
    finish_active(why, false, false);
    return after_failure(true, now);
  }
  send_chunks(now);
}

void ClientSession::Impl::on_bdat_last(const Reply& r, Instant now) {
  MAIL_ASSERT(st == ClientState::bdat);
  MAIL_ASSERT(active.has_value());
  Active& a = *active;
  if (!a.failure && is_2xx(r)) {
    finish_active(r, true, false);
    enter(ClientState::ready);
    return start_next(now);
  }
  const Reply why = a.failure ? *a.failure : r;
  finish_active(why, false, false);
  after_failure(true, now);
}

}  // namespace mail::smtp
