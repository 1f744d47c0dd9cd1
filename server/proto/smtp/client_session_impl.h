// Private: the state of one smtp::ClientSession, shared by client_session.cpp (transitions,
// output, reply dispatch, public API) and client/*.cpp (one file per stage: greeting and
// EHLO/HELO, STARTTLS, AUTH, MAIL, RCPT, DATA/BDAT, QUIT and timeouts; wire helpers). Not part of
// the public API; no I/O, no clock, no RNG, no exceptions. RFC 5321 §3, §4.1, §4.2.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proto/sasl/scram_client.h"
#include "proto/smtp/client_session.h"

namespace mail::smtp {

// What a reply in the in-flight queue answers.
enum class Cmd : std::uint8_t { greeting, ehlo, helo, starttls, auth, mail, rcpt, data, dot, bdat, bdat_last, rset, quit };

std::string_view to_string(Cmd c) noexcept;

struct Inflight {
  Cmd cmd = Cmd::greeting;
  std::uint32_t index = 0;  // RCPT index or BDAT chunk number
};

bool is_2xx(const Reply& r) noexcept;
// A reply made up here (timeout, EOF, refused content ...); its text loses CR and LF.
Reply local_reply(std::uint16_t code, std::uint8_t subject, std::uint16_t detail, std::string text);
// "250 first line", for history and local reply texts.
std::string reply_summary(const Reply& r);

// The AUTH exchange in progress (RFC 4954 §4), from AUTH until its final reply. At
// namespace scope, not nested in Impl: clang cannot use a nested struct's default member
// initializers (optional::emplace()) before the enclosing class is complete.
struct ClientAuthExchange {
  sasl::Mechanism mechanism = sasl::Mechanism::plain;
  std::uint32_t continuations = 0;          // 334s answered so far
  std::optional<sasl::ScramClient> scram;   // SCRAM-SHA-256 state
  bool server_verified = false;             // SCRAM: server-final's signature matched
  std::optional<Reply> abandoned;           // we cancelled with "*": why (a local reply)
};

struct ClientSession::Impl {
  struct Queued {
    TxId id = 0;
    MailTransaction tx;
  };
  // The transaction in progress (OpenSMTPD keeps smtp_tx apart from the session too).
  struct Active {
    TxId id = 0;
    MailTransaction tx;
    bool pipelined = false;
    bool bdat = false;
    std::string wire;             // DATA: stuffed content + terminator; BDAT: the octets
    std::size_t wire_sent = 0;    // BDAT: octets handed out so far
    std::uint32_t chunks = 0;     // BDAT: chunks sent
    std::optional<Reply> mail_reply;
    bool mail_ok = false;
    std::vector<std::optional<Reply>> rcpt;
    std::size_t accepted = 0;
    std::optional<Reply> failure;  // decided failure, waiting for the pipeline to drain
  };

  ClientConfig cfg;
  ClientState st = ClientState::greeting;
  ReplyParser parser;
  std::deque<ClientOutput> out;
  std::deque<ClientEvent> events;
  std::deque<std::string> hist;
  std::deque<Inflight> inflight;
  std::optional<Instant> deadline;
  Capabilities caps;
  bool extended = false;
  bool tls = false;
  bool authenticated = false;
  std::optional<ClientAuthExchange> auth_x;  // the AUTH exchange in progress
  bool quit_requested = false;
  TxId next_id = 1;
  std::size_t discarded = 0;
  std::deque<Queued> queue;
  std::optional<Active> active;

  // --- client_session.cpp: transitions, output, results, reply dispatch ---------------
  Impl(ClientConfig c, Instant now);
  void enter(ClientState next);
  void send_bytes(std::string_view bytes);
  void expect(Cmd cmd, std::uint32_t index, Instant now);
  void send_cmd(std::string line, Cmd cmd, std::uint32_t index, Instant now);
  Duration timeout_for(Cmd c) const noexcept;
  void rearm(Instant now);
  void emit_failure(TxId id, const MailTransaction& tx, const Reply& why, bool local);
  void finish_active(const Reply& reply, bool accepted, bool local);
  void on_reply(Reply r, Instant now);

  // --- client/hello.cpp: greeting, EHLO, HELO fallback ---------------------------------
  void on_greeting(const Reply& r, Instant now);
  void on_ehlo(Reply r, Instant now);
  void on_helo(const Reply& r, Instant now);
  void after_hello(Instant now);
  void become_ready(Instant now);

  // --- client/starttls.cpp -------------------------------------------------------------
  void on_starttls(const Reply& r, Instant now);

  // --- client/auth.cpp: AUTH (RFC 4954) -----------------------------------------------
  void after_tls_decided(Instant now);
  // Pure: the mechanism to use, or the local refusal when there is none we may use.
  std::variant<sasl::Mechanism, Reply> check_auth() const;
  void start_auth(Instant now);
  void on_auth(const Reply& r, Instant now);
  // The answer to the next 334 (its text is `challenge_b64`), or the local reason to cancel.
  std::variant<std::string, Reply> auth_response(std::string_view challenge_b64);

  // --- client/mail.cpp: validation, starting a transaction, MAIL, RSET -------------------
  std::optional<Reply> check_submit(const MailTransaction& tx) const;
  std::optional<Reply> check_against_server(const MailTransaction& tx, std::uint64_t size) const;
  void start_next(Instant now);
  void begin(Queued q, std::string content, std::string mail, Instant now);
  void on_mail(Reply r, Instant now);
  void after_failure(bool mail_ok, Instant now);
  void on_rset(const Reply& r, Instant now);

  // --- client/rcpt.cpp ------------------------------------------------------------------
  void send_rcpt(std::size_t i, Instant now);
  const Reply& no_recipient_reply() const;
  void after_rcpts(Instant now);
  void on_rcpt(Reply r, std::uint32_t index, Instant now);

  // --- client/data.cpp: DATA and BDAT ----------------------------------------------------
  void send_chunks(Instant now);
  void on_data(const Reply& r, Instant now);
  void on_final(const Reply& r, Instant now);
  void on_bdat(const Reply& r, Instant now);
  void on_bdat_last(const Reply& r, Instant now);

  // --- client/quit.cpp: failing, aborting, QUIT ------------------------------------------
  void fail_all(const Reply& why, bool local);
  void abort(const Reply& why, bool local, std::string reason);
  void protocol_error(std::string_view what);
  void quit_after_failure(const Reply& why, bool local, Instant now);
  void on_quit();
};

}  // namespace mail::smtp
