// The IMAP mailbox commands (RFC 9051 §6.3, §6.4 and the extensions the server
// advertises), run against the MailStore for one session. Each takes the session's
// context and the parsed command and yields the Response (untagged lines + tagged
// status) the session sends. Split by topic: mailbox_commands.cpp (SELECT, CREATE, LIST,
// STATUS, APPEND, QUOTA ...), message_commands.cpp (FETCH, STORE, COPY, MOVE, EXPUNGE,
// CLOSE ...), search_commands.cpp (SEARCH, SORT, THREAD). Env only (no Asio, no clock but
// env.clock()); one command of a session runs at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/function.h"
#include "node/imap/mailbox_view.h"
#include "proto/imap/command.h"
#include "proto/imap/parser.h"
#include "proto/imap/server_session.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "store/mail_store.h"

namespace mail::node::imapsrv {

// The IMAP service's settings the commands need.
struct CommandConfig {
  std::uint64_t append_limit = 35ull << 20;  // APPENDLIMIT (RFC 7889), also the literal limit; = SMTP SIZE
  std::uint64_t quota_bytes = 0;             // per user (RFC 9208 STORAGE, KiB on the wire); 0 = none
  std::uint64_t quota_messages = 0;          // per user (RFC 9208 MESSAGE); 0 = none
};

// What one session's commands share.
struct SessionContext {
  rt::Env& env;
  store::MailStore& store;
  const CommandConfig& config;
  mail::imap::ServerSession& session;
  std::string user;
  std::string tag;                  // of the command running (ESEARCH TAG, RFC 4731)
  std::optional<MailboxView> view;  // set in the selected state
  // Sends untagged responses of the running command now, ahead of its Response, and
  // resumes once they are written (false: the connection is closing, stop). Commands
  // with a large answer stream through it; unset (unit tests), they keep it all.
  UniqueFunction<rt::Task<bool>(std::string)> send_now;

  bool utf8() const noexcept { return session.enabled().utf8_accept || session.enabled().imap4rev2; }
  bool rev1() const noexcept { return !session.enabled().imap4rev2; }
  ExpungeStyle expunge_style() const noexcept {
    return session.enabled().qresync ? ExpungeStyle::vanished : ExpungeStyle::expunge;
  }
};

using Response = mail::imap::Response;

// Runs any command the session hands out (ev::Command).
rt::Task<Response> run_command(SessionContext& ctx, mail::imap::Command command);

// The untagged updates of the selected mailbox since the view's modseq (EXISTS, FETCH
// flags, and EXPUNGE/VANISHED when `allow_expunge`). Empty when nothing is selected.
// `told` (ascending uids): flag changes the running command's own FETCH responses show
// next (see MailboxView::apply); the span must outlive the call.
rt::Task<std::string> resync(SessionContext& ctx, bool allow_expunge, std::span<const std::uint32_t> told = {});

// Per topic (the dispatcher above calls them).
rt::Task<Response> cmd_select(SessionContext& ctx, const mail::imap::Select& c);
rt::Task<Response> cmd_create(SessionContext& ctx, const mail::imap::Create& c);
rt::Task<Response> cmd_delete(SessionContext& ctx, const mail::imap::Delete& c);
rt::Task<Response> cmd_rename(SessionContext& ctx, const mail::imap::Rename& c);
rt::Task<Response> cmd_subscribe(SessionContext& ctx, const std::string& mailbox, bool subscribe);
rt::Task<Response> cmd_list(SessionContext& ctx, const mail::imap::List& c);
rt::Task<Response> cmd_lsub(SessionContext& ctx, const mail::imap::Lsub& c);
rt::Task<Response> cmd_status(SessionContext& ctx, const mail::imap::Status& c);
rt::Task<Response> cmd_append(SessionContext& ctx, mail::imap::Append& c);
rt::Task<Response> cmd_quota(SessionContext& ctx, const mail::imap::CommandBody& c);
rt::Task<Response> cmd_fetch(SessionContext& ctx, const mail::imap::Fetch& c);
rt::Task<Response> cmd_store(SessionContext& ctx, const mail::imap::Store& c);
rt::Task<Response> cmd_copy_move(SessionContext& ctx, bool uid, const mail::imap::SequenceSet& set,
                                 const std::string& mailbox, bool move);
rt::Task<Response> cmd_expunge(SessionContext& ctx, const mail::imap::Expunge& c);
rt::Task<Response> cmd_close(SessionContext& ctx, bool expunge);
rt::Task<Response> cmd_search(SessionContext& ctx, const mail::imap::Search& c);
rt::Task<Response> cmd_sort(SessionContext& ctx, const mail::imap::Sort& c);
rt::Task<Response> cmd_thread(SessionContext& ctx, const mail::imap::Thread& c);

// Helpers shared by the topics.
Response ok(std::string text, std::string untagged = {});
Response no(std::string text, std::string untagged = {});
Response bad(std::string text);
// The store's error as a NO: [TRYCREATE] for a missing target, [NONEXISTENT], [OVERQUOTA] ...
Response no_from(const Error& e, std::string_view what);
// System flags and keywords as the client wrote them; nullopt for an unknown "\\Flag"
// (\\Recent is accepted and ignored: it is not settable).
std::optional<store::Flags> flags_from_wire(const std::vector<std::string>& words);
// RFC 7162 §3.2.5.2, §3.2.6: when the change log no longer reaches back to the client's
// MODSEQ, VANISHED (EARLIER) may be a superset: every UID of `ranges` (normalised) above
// `above_uid` and below UIDNEXT that the selected mailbox does not hold, as ranges.
std::vector<mail::imap::UidRange> absent_uids(const MailboxView& view, const std::vector<mail::imap::UidRange>& ranges,
                                              std::uint32_t above_uid);
// Sequence numbers (or UIDs when `uid`) of the selected mailbox a set names, in ascending
// sequence order. nullopt when a sequence number is beyond the mailbox (RFC 9051 §9: BAD).
std::optional<std::vector<std::uint32_t>> resolve_seqs(const SessionContext& ctx, const mail::imap::SequenceSet& set,
                                                       bool uid);

}  // namespace mail::node::imapsrv
