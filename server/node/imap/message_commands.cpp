// Message-level IMAP commands of the selected state (see commands.h): FETCH (RFC 9051
// §6.4.5, RFC 7162 CHANGEDSINCE/VANISHED), STORE (§6.4.6, RFC 7162 UNCHANGEDSINCE),
// COPY (§6.4.7, RFC 4315 COPYUID), MOVE (RFC 6851), EXPUNGE and UID EXPUNGE (§6.4.3,
// RFC 4315), CLOSE and UNSELECT (§6.4.1-2, RFC 3691).
#include <algorithm>

#include "core/assert.h"
#include "node/imap/commands.h"
#include "node/imap/fetch_render.h"
#include "node/imap/names.h"
#include "proto/imap/parser.h"
#include "proto/imap/response_writer.h"

namespace mail::node::imapsrv {

namespace im = mail::imap;

namespace {

constexpr std::size_t kHeaderBatch = 512;  // header blocks asked from the store at once
// Message files read at once for a FETCH of contents: at most this many, and past the
// first one, at most kContentBatchBytes of messages (their sizes from the index). The
// first batch is small and each next one 4x larger up to kContentBatch, so the first
// bytes of a long answer go out after a few reads, not 128 (time to first byte of a
// 1,000-body UID FETCH: 1.3 ms with 128 at once, about 0.2 ms so).
constexpr std::size_t kContentBatchFirst = 4;
constexpr std::size_t kContentBatch = 128;
constexpr std::uint64_t kContentBatchBytes = 8ull << 20;
// A FETCH answer past this size is sent as it grows (SessionContext::send_now): a session
// holds about one chunk plus one batch of messages, never the whole answer.
constexpr std::size_t kStreamChunkBytes = 512 * 1024;
// The first chunk goes out sooner, so the client parses while the rest is produced (a
// FETCH 1:* FLAGS of 10,000 messages is ~500 KB, which the client takes ~10x longer to
// parse than the server to render).
constexpr std::size_t kFirstChunkBytes = 16 * 1024;

std::vector<std::uint32_t> uids_of(const MailboxView& view, const std::vector<std::uint32_t>& seqs) {
  std::vector<std::uint32_t> uids;
  uids.reserve(seqs.size());
  for (auto s : seqs) uids.push_back(view.message(s).uid);
  return uids;
}

}  // namespace

// ------------------------------------------------------------------------------ FETCH
rt::Task<Response> cmd_fetch(SessionContext& ctx, const im::Fetch& c) {
  MAIL_ASSERT(ctx.view.has_value());
  auto seqs = resolve_seqs(ctx, c.set, c.uid);
  if (!seqs) co_return bad("Invalid message sequence number");
  const bool wants_modseq = std::any_of(c.items.begin(), c.items.end(),
                                        [](const im::FetchAtt& a) { return a.kind == im::FetchKind::modseq; });
  if (wants_modseq || c.changedsince) ctx.session.enable_condstore();  // RFC 7162 §3.1
  if (c.vanished && (!c.uid || !c.changedsince || !ctx.session.enabled().qresync))
    co_return bad("VANISHED needs UID FETCH with CHANGEDSINCE and QRESYNC enabled (RFC 7162 3.2.6)");
  std::string out;
  if (c.vanished) {
    // "*" is UIDNEXT-1 here: the largest UID in use may be one that was expunged.
    const std::uint32_t last = ctx.view->uidnext() > 1 ? ctx.view->uidnext() - 1 : 0;
    const auto ranges = im::normalize(c.set, last);
    std::vector<im::UidRange> gone;
    auto changes = co_await ctx.store.changes_since(ctx.user, ctx.view->folder(), *c.changedsince);
    if (changes.ok()) {
      std::vector<std::uint32_t> uids;
      for (const auto& ch : changes->changes) {
        if (ch.kind != store::FolderChange::Kind::expunged) continue;
        if (std::any_of(ranges.begin(), ranges.end(), [&](const im::UidRange& r) { return ch.info.uid >= r.lo && ch.info.uid <= r.hi; }))
          uids.push_back(ch.info.uid);
      }
      std::sort(uids.begin(), uids.end());
      for (auto u : uids) gone.push_back(im::UidRange{u, u});
    } else if (changes.code() == Errc::expired) {
      // RFC 7162 §3.2.6: older than the log's horizon: every UID of the set that is not
      // in the mailbox (a superset of the expunged ones). The FETCH part below comes from
      // the messages' MODSEQs, which the log's horizon does not affect.
      gone = absent_uids(*ctx.view, ranges, 0);
    }
    if (!gone.empty()) {
      out += "* VANISHED (EARLIER) ";
      im::append_ranges(out, gone);
      out += "\r\n";
    }
  }
  MailboxView& view = *ctx.view;
  if (c.changedsince) {
    std::erase_if(*seqs, [&](std::uint32_t s) { return view.message(s).modseq <= *c.changedsince; });
  }
  // Implicit \Seen (RFC 9051 §6.4.5) before anything is rendered, so FLAGS show it.
  std::vector<std::uint32_t> seen_changed;
  if (fetch_sets_seen(c.items) && !view.read_only()) {
    std::vector<std::uint32_t> unseen;
    for (auto s : *seqs)
      if ((view.message(s).flags.system & store::flag_seen) == 0) unseen.push_back(view.message(s).uid);
    if (!unseen.empty()) {
      store::Flags seen;
      seen.system = store::flag_seen;
      auto r = co_await ctx.store.store_flags(ctx.user, view.folder(), unseen, store::FlagOp::add, seen, std::nullopt);
      if (r.ok()) {
        for (const auto& m : r->changed) {
          view.note_flags(m);
          seen_changed.push_back(m.uid);
        }
        std::sort(seen_changed.begin(), seen_changed.end());
      }
    }
  }
  // Other sessions' flag changes first, so the FLAGS below are current and each message's
  // flags are told once (not again by the resync after the command).
  const bool flags_item = std::any_of(c.items.begin(), c.items.end(),
                                     [](const im::FetchAtt& a) { return a.kind == im::FetchKind::flags; });
  if (flags_item || !seen_changed.empty()) {
    std::vector<std::uint32_t> told = flags_item ? uids_of(view, *seqs) : seen_changed;
    std::sort(told.begin(), told.end());
    out += co_await resync(ctx, false, told);
  }
  const FetchNeed need = fetch_need(c.items);
  FetchOptions options;
  options.uid = c.uid || ctx.session.enabled().qresync;  // RFC 7162 §3.2.4: UID in every FETCH
  options.with_modseq = ctx.session.enabled().condstore;
  const bool rev1 = ctx.rev1();
  std::vector<std::string> headers;
  std::vector<Result<std::string>> contents;  // of seqs [contents_from, contents_from + size)
  std::size_t contents_from = 0;
  bool sent_any = false;  // a chunk of this answer went out already
  std::size_t batch_max = kContentBatchFirst;
  for (std::size_t i = 0; i < seqs->size(); ++i) {
    const std::uint32_t seq = (*seqs)[i];
    const store::MessageInfo& info = view.message(seq);
    if (need == FetchNeed::content && i == contents_from + contents.size()) {
      std::vector<std::uint32_t> batch;
      std::uint64_t bytes = 0;
      for (std::size_t j = i; j < seqs->size() && batch.size() < batch_max; ++j) {
        const store::MessageInfo& next = view.message((*seqs)[j]);
        if (!batch.empty() && bytes + next.size > kContentBatchBytes) break;
        batch.push_back(next.uid);
        bytes += next.size;
      }
      batch_max = std::min(batch_max * 4, kContentBatch);
      auto got = co_await ctx.store.read_many(ctx.user, view.folder(), std::move(batch));
      if (!got.ok()) co_return no_from(got.error(), "Cannot read the messages");
      contents = std::move(got).value();
      contents_from = i;
    }
    if (need == FetchNeed::headers && i % kHeaderBatch == 0) {
      std::vector<std::uint32_t> batch;
      for (std::size_t j = i; j < std::min(seqs->size(), i + kHeaderBatch); ++j) batch.push_back(view.message((*seqs)[j]).uid);
      auto h = co_await ctx.store.read_headers(ctx.user, view.folder(), std::move(batch));
      if (!h.ok()) co_return no_from(h.error(), "Cannot read the messages");
      headers = std::move(h).value();
    }
    std::string content;
    FetchMessage m;
    m.seq = seq;
    m.info = &info;
    m.flag_list = view.flag_list(seq, rev1);
    if (need == FetchNeed::headers) {
      m.headers = headers[i % kHeaderBatch];
    } else if (need == FetchNeed::content) {
      Result<std::string>& body = contents[i - contents_from];
      if (!body.ok()) {
        if (body.code() == Errc::not_found) continue;  // expunged by another session meanwhile
        co_return no_from(body.error(), "Cannot read a message");
      }
      content = std::move(body).value();
      m.content = content;
    }
    options.flags_changed = std::binary_search(seen_changed.begin(), seen_changed.end(), info.uid);
    Status rendered = render_fetch(out, m, c.items, options);
    if (!rendered.ok()) co_return no("[UNKNOWN-CTE] Unknown Content-Transfer-Encoding", std::move(out));
    if (out.size() >= (sent_any ? kStreamChunkBytes : kFirstChunkBytes) && ctx.send_now) {
      sent_any = true;
      std::string chunk = std::move(out);
      out = std::string();
      out.reserve(chunk.capacity());
      const bool open = co_await ctx.send_now(std::move(chunk));
      if (!open) co_return no("The connection is closing");
    }
  }
  co_return ok(c.uid ? "UID FETCH completed" : "FETCH completed", std::move(out));
}

// ------------------------------------------------------------------------------ STORE
rt::Task<Response> cmd_store(SessionContext& ctx, const im::Store& c) {
  MAIL_ASSERT(ctx.view.has_value());
  MailboxView& view = *ctx.view;
  if (view.read_only()) co_return no("[READ-ONLY] Mailbox is read-only");
  auto seqs = resolve_seqs(ctx, c.set, c.uid);
  if (!seqs) co_return bad("Invalid message sequence number");
  auto flags = flags_from_wire(c.flags);
  if (!flags) co_return bad("Invalid flag");
  if (c.unchangedsince) ctx.session.enable_condstore();
  const auto op = c.mode == im::StoreMode::add ? store::FlagOp::add
                  : c.mode == im::StoreMode::remove ? store::FlagOp::remove
                                                    : store::FlagOp::set;
  auto uids = uids_of(view, *seqs);
  auto r = co_await ctx.store.store_flags(ctx.user, view.folder(), uids, op, std::move(*flags), c.unchangedsince);
  if (!r.ok()) co_return no_from(r.error(), "Cannot store the flags");
  for (const auto& m : r->changed) view.note_flags(m);
  const bool with_modseq = ctx.session.enabled().condstore;
  std::vector<std::uint32_t> changed;
  for (const auto& m : r->changed) changed.push_back(m.uid);
  std::sort(changed.begin(), changed.end());
  std::vector<std::uint32_t> modified = r->modified;
  std::sort(modified.begin(), modified.end());
  // .SILENT: no FLAGS; with CONDSTORE the new MODSEQ is still told (RFC 7162 §3.1.3).
  auto answered = [&](std::uint32_t uid) {
    if (std::binary_search(modified.begin(), modified.end(), uid)) return false;
    const bool did_change = std::binary_search(changed.begin(), changed.end(), uid);
    return !c.silent || (with_modseq && did_change);
  };
  // Other sessions' changes first, so each FETCH below shows the flags as they are now
  // (RFC 9051 §6.4.6: "the new value of the flags"), and a message is told once, not once
  // by the resync and again by the STORE response.
  std::vector<std::uint32_t> told;
  for (auto s : *seqs)
    if (answered(view.message(s).uid)) told.push_back(view.message(s).uid);
  std::sort(told.begin(), told.end());
  std::string out = co_await resync(ctx, false, told);
  const bool rev1 = ctx.rev1();
  out.reserve(out.size() + told.size() * 48);
  for (auto s : *seqs) {
    const auto& m = view.message(s);
    if (!answered(m.uid)) continue;
    out += "* ";
    im::append_number(out, s);
    out += " FETCH (";
    // RFC 7162 §3.2.4: once CONDSTORE/QRESYNC is on, every FETCH carries UID and MODSEQ.
    if (c.uid || with_modseq) {
      out += "UID ";
      im::append_number(out, m.uid);
      out += ' ';
    }
    if (!c.silent) {
      out += "FLAGS ";
      view.append_flag_list(out, s, rev1);
    }
    if (with_modseq) {
      out += c.silent ? "MODSEQ (" : " MODSEQ (";
      im::append_number(out, m.modseq);
      out += ')';
    }
    out += ")\r\n";
  }
  if (!modified.empty()) {
    // RFC 7162 §3.1.3: MODIFIED names what failed the UNCHANGEDSINCE test.
    std::vector<std::uint32_t> names;
    for (auto u : modified) {
      if (c.uid) names.push_back(u);
      else if (auto s = view.seq_of_uid(u)) names.push_back(*s);
    }
    std::sort(names.begin(), names.end());
    std::string text = "[MODIFIED ";
    im::append_sequence_set(text, names);
    text += "] Conditional STORE failed";
    co_return ok(std::move(text), std::move(out));
  }
  co_return ok(c.uid ? "UID STORE completed" : "STORE completed", std::move(out));
}

// ------------------------------------------------------------------------------ COPY / MOVE
rt::Task<Response> cmd_copy_move(SessionContext& ctx, bool uid, const im::SequenceSet& set, const std::string& mailbox,
                                 bool move) {
  MAIL_ASSERT(ctx.view.has_value());
  MailboxView& view = *ctx.view;
  if (move && view.read_only()) co_return no("[READ-ONLY] Mailbox is read-only");
  auto seqs = resolve_seqs(ctx, set, uid);
  if (!seqs) co_return bad("Invalid message sequence number");
  auto target = decode_mailbox_name(mailbox, ctx.utf8());
  if (!target) co_return no("[TRYCREATE] No such mailbox");
  if (seqs->empty()) co_return ok(move ? "MOVE completed (nothing to move)" : "COPY completed (nothing to copy)");
  auto uids = uids_of(view, *seqs);
  Result<store::CopyResult> r = fail(Errc::invalid);
  if (move) r = co_await ctx.store.move(ctx.user, view.folder(), uids, *target);
  else r = co_await ctx.store.copy(ctx.user, view.folder(), uids, *target);
  if (!r.ok()) {
    if (r.code() == Errc::not_found) co_return no("[TRYCREATE] No such mailbox");
    co_return no_from(r.error(), move ? "Cannot move the messages" : "Cannot copy the messages");
  }
  std::string copyuid;
  if (!r->source_uids.empty()) {
    copyuid = "[COPYUID " + std::to_string(r->uidvalidity) + " ";
    im::append_sequence_set(copyuid, r->source_uids);
    copyuid += ' ';
    // Target UIDs in source order: ascending too (the store assigns them in order).
    im::append_sequence_set(copyuid, r->target_uids);
    copyuid += "] ";
  }
  if (!move) co_return ok(copyuid + "COPY completed");
  // RFC 6851 §4.3: COPYUID in an untagged OK before the expunges.
  std::string out = "* OK " + copyuid + "Moved\r\n";
  if (view.folder() != *target) out += view.expunge_now(r->source_uids, ctx.expunge_style());
  co_return ok("MOVE completed", std::move(out));
}

// ------------------------------------------------------------------------------ EXPUNGE
namespace {
std::vector<std::uint32_t> deleted_uids(const MailboxView& view, const std::optional<std::vector<std::uint32_t>>& only) {
  std::vector<std::uint32_t> uids;
  for (std::uint32_t s = 1; s <= view.size(); ++s) {
    const auto& m = view.message(s);
    if ((m.flags.system & store::flag_deleted) == 0) continue;
    if (only && !std::binary_search(only->begin(), only->end(), m.uid)) continue;
    uids.push_back(m.uid);
  }
  return uids;
}
}  // namespace

rt::Task<Response> cmd_expunge(SessionContext& ctx, const im::Expunge& c) {
  MAIL_ASSERT(ctx.view.has_value());
  MailboxView& view = *ctx.view;
  if (view.read_only()) co_return no("[READ-ONLY] Mailbox is read-only");
  // Other sessions' changes first: a \Deleted set elsewhere counts (RFC 9051 §6.4.3).
  std::string out = co_await resync(ctx, true);
  std::optional<std::vector<std::uint32_t>> only;
  if (c.uids) {
    auto seqs = resolve_seqs(ctx, *c.uids, true);
    only = uids_of(view, seqs.value_or(std::vector<std::uint32_t>{}));
  }
  auto uids = deleted_uids(view, only);
  if (!uids.empty()) {
    auto r = co_await ctx.store.expunge(ctx.user, view.folder(), uids);
    if (!r.ok()) co_return no_from(r.error(), "Cannot expunge");
    auto removed = std::move(r).value();
    std::sort(removed.begin(), removed.end());
    out += view.expunge_now(removed, ctx.expunge_style());
  }
  co_return ok(c.uids ? "UID EXPUNGE completed" : "EXPUNGE completed", std::move(out));
}

rt::Task<Response> cmd_close(SessionContext& ctx, bool expunge) {
  MAIL_ASSERT(ctx.view.has_value());
  MailboxView& view = *ctx.view;
  if (expunge && !view.read_only()) {
    // RFC 9051 §6.4.1: CLOSE removes \Deleted messages silently.
    co_await resync(ctx, false);
    auto uids = deleted_uids(view, std::nullopt);
    if (!uids.empty()) {
      auto r = co_await ctx.store.expunge(ctx.user, view.folder(), uids);
      if (!r.ok()) co_return no_from(r.error(), "Cannot expunge");
    }
  }
  ctx.view.reset();
  Response r = ok(expunge ? "CLOSE completed" : "UNSELECT completed");
  r.next_state = im::State::authenticated;
  co_return r;
}

}  // namespace mail::node::imapsrv
