// The IMAP command dispatcher, the selected mailbox's resync and the shared helpers
// (see commands.h).
#include "node/imap/commands.h"

#include <algorithm>

#include "core/assert.h"
#include "proto/imap/parser.h"

namespace mail::node::imapsrv {

namespace im = mail::imap;

Response ok(std::string text, std::string untagged) {
  Response r;
  r.status = Response::Status::ok;
  r.text = std::move(text);
  r.untagged = std::move(untagged);
  return r;
}

Response no(std::string text, std::string untagged) {
  Response r = ok(std::move(text), std::move(untagged));
  r.status = Response::Status::no;
  return r;
}

Response bad(std::string text) {
  Response r = ok(std::move(text));
  r.status = Response::Status::bad;
  return r;
}

Response no_from(const Error& e, std::string_view what) {
  std::string text;
  switch (e.code) {
    case Errc::not_found: text = "[NONEXISTENT] "; break;
    case Errc::exists: text = "[ALREADYEXISTS] "; break;
    case Errc::no_space: text = "[OVERQUOTA] "; break;
    case Errc::invalid: text = "[CANNOT] "; break;
    case Errc::io:
    case Errc::unavailable: text = "[SERVERBUG] "; break;
    default: break;
  }
  text += what;
  return no(std::move(text));
}

std::optional<std::vector<std::uint32_t>> resolve_seqs(const SessionContext& ctx, const im::SequenceSet& set, bool uid) {
  MAIL_ASSERT(ctx.view.has_value());
  const MailboxView& view = *ctx.view;
  std::vector<std::uint32_t> seqs;
  if (set.saved) {
    // RFC 5182 §2.1: "$" is the saved result (uids); for sequence numbers too.
    for (auto u : ctx.view->saved_search())
      if (auto s = view.seq_of_uid(u)) seqs.push_back(*s);
    return seqs;
  }
  if (uid) {
    // RFC 9051 §6.4.9: "*" is the largest UID in use; a range with no existing UID is
    // not an error, it just selects nothing.
    for (const auto& r : im::normalize(set, view.max_uid())) {
      for (std::uint32_t s = view.lower_bound_uid(r.lo); s <= view.size() && view.message(s).uid <= r.hi; ++s)
        seqs.push_back(s);
    }
    return seqs;
  }
  auto ranges = im::normalize(set, view.size());
  if (!im::within(ranges, view.size())) return std::nullopt;
  for (const auto& r : ranges)
    for (std::uint64_t s = r.lo; s <= r.hi; ++s)
      if (s >= 1) seqs.push_back(static_cast<std::uint32_t>(s));
  return seqs;
}

namespace {

// A full reread turned into changes (when the store's log no longer reaches back).
store::FolderChanges diff_snapshot(const MailboxView& view, store::FolderSnapshot snap) {
  store::FolderChanges ch;
  ch.status = snap.status;
  std::size_t j = 0;
  for (std::uint32_t s = 1; s <= view.size(); ++s) {
    const auto& m = view.message(s);
    while (j < snap.messages.size() && snap.messages[j].uid < m.uid) {
      ch.changes.push_back({store::FolderChange::Kind::added, snap.messages[j]});
      ++j;
    }
    if (j < snap.messages.size() && snap.messages[j].uid == m.uid) {
      if (snap.messages[j].modseq > m.modseq) ch.changes.push_back({store::FolderChange::Kind::flags, snap.messages[j]});
      ++j;
    } else {
      store::MessageInfo gone;
      gone.uid = m.uid;
      ch.changes.push_back({store::FolderChange::Kind::expunged, gone});
    }
  }
  for (; j < snap.messages.size(); ++j) ch.changes.push_back({store::FolderChange::Kind::added, snap.messages[j]});
  return ch;
}

}  // namespace

rt::Task<std::string> resync(SessionContext& ctx, bool allow_expunge) {
  if (!ctx.view) co_return std::string();
  MailboxView& view = *ctx.view;
  auto changes = co_await ctx.store.changes_since(ctx.user, view.folder(), view.highest_modseq());
  if (!changes.ok()) {
    if (changes.code() != Errc::unavailable && changes.code() != Errc::not_found) {
      auto snap = co_await ctx.store.open_folder(ctx.user, view.folder());
      if (snap.ok()) changes = diff_snapshot(view, std::move(snap).value());
    }
    if (!changes.ok()) co_return std::string();
  }
  const bool with_modseq = ctx.session.enabled().condstore;
  std::string out = view.apply(changes.value(), allow_expunge, ctx.expunge_style(), with_modseq, ctx.rev1());
  co_return out;
}

rt::Task<Response> run_command(SessionContext& ctx, im::Command command) {
  auto& body = command.body;
  Response r;
  bool allow_expunge = true;
  if (auto* c = std::get_if<im::Select>(&body)) co_return co_await cmd_select(ctx, *c);
  if (auto* c = std::get_if<im::Create>(&body)) r = co_await cmd_create(ctx, *c);
  else if (auto* c = std::get_if<im::Delete>(&body)) r = co_await cmd_delete(ctx, *c);
  else if (auto* c = std::get_if<im::Rename>(&body)) r = co_await cmd_rename(ctx, *c);
  else if (auto* c = std::get_if<im::Subscribe>(&body)) r = co_await cmd_subscribe(ctx, c->mailbox, true);
  else if (auto* c = std::get_if<im::Unsubscribe>(&body)) r = co_await cmd_subscribe(ctx, c->mailbox, false);
  else if (auto* c = std::get_if<im::List>(&body)) r = co_await cmd_list(ctx, *c);
  else if (auto* c = std::get_if<im::Lsub>(&body)) r = co_await cmd_lsub(ctx, *c);
  else if (std::holds_alternative<im::Namespace>(body)) {
    // RFC 2342 §5: one personal namespace, no others.
    r = ok("NAMESPACE completed", "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
  } else if (auto* c = std::get_if<im::Status>(&body)) r = co_await cmd_status(ctx, *c);
  else if (auto* c = std::get_if<im::Append>(&body)) r = co_await cmd_append(ctx, *c);
  else if (std::holds_alternative<im::GetQuota>(body) || std::holds_alternative<im::GetQuotaRoot>(body) ||
           std::holds_alternative<im::SetQuota>(body)) r = co_await cmd_quota(ctx, body);
  else if (std::holds_alternative<im::Noop>(body)) r = ok("NOOP completed");
  else if (std::holds_alternative<im::Check>(body)) r = ok("CHECK completed");
  else if (std::holds_alternative<im::Close>(body)) co_return co_await cmd_close(ctx, true);
  else if (std::holds_alternative<im::Unselect>(body)) co_return co_await cmd_close(ctx, false);
  else if (auto* c = std::get_if<im::Expunge>(&body)) r = co_await cmd_expunge(ctx, *c);
  else if (auto* c = std::get_if<im::Fetch>(&body)) { r = co_await cmd_fetch(ctx, *c); allow_expunge = false; }
  else if (auto* c = std::get_if<im::Store>(&body)) { r = co_await cmd_store(ctx, *c); allow_expunge = false; }
  else if (auto* c = std::get_if<im::Search>(&body)) { r = co_await cmd_search(ctx, *c); allow_expunge = false; }
  else if (auto* c = std::get_if<im::Sort>(&body)) { r = co_await cmd_sort(ctx, *c); allow_expunge = false; }
  else if (auto* c = std::get_if<im::Thread>(&body)) { r = co_await cmd_thread(ctx, *c); allow_expunge = false; }
  else if (auto* c = std::get_if<im::Copy>(&body)) r = co_await cmd_copy_move(ctx, c->uid, c->set, c->mailbox, false);
  else if (auto* c = std::get_if<im::Move>(&body)) r = co_await cmd_copy_move(ctx, c->uid, c->set, c->mailbox, true);
  else r = bad("Command not supported here");
  // RFC 9051 §7: after a command the server reports what changed in the selected
  // mailbox (no EXPUNGE during FETCH, STORE, SEARCH: §7.5.1). UID variants may carry
  // expunges with VANISHED, but we keep the simple rule.
  if (ctx.view) {
    std::string updates = co_await resync(ctx, allow_expunge);
    if (!updates.empty()) r.untagged += updates;
  }
  co_return r;
}

}  // namespace mail::node::imapsrv
