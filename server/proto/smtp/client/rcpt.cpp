// ClientSession: RCPT TO (RFC 5321 §4.1.1.3), one at a time or pipelined (RFC 2920), and
// what follows the last reply: DATA/BDAT when a recipient was accepted, else the
// transaction fails with the reply that explains why. No I/O.
#include "core/assert.h"
#include "proto/smtp/client_session_impl.h"

namespace mail::smtp {

void ClientSession::Impl::send_rcpt(std::size_t i, Instant now) {
  MAIL_ASSERT(active.has_value());
  MAIL_ASSERT(i < active->tx.recipients.size());
  send_cmd(format_rcpt_to(active->tx.recipients[i], caps), Cmd::rcpt, static_cast<std::uint32_t>(i), now);
}

// The reply that explains why no recipient could take the message.
const Reply& ClientSession::Impl::no_recipient_reply() const {
  MAIL_ASSERT(active.has_value());
  const Active& a = *active;
  MAIL_ASSERT(a.mail_reply.has_value());
  if (!a.mail_ok) return *a.mail_reply;
  for (std::size_t i = a.rcpt.size(); i-- > 0;)
    if (a.rcpt[i]) return *a.rcpt[i];
  return *a.mail_reply;
}

void ClientSession::Impl::after_rcpts(Instant now) {
  Active& a = *active;
  if (a.mail_ok && a.accepted > 0) {
    if (a.bdat) {
      send_chunks(now);
      enter(ClientState::bdat);
    } else {
      send_cmd("DATA", Cmd::data, 0, now);
      enter(ClientState::data);
    }
    return;
  }
  const bool mail_ok = a.mail_ok;
  finish_active(no_recipient_reply(), false, false);
  after_failure(mail_ok, now);
}

void ClientSession::Impl::on_rcpt(Reply r, std::uint32_t index, Instant now) {
  MAIL_ASSERT(st == ClientState::rcpt);
  MAIL_ASSERT(active.has_value());
  Active& a = *active;
  MAIL_ASSERT(index < a.rcpt.size());
  if (a.mail_ok) {
    if (is_2xx(r)) ++a.accepted;
    a.rcpt[index] = std::move(r);
  }
  const bool last = index + 1 == a.rcpt.size();
  if (!a.pipelined) {
    if (!last) return send_rcpt(index + 1, now);
    return after_rcpts(now);
  }
  if (!last) return;
  if (!a.bdat) return enter(ClientState::data);  // the DATA reply is next in the pipeline
  after_rcpts(now);
}

}  // namespace mail::smtp
