// STARTTLS (RFC 3207 §4, §4.2): "220 Ready to start TLS", then out::StartTls; every byte
// received after the STARTTLS line and before the handshake is discarded (CVE-2011-0411
// command injection), and tls_established() forgets all earlier state. No I/O, no TLS.
#include "core/assert.h"
#include "proto/smtp/session_impl.h"

namespace mail::smtp {

std::optional<Reply> ServerSession::Impl::check_starttls(std::string_view arg) const {
  MAIL_ASSERT(state_ == State::greeting || state_ == State::ready);
  MAIL_ASSERT(!pending_);
  if (!config_.starttls_available) return Reply::make(502, {5, 5, 1}, "Error: command not implemented");
  if (tls_active_) return Reply::make(503, {5, 5, 1}, "Error: TLS already active");  // §4.2
  if (!arg.empty()) return Reply::make(501, {5, 5, 4}, "Syntax: STARTTLS");  // §4: no parameters
  return std::nullopt;
}

void ServerSession::Impl::proceed_starttls() {
  MAIL_ASSERT(!tls_active_);
  MAIL_ASSERT(config_.starttls_available);
  send(Reply::make(220, {2, 0, 0}, "Ready to start TLS"));
  // Built in place: moving a temporary Output would copy through every alternative,
  // Send's string included, which GCC 12 at -O2 reports as maybe uninitialized.
  outputs_.emplace_back(std::in_place_type<out::StartTls>);
  // Whatever the client pipelined after STARTTLS was sent in plaintext and could have been
  // inserted by a man in the middle: it must never run after the handshake.
  inbuf_.clear();
  inpos_ = 0;
  line_reader_.reset();
  enter(State::tls_handshake);
}

void ServerSession::Impl::on_starttls(const Command& c) {
  MAIL_ASSERT(c.spec->id == Verb::starttls);
  if (auto err = check_starttls(c.arg)) {
    send_error(*err);
    return;
  }
  proceed_starttls();
}

}  // namespace mail::smtp
