// The IMAP command dispatcher, the selected mailbox's resync and the shared helpers
// (see commands.h).
#include "node/imap/commands.h"

#include <algorithm>
#include <type_traits>
#include <variant>

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

std::vector<im::UidRange> absent_uids(const MailboxView& view, const std::vector<im::UidRange>& ranges,
                                      std::uint32_t above_uid) {
  std::vector<im::UidRange> out;
  if (view.uidnext() <= 1) return out;
  const std::uint32_t last = view.uidnext() - 1;
  auto emit = [&out](std::uint32_t lo, std::uint32_t hi) {
    if (!out.empty() && out.back().hi + 1 == lo) out.back().hi = hi;
    else out.push_back(im::UidRange{lo, hi});
  };
  for (const auto& r : ranges) {
    if (r.hi <= above_uid || r.lo > last) continue;
    std::uint32_t lo = std::max(r.lo, above_uid + 1);
    const std::uint32_t hi = std::min(r.hi, last);
    // The gaps between the messages the view holds in [lo, hi]: linear in messages, not UIDs.
    for (std::uint32_t s = view.lower_bound_uid(lo); s <= view.size() && view.message(s).uid <= hi; ++s) {
      const std::uint32_t uid = view.message(s).uid;
      if (uid > lo) emit(lo, uid - 1);
      lo = uid + 1;
      if (uid == hi) break;
    }
    if (lo <= hi && lo != 0) emit(lo, hi);
  }
  return out;
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

rt::Task<std::string> resync(SessionContext& ctx, bool allow_expunge, std::span<const std::uint32_t> told) {
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
  // Another mailbox under the selected one's name (deleted and made again): its changes
  // are not this view's. The session's next command ends it (selected_mailbox_gone).
  if (changes->status.uidvalidity != view.uidvalidity()) co_return std::string();
  // New mail for a rev1 session: claim what no other session has seen as \Recent yet
  // (RFC 3501 §2.3.2) before the EXISTS/RECENT are told. EXAMINE only looks.
  if (ctx.rev1() && changes->status.uidnext > view.uidnext()) {
    const std::uint32_t known_uidnext = view.uidnext();
    const std::uint32_t uidnext = changes->status.uidnext;
    auto first = co_await ctx.store.claim_recent(ctx.user, view.folder(), uidnext, !view.read_only());
    if (first.ok()) view.add_recent(std::max(*first, known_uidnext), uidnext);
  }
  const bool with_modseq = ctx.session.enabled().condstore;
  std::string out = view.apply(changes.value(), allow_expunge, ctx.expunge_style(), with_modseq, ctx.rev1(), told);
  co_return out;
}

namespace {
// The position of T in the command variant, for a switch over the command kinds.
template <class T, class V>
struct index_of;
template <class T, class... Ts>
struct index_of<T, std::variant<Ts...>> {
  static constexpr std::size_t value = [] {
    std::size_t i = 0;
    (void)((std::is_same_v<T, Ts> ? false : (++i, true)) && ...);  // (void): clang -Wunused-value
    return i;
  }();
};
template <class T>
constexpr std::size_t kind = index_of<T, im::CommandBody>::value;
}  // namespace

namespace {
// True when the selected mailbox was deleted, renamed away, or replaced by a new mailbox
// of the same name (another UIDVALIDITY) by another session: the store addresses folders
// by name, so the view's sequence numbers and UIDs would reach other messages.
rt::Task<bool> selected_mailbox_gone(SessionContext& ctx) {
  const MailboxView& view = *ctx.view;
  auto now = co_await ctx.store.changes_since(ctx.user, view.folder(), view.highest_modseq());
  if (!now.ok()) co_return now.code() == Errc::not_found;
  co_return now->status.uidvalidity != view.uidvalidity();
}
}  // namespace

rt::Task<Response> run_command(SessionContext& ctx, im::Command command) {
  auto& body = command.body;
  Response r;
  bool allow_expunge = true;
  // RFC 2180 §3.2: the selected mailbox was deleted or renamed by another session: the
  // session ends with BYE (as Dovecot does) before any command could act on a namesake.
  if (ctx.view && body.index() != kind<im::Select>) {
    const bool gone = co_await selected_mailbox_gone(ctx);
    if (gone) {
      ctx.view.reset();
      r = no("[NONEXISTENT] The selected mailbox was deleted or renamed");
      r.close = true;
      co_return r;
    }
  }
  switch (body.index()) {
    case kind<im::Select>: co_return co_await cmd_select(ctx, std::get<im::Select>(body));
    case kind<im::Create>: r = co_await cmd_create(ctx, std::get<im::Create>(body)); break;
    case kind<im::Delete>: r = co_await cmd_delete(ctx, std::get<im::Delete>(body)); break;
    case kind<im::Rename>: r = co_await cmd_rename(ctx, std::get<im::Rename>(body)); break;
    case kind<im::Subscribe>: r = co_await cmd_subscribe(ctx, std::get<im::Subscribe>(body).mailbox, true); break;
    case kind<im::Unsubscribe>: r = co_await cmd_subscribe(ctx, std::get<im::Unsubscribe>(body).mailbox, false); break;
    case kind<im::List>: r = co_await cmd_list(ctx, std::get<im::List>(body)); break;
    case kind<im::Lsub>: r = co_await cmd_lsub(ctx, std::get<im::Lsub>(body)); break;
    case kind<im::Namespace>:
      // RFC 2342 §5: one personal namespace, no others.
      r = ok("NAMESPACE completed", "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
      break;
    case kind<im::Status>: r = co_await cmd_status(ctx, std::get<im::Status>(body)); break;
    case kind<im::Append>: r = co_await cmd_append(ctx, std::get<im::Append>(body)); break;
    case kind<im::GetQuota>:
    case kind<im::GetQuotaRoot>:
    case kind<im::SetQuota>: r = co_await cmd_quota(ctx, body); break;
    case kind<im::Noop>: r = ok("NOOP completed"); break;
    case kind<im::Check>: r = ok("CHECK completed"); break;
    case kind<im::Close>: co_return co_await cmd_close(ctx, true);
    case kind<im::Unselect>: co_return co_await cmd_close(ctx, false);
    case kind<im::Expunge>: r = co_await cmd_expunge(ctx, std::get<im::Expunge>(body)); break;
    case kind<im::Fetch>:
      r = co_await cmd_fetch(ctx, std::get<im::Fetch>(body));
      allow_expunge = false;
      break;
    case kind<im::Store>:
      r = co_await cmd_store(ctx, std::get<im::Store>(body));
      allow_expunge = false;
      break;
    case kind<im::Search>:
      r = co_await cmd_search(ctx, std::get<im::Search>(body));
      allow_expunge = false;
      break;
    case kind<im::Sort>:
      r = co_await cmd_sort(ctx, std::get<im::Sort>(body));
      allow_expunge = false;
      break;
    case kind<im::Thread>:
      r = co_await cmd_thread(ctx, std::get<im::Thread>(body));
      allow_expunge = false;
      break;
    case kind<im::Copy>: {
      const auto& c = std::get<im::Copy>(body);
      r = co_await cmd_copy_move(ctx, c.uid, c.set, c.mailbox, false);
      break;
    }
    case kind<im::Move>: {
      const auto& c = std::get<im::Move>(body);
      r = co_await cmd_copy_move(ctx, c.uid, c.set, c.mailbox, true);
      break;
    }
    default: r = bad("Command not supported here"); break;
  }
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
