// DATA (RFC 5321 §4.1.1.4, §3.3, §4.5.2; RFC 2920 §3.1 synchronisation) and BDAT (RFC
// 3030 §2, §3), and the end of a message: content checks (§2.3.8 bare CR/LF, §4.5.3.1.6
// line length, RFC 1870 size, §6.3 hops) and the ev::Message handed to the application.
// Content bytes are read by the session's input loop (DataReader / chunk counting); this
// file only decides. No I/O.
#include "core/assert.h"
#include "proto/smtp/session_impl.h"

namespace mail::smtp {

namespace {
std::uint64_t size_limit(const SmtpLimits& limits, const MailParams& params) {
  // RFC 1870 §6.3: more than the declared SIZE may be refused; more than our maximum is.
  std::uint64_t limit = limits.message_bytes_max;
  if (params.size && *params.size < limit) limit = *params.size;
  return limit;
}
}  // namespace

std::optional<Reply> ServerSession::Impl::check_data_sync() const {
  MAIL_ASSERT(state_ != State::closed);
  MAIL_ASSERT(state_ != State::data);
  // RFC 2920 §3.1: DATA "can only appear as the last command in a group", and the client
  // must wait for 354 before sending content. The 354 goes out only once this round's
  // input is processed, so any input already here after the DATA line was sent without
  // it. Postfix's reply (smtpd_forbid_unauth_pipelining); the caller closes, because the
  // bytes can no longer be told apart as content or commands.
  if (config_.reject_pipelined_data && input_follows())
    return Reply::make(554, {5, 5, 0}, "Error: SMTP protocol synchronization");
  return std::nullopt;
}

std::optional<Reply> ServerSession::Impl::check_data(std::string_view arg) const {
  MAIL_ASSERT(state_ == State::rcpt);
  MAIL_ASSERT(!tx_.used_bdat);  // a BDAT moved us to State::bdat, where DATA is refused
  if (!arg.empty()) return Reply::make(501, {5, 5, 4}, "Syntax: DATA");
  // RFC 3030 §3: "BINARYMIME cannot be used with the DATA command ... 503".
  if (tx_.envelope.mail_params.body == BodyType::binary_mime)
    return Reply::make(503, {5, 5, 1}, "Error: BODY=BINARYMIME requires BDAT (RFC 3030 section 3)");
  return std::nullopt;
}

void ServerSession::Impl::proceed_data() {
  MAIL_ASSERT(state_ == State::rcpt);
  MAIL_ASSERT(!tx_.envelope.recipients.empty());
  tx_.content.emplace(config_.limits, size_limit(config_.limits, tx_.envelope.mail_params), true);
  tx_.data_reader = DataReader{};
  enter(State::data);
  // §4.5.2 / RFC 2034: 3xx replies carry no enhanced code; Postfix's wording.
  send(Reply::make(354, {}, "End data with <CR><LF>.<CR><LF>"));
}

std::optional<Reply> ServerSession::Impl::check_bdat(const BdatArgs& args) const {
  MAIL_ASSERT(state_ != State::closed);
  MAIL_ASSERT(!chunk_active_);
  (void)args;
  if (state_ == State::greeting) return sequence_error(Verb::bdat);
  // Not advertised (CHUNKING off, or a HELO session): refused, but the chunk is still
  // skipped so its bytes are never read as commands (RFC 3030 §2 note on illegal BDAT).
  if (!chunking_offered()) return Reply::make(502, {5, 5, 1}, "Error: command not implemented");
  if (state_ != State::rcpt && state_ != State::bdat) return sequence_error(Verb::bdat);
  return std::nullopt;
}

void ServerSession::Impl::proceed_bdat(const BdatArgs& args) {
  MAIL_ASSERT(state_ == State::rcpt || state_ == State::bdat);
  MAIL_ASSERT(!tx_.envelope.recipients.empty());
  if (state_ == State::rcpt) {
    // RFC 3030 §3: BINARYMIME content is octets; 7BIT/8BITMIME is still CRLF text.
    const bool text = tx_.envelope.mail_params.body != BodyType::binary_mime;
    tx_.content.emplace(config_.limits, size_limit(config_.limits, tx_.envelope.mail_params), text);
    tx_.used_bdat = true;
    enter(State::bdat);
  }
  chunk_active_ = true;
  chunk_size_ = args.size;
  chunk_remaining_ = args.size;
  chunk_last_ = args.last;
}

void ServerSession::Impl::finish_chunk() {
  MAIL_ASSERT(state_ == State::bdat);
  MAIL_ASSERT(chunk_active_);
  MAIL_ASSERT(chunk_remaining_ == 0);
  chunk_active_ = false;
  if (tx_.content->too_big()) {
    // Reported at the chunk that crossed the limit (RFC 3030 §2: the transaction failed;
    // later pipelined chunks meet "need RCPT" and are skipped the same way).
    send_error(Reply::make(552, {5, 3, 4}, "Message size exceeds fixed maximum message size"));
    if (state_ != State::closed) reset_transaction(true);
    return;
  }
  if (!chunk_last_) {
    // RFC 3030 §2: "A 250 response MUST be sent to each successful BDAT data block".
    send(Reply::make(250, {2, 0, 0}, std::to_string(chunk_size_) + " octets received"));
    return;
  }
  finish_message();
}

std::optional<Reply> ServerSession::Impl::content_error() const {
  MAIL_ASSERT(tx_.content.has_value());
  switch (tx_.content->defect()) {
    case ContentDefect::none:
      return std::nullopt;
    case ContentDefect::bare_cr_lf:
      return Reply::make(554, {5, 6, 0}, "Message contains bare CR or LF characters (RFC 5321 section 2.3.8)");
    case ContentDefect::nul:
      return Reply::make(554, {5, 6, 0}, "Message contains NUL characters (RFC 2045 section 2.8)");
    case ContentDefect::line_too_long:
      return Reply::make(554, {5, 6, 0}, "Message line too long (RFC 5321 section 4.5.3.1.6)");
    case ContentDefect::too_big:
      return Reply::make(552, {5, 3, 4}, "Message size exceeds fixed maximum message size");
    case ContentDefect::too_many_hops:
      return Reply::make(554, {5, 4, 6}, "Too many hops");
  }
  MAIL_UNREACHABLE();
}

void ServerSession::Impl::finish_message() {
  MAIL_ASSERT(state_ == State::data || state_ == State::bdat);
  MAIL_ASSERT(!pending_);
  tx_.content->finish();
  answering_ = "END-OF-MESSAGE";
  answering_path_.clear();
  if (auto err = content_error()) {
    send_error(*err);
    if (state_ != State::closed) reset_transaction(true);
    return;
  }
  const EventId id = next_id();
  ev::Message m;
  m.id = id;
  m.envelope = std::move(tx_.envelope);
  m.content = tx_.content->take_content();
  MAIL_ASSERT(m.content.size() <= config_.limits.message_bytes_max);
  emit(std::move(m));
  PendingVerdict p;
  p.id = id;
  p.kind = state_ == State::data ? Verb::data : Verb::bdat;
  pending_ = std::move(p);
}

void ServerSession::Impl::verdict_message(PendingVerdict p, Reply verdict) {
  MAIL_ASSERT(p.kind == Verb::data || p.kind == Verb::bdat);
  MAIL_ASSERT(state_ == State::data || state_ == State::bdat);
  // §4.1.1.4: success or failure, the transaction's buffers are cleared.
  reset_transaction(false);
  if (verdict.positive()) {
    junk_ = 0;  // a client that delivers mail is not idling (see DESIGN note in the report)
    send(verdict);
    return;
  }
  if (verdict.code == 421) {
    send(verdict);
    close("421 from application");
    return;
  }
  send(verdict);  // a refused message is the application's policy, not a client error
}

void ServerSession::Impl::on_data(const Command& c) {
  MAIL_ASSERT(c.spec->id == Verb::data);
  if (auto err = check_data(c.arg)) {
    send_error(*err);
    return;
  }
  proceed_data();
}

void ServerSession::Impl::on_bdat(const Command& c) {
  MAIL_ASSERT(c.spec->id == Verb::bdat);
  const std::optional<BdatArgs> args = parse_bdat_args(c.arg);
  if (!args) {
    // Without a size we cannot tell where the chunk ends: anything could be read as
    // commands. Refuse and close.
    send_fatal(Reply::make(501, {5, 5, 4}, "Syntax: BDAT <size> [LAST]"), "bad BDAT size");
    return;
  }
  if (auto err = check_bdat(*args)) {
    // RFC 3030 §2: "the receiver-SMTP MUST accept and discard the associated message data
    // before sending the appropriate 5XX or 4XX code".
    discard_remaining_ = args->size;
    after_discard_ = std::move(*err);
    return;
  }
  proceed_bdat(*args);
}

}  // namespace mail::smtp
