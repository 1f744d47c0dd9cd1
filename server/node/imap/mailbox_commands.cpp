// Mailbox-level IMAP commands (see commands.h): SELECT/EXAMINE (RFC 9051 §6.3.2-3,
// RFC 7162 CONDSTORE/QRESYNC), CREATE (RFC 6154 USE), DELETE, RENAME, SUBSCRIBE,
// UNSUBSCRIBE, LIST (RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154, RFC 3348),
// LSUB, STATUS (RFC 8438 SIZE, RFC 7162 HIGHESTMODSEQ), APPEND (RFC 4315 APPENDUID,
// RFC 7889 APPENDLIMIT) and QUOTA (RFC 9208).
#include <algorithm>
#include <set>

#include "core/assert.h"
#include "core/ascii.h"
#include "proto/imap/mutf7.h"
#include "node/imap/commands.h"
#include "node/imap/names.h"
#include "proto/imap/parser.h"
#include "proto/imap/response_writer.h"

namespace mail::node::imapsrv {

namespace im = mail::imap;

namespace {

std::optional<store::SpecialUse> parse_special_use(std::string_view attr) {
  using store::SpecialUse;
  for (auto use : {SpecialUse::drafts, SpecialUse::sent, SpecialUse::trash, SpecialUse::junk, SpecialUse::archive,
                   SpecialUse::all, SpecialUse::flagged})
    if (iequals(store::special_use_attribute(use), attr)) return use;
  return std::nullopt;
}

void append_mailbox(std::string& out, const SessionContext& ctx, std::string_view name) {
  im::append_astring(out, encode_mailbox_name(name, ctx.utf8()), ctx.utf8());
}

std::string list_line(const SessionContext& ctx, std::string_view verb, const store::FolderInfo& f, bool subscribed) {
  std::string out = "* ";
  out += verb;
  out += " (";
  std::string attrs;
  auto attr = [&attrs](std::string_view a) {
    if (!attrs.empty()) attrs += ' ';
    attrs += a;
  };
  if (!f.selectable) attr("\\Noselect");
  attr(f.has_children ? "\\HasChildren" : "\\HasNoChildren");
  if (auto u = store::special_use_attribute(f.special_use); !u.empty()) attr(u);
  if (subscribed) attr("\\Subscribed");
  out += attrs;
  out += ") \"/\" ";
  append_mailbox(out, ctx, f.name);
  out += "\r\n";
  return out;
}

std::uint32_t append_limit_of(const SessionContext& ctx) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(ctx.config.append_limit, 0xffffffffu));
}

void append_status_items(std::string& out, const SessionContext& ctx, const std::vector<im::StatusItem>& items,
                         const store::FolderStatus& st) {
  bool first = true;
  auto item = [&](std::string_view name, std::uint64_t value) {
    if (!first) out += ' ';
    first = false;
    out += name;
    out += ' ';
    out += std::to_string(value);
  };
  for (auto i : items) {
    switch (i) {
      case im::StatusItem::messages: item("MESSAGES", st.messages); break;
      case im::StatusItem::recent: item("RECENT", st.recent); break;  // RFC 3501 §6.3.10: not claimed
      case im::StatusItem::uidnext: item("UIDNEXT", st.uidnext); break;
      case im::StatusItem::uidvalidity: item("UIDVALIDITY", st.uidvalidity); break;
      case im::StatusItem::unseen: item("UNSEEN", st.unseen); break;
      case im::StatusItem::deleted: item("DELETED", st.deleted); break;
      case im::StatusItem::size: item("SIZE", st.size); break;
      case im::StatusItem::appendlimit: item("APPENDLIMIT", append_limit_of(ctx)); break;
      case im::StatusItem::highestmodseq: item("HIGHESTMODSEQ", st.highestmodseq); break;
    }
  }
}

std::string status_line(const SessionContext& ctx, std::string_view name, const std::vector<im::StatusItem>& items,
                        const store::FolderStatus& st) {
  std::string out = "* STATUS ";
  append_mailbox(out, ctx, name);
  out += " (";
  append_status_items(out, ctx, items, st);
  out += ")\r\n";
  return out;
}

// System flags and keywords from the wire ("\Seen", "$Junk"); \Recent is not settable.
std::optional<store::Flags> parse_flags(const std::vector<std::string>& words) {
  store::Flags f;
  static constexpr std::pair<std::string_view, std::uint8_t> kSystem[] = {
      {"\\Seen", store::flag_seen}, {"\\Answered", store::flag_answered}, {"\\Flagged", store::flag_flagged},
      {"\\Deleted", store::flag_deleted}, {"\\Draft", store::flag_draft}};
  for (const auto& w : words) {
    if (w.empty()) return std::nullopt;
    if (w[0] == '\\') {
      bool known = false;
      for (const auto& [name, bit] : kSystem) {
        if (iequals(name, w)) {
          f.system |= bit;
          known = true;
        }
      }
      if (!known && !iequals(w, "\\Recent")) return std::nullopt;
      continue;
    }
    if (std::none_of(f.keywords.begin(), f.keywords.end(), [&](const std::string& k) { return iequals(k, w); }))
      f.keywords.push_back(w);
  }
  std::sort(f.keywords.begin(), f.keywords.end());
  return f;
}

}  // namespace

std::optional<store::Flags> flags_from_wire(const std::vector<std::string>& words) { return parse_flags(words); }

// ------------------------------------------------------------------------------ SELECT
rt::Task<Response> cmd_select(SessionContext& ctx, const im::Select& c) {
  std::string untagged;
  if (ctx.view) {
    ctx.view.reset();
    untagged += "* OK [CLOSED] Previous mailbox closed\r\n";  // RFC 9051 §6.3.2, RFC 7162 §3.2.11
  }
  Response failed = no("[NONEXISTENT] Mailbox does not exist", untagged);
  failed.next_state = im::State::authenticated;
  auto name = decode_mailbox_name(c.mailbox, ctx.utf8());
  if (!name) co_return failed;
  if (c.qresync && !ctx.session.enabled().qresync) {
    Response r = bad("QRESYNC must be enabled first (RFC 7162 3.2.5)");
    r.next_state = im::State::authenticated;
    co_return r;
  }
  if (c.condstore) ctx.session.enable_condstore();
  auto snap = co_await ctx.store.open_folder(ctx.user, *name);
  if (!snap.ok()) {
    if (snap.code() != Errc::not_found) failed = no_from(snap.error(), "Cannot open the mailbox");
    failed.untagged = untagged;
    failed.next_state = im::State::authenticated;
    co_return failed;
  }
  auto folders = co_await ctx.store.list_folders(ctx.user);
  store::FolderInfo info;
  info.name = *name;
  if (folders.ok()) {
    for (const auto& f : folders.value())
      if (f.name == *name) info = f;
  }
  if (!info.selectable) {
    failed.text = "[CANNOT] Mailbox is not selectable";
    co_return failed;
  }
  ctx.view.emplace(*name, std::move(snap).value(), c.examine);
  MailboxView& view = *ctx.view;
  const store::FolderStatus& st = view.status();
  if (ctx.rev1()) {
    // RFC 3501 §2.3.2: this session is the first to see what nobody SELECTed since it
    // arrived; EXAMINE shows the same messages but leaves them recent for the next SELECT.
    auto first = co_await ctx.store.claim_recent(ctx.user, *name, st.uidnext, !c.examine);
    if (first.ok()) view.add_recent(*first, st.uidnext);
  }
  // Keywords in use, for FLAGS and PERMANENTFLAGS.
  std::set<std::string> keywords;
  for (std::uint32_t s = 1; s <= view.size(); ++s)
    for (const auto& k : view.message(s).flags.keywords) keywords.insert(k);
  std::string flags = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";
  for (const auto& k : keywords) flags += " " + k;
  untagged += "* " + std::to_string(view.size()) + " EXISTS\r\n";
  if (ctx.rev1()) untagged += "* " + std::to_string(view.recent_count()) + " RECENT\r\n";
  untagged += "* FLAGS (" + flags + ")\r\n";
  untagged += c.examine ? std::string("* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n")
                        : "* OK [PERMANENTFLAGS (" + flags + " \\*)] Flags permitted\r\n";
  untagged += "* OK [UIDVALIDITY " + std::to_string(st.uidvalidity) + "] UIDs valid\r\n";
  untagged += "* OK [UIDNEXT " + std::to_string(st.uidnext) + "] Predicted next UID\r\n";
  untagged += "* OK [HIGHESTMODSEQ " + std::to_string(st.highestmodseq) + "] Highest\r\n";
  if (ctx.rev1()) {
    if (auto u = view.first_unseen(); u != 0) untagged += "* OK [UNSEEN " + std::to_string(u) + "] First unseen\r\n";
  }
  untagged += list_line(ctx, "LIST", info, false);
  // RFC 7162 §3.2.5.1: QRESYNC parameters with a matching UIDVALIDITY get what changed.
  if (c.qresync && c.qresync->uidvalidity == st.uidvalidity) {
    const std::uint64_t since = c.qresync->modseq;
    const auto known = c.qresync->known_uids ? im::normalize(*c.qresync->known_uids, 0xffffffffu)
                                             : std::vector<im::UidRange>{im::UidRange{1, 0xffffffffu}};
    const auto is_known = [&known](std::uint32_t u) {
      return std::any_of(known.begin(), known.end(), [u](const im::UidRange& r) { return u >= r.lo && u <= r.hi; });
    };
    std::vector<im::UidRange> vanished;
    auto changes = co_await ctx.store.changes_since(ctx.user, *name, since);
    if (changes.ok()) {
      std::vector<std::uint32_t> gone;
      for (const auto& ch : changes.value().changes)
        if (ch.kind == store::FolderChange::Kind::expunged && is_known(ch.info.uid)) gone.push_back(ch.info.uid);
      std::sort(gone.begin(), gone.end());
      for (auto u : gone) vanished.push_back(im::UidRange{u, u});
    } else {
      // §3.2.5.2: the log no longer reaches back to `since` (expunge records pruned): every
      // known UID that is gone is reported, a superset. Matching (seq, uid) pairs prove
      // nothing below their uid was expunged.
      std::uint32_t above = 0;
      if (c.qresync->seq_match) {
        const auto seqs = im::normalize(c.qresync->seq_match->first, 0);
        const auto uids = im::normalize(c.qresync->seq_match->second, 0);
        std::vector<std::uint32_t> s_list;
        std::vector<std::uint32_t> u_list;
        for (const auto& r : seqs)
          for (std::uint64_t x = r.lo; x <= r.hi && s_list.size() < 100'000; ++x) s_list.push_back(static_cast<std::uint32_t>(x));
        for (const auto& r : uids)
          for (std::uint64_t x = r.lo; x <= r.hi && u_list.size() < 100'000; ++x) u_list.push_back(static_cast<std::uint32_t>(x));
        for (std::size_t i = 0; i < s_list.size() && i < u_list.size(); ++i) {
          auto seq = view.seq_of_uid(u_list[i]);
          if (seq && *seq == s_list[i]) above = std::max(above, u_list[i]);
        }
      }
      vanished = absent_uids(view, known, above);
    }
    if (!vanished.empty()) {
      untagged += "* VANISHED (EARLIER) ";
      im::append_ranges(untagged, vanished);
      untagged += "\r\n";
    }
    // Flag changes (and messages new to the client) come from the messages themselves:
    // every message with MODSEQ > since, whether or not the log still reaches back.
    for (std::uint32_t seq = 1; seq <= view.size(); ++seq) {
      if (view.message(seq).modseq <= since) continue;
      view.append_flags_fetch(untagged, seq, ctx.rev1(), /*with_modseq=*/true);
    }
  }
  Response r = ok(c.examine ? "[READ-ONLY] EXAMINE completed" : "[READ-WRITE] SELECT completed", std::move(untagged));
  r.next_state = im::State::selected;
  co_return r;
}

// ------------------------------------------------------------------------------ CREATE ...
rt::Task<Response> cmd_create(SessionContext& ctx, const im::Create& c) {
  std::string_view wire = c.mailbox;
  while (!wire.empty() && wire.back() == store::kFolderDelimiter) wire.remove_suffix(1);  // RFC 9051 §6.3.4
  auto name = decode_mailbox_name(wire, ctx.utf8());
  if (!name) co_return no("[CANNOT] Invalid mailbox name");
  if (*name == "INBOX") co_return no("[ALREADYEXISTS] INBOX always exists");
  store::SpecialUse use = store::SpecialUse::none;
  for (const auto& u : c.use) {
    auto parsed = parse_special_use(u);
    if (!parsed) co_return no("[USEATTR] Unsupported special-use attribute");  // RFC 6154 §3
    use = *parsed;
  }
  auto st = co_await ctx.store.create_folder(ctx.user, *name, use);
  if (!st.ok()) co_return no_from(st.error(), st.code() == Errc::exists ? "Mailbox already exists" : "Cannot create the mailbox");
  co_return ok("CREATE completed");
}

rt::Task<Response> cmd_delete(SessionContext& ctx, const im::Delete& c) {
  auto name = decode_mailbox_name(c.mailbox, ctx.utf8());
  if (!name) co_return no("[NONEXISTENT] No such mailbox");
  if (*name == "INBOX") co_return no("[CANNOT] INBOX cannot be deleted");
  if (ctx.view && ctx.view->folder() == *name) ctx.view.reset();  // the selected mailbox goes away
  auto st = co_await ctx.store.delete_folder(ctx.user, *name);
  if (!st.ok()) co_return no_from(st.error(), "Cannot delete the mailbox");
  co_return ok("DELETE completed");
}

rt::Task<Response> cmd_rename(SessionContext& ctx, const im::Rename& c) {
  auto from = decode_mailbox_name(c.from, ctx.utf8());
  auto to = decode_mailbox_name(c.to, ctx.utf8());
  if (!from) co_return no("[NONEXISTENT] No such mailbox");
  if (!to) co_return no("[CANNOT] Invalid mailbox name");
  if (*to == "INBOX") co_return no("[ALREADYEXISTS] INBOX always exists");
  auto st = co_await ctx.store.rename_folder(ctx.user, *from, *to);
  if (!st.ok()) co_return no_from(st.error(), st.code() == Errc::exists ? "Target mailbox exists" : "Cannot rename the mailbox");
  co_return ok("RENAME completed");
}

rt::Task<Response> cmd_subscribe(SessionContext& ctx, const std::string& mailbox, bool subscribe) {
  auto name = decode_mailbox_name(mailbox, ctx.utf8());
  if (!name) co_return no("[CANNOT] Invalid mailbox name");
  auto st = co_await ctx.store.set_subscribed(ctx.user, *name, subscribe);
  if (!st.ok()) co_return no_from(st.error(), "Cannot change the subscription");
  co_return ok(subscribe ? "SUBSCRIBE completed" : "UNSUBSCRIBE completed");
}

// ------------------------------------------------------------------------------ LIST
rt::Task<Response> cmd_list(SessionContext& ctx, const im::List& c) {
  // RFC 9051 §6.3.9: an empty pattern asks for the delimiter and the root.
  if (c.patterns.size() == 1 && c.patterns[0].empty() && !c.select_subscribed) {
    co_return ok("LIST completed", "* LIST (\\Noselect) \"/\" \"\"\r\n");
  }
  std::vector<std::string> patterns;
  for (const auto& p : c.patterns) {
    std::string full = c.reference + p;
    auto decoded = ctx.utf8() ? std::optional<std::string>(full) : mail::imap::mutf7_decode(full, true);
    if (decoded) patterns.push_back(canonical_inbox_prefix(*decoded));
  }
  auto folders = co_await ctx.store.list_folders(ctx.user);
  if (!folders.ok()) co_return no_from(folders.error(), "Cannot list mailboxes");
  auto subs = co_await ctx.store.list_subscriptions(ctx.user);
  std::set<std::string> subscribed;
  if (subs.ok()) subscribed.insert(subs.value().begin(), subs.value().end());
  auto matches = [&](std::string_view name) {
    return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) { return list_match(p, name); });
  };
  const bool show_subscribed = c.return_subscribed || c.select_subscribed;
  // RFC 5258 §3.1, §3.5: with (SUBSCRIBED RECURSIVEMATCH), a matching name with a
  // subscribed descendant is listed too, with CHILDINFO ("SUBSCRIBED").
  std::set<std::string> subscribed_below;
  if (c.select_subscribed && c.select_recursivematch) {
    for (const auto& sname : subscribed) {
      for (auto slash = sname.find('/'); slash != std::string::npos; slash = sname.find('/', slash + 1))
        subscribed_below.insert(sname.substr(0, slash));
    }
  }
  const auto with_childinfo = [](std::string line) {
    MAIL_ASSERT(line.size() >= 2);
    line.insert(line.size() - 2, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
    return line;
  };
  std::string out;
  std::set<std::string> listed;
  for (const auto& f : folders.value()) {
    if (!matches(f.name)) continue;
    const bool is_sub = subscribed.count(f.name) != 0;
    const bool childinfo = subscribed_below.count(f.name) != 0;
    if (c.select_subscribed && !is_sub && !childinfo) continue;
    if (c.select_special_use && f.special_use == store::SpecialUse::none) continue;
    std::string line = list_line(ctx, "LIST", f, show_subscribed && is_sub);
    out += childinfo ? with_childinfo(std::move(line)) : line;
    listed.insert(f.name);
    if (c.return_status && f.selectable) {
      auto st = co_await ctx.store.folder_status(ctx.user, f.name);
      if (st.ok()) out += status_line(ctx, f.name, *c.return_status, st.value());
    }
  }
  // RFC 5258 §3.1: subscribed names that do not exist are listed \NonExistent.
  if (c.select_subscribed) {
    for (const auto& s : subscribed) {
      if (listed.count(s) != 0 || !matches(s)) continue;
      std::string line = "* LIST (\\NonExistent \\Subscribed) \"/\" ";
      append_mailbox(line, ctx, s);
      line += "\r\n";
      out += subscribed_below.count(s) != 0 ? with_childinfo(std::move(line)) : line;
      listed.insert(s);
    }
    for (const auto& parent : subscribed_below) {  // a parent that does not exist
      if (listed.count(parent) != 0 || !matches(parent)) continue;
      std::string line = "* LIST (\\NonExistent) \"/\" ";
      append_mailbox(line, ctx, parent);
      line += "\r\n";
      out += with_childinfo(std::move(line));
    }
  }
  co_return ok("LIST completed", std::move(out));
}

rt::Task<Response> cmd_lsub(SessionContext& ctx, const im::Lsub& c) {
  std::string full = c.reference + c.pattern;
  auto decoded = ctx.utf8() ? std::optional<std::string>(full) : mail::imap::mutf7_decode(full, true);
  std::string out;
  auto subs = co_await ctx.store.list_subscriptions(ctx.user);
  auto folders = co_await ctx.store.list_folders(ctx.user);
  if (decoded && subs.ok()) {
    const std::string pattern = canonical_inbox_prefix(*decoded);
    for (const auto& s : subs.value()) {
      if (!list_match(pattern, s)) continue;
      bool exists = folders.ok() && std::any_of(folders.value().begin(), folders.value().end(),
                                                [&](const store::FolderInfo& f) { return f.name == s; });
      out += exists ? "* LSUB () \"/\" " : "* LSUB (\\Noselect) \"/\" ";
      append_mailbox(out, ctx, s);
      out += "\r\n";
    }
  }
  co_return ok("LSUB completed", std::move(out));
}

// ------------------------------------------------------------------------------ STATUS
rt::Task<Response> cmd_status(SessionContext& ctx, const im::Status& c) {
  auto name = decode_mailbox_name(c.mailbox, ctx.utf8());
  if (!name) co_return no("[NONEXISTENT] No such mailbox");
  auto st = co_await ctx.store.folder_status(ctx.user, *name);
  if (!st.ok()) co_return no_from(st.error(), "Cannot get the status");
  for (auto i : c.items)
    if (i == im::StatusItem::highestmodseq) ctx.session.enable_condstore();  // RFC 7162 §3.1
  co_return ok("STATUS completed", status_line(ctx, *name, c.items, st.value()));
}

// ------------------------------------------------------------------------------ APPEND
rt::Task<Response> cmd_append(SessionContext& ctx, im::Append& c) {
  auto name = decode_mailbox_name(c.mailbox, ctx.utf8());
  if (!name) co_return no("[TRYCREATE] No such mailbox");
  if (c.message.size() > ctx.config.append_limit) co_return no("[TOOBIG] Message over the APPENDLIMIT");
  if (c.message.empty()) co_return no("[CANNOT] Empty message");
  auto flags = parse_flags(c.flags);
  if (!flags) co_return bad("Invalid flag in APPEND");
  std::int64_t date = c.date ? im::to_unix(*c.date) : 0;
  auto r = co_await ctx.store.append(ctx.user, *name, std::move(c.message), std::move(*flags), date);
  if (!r.ok()) {
    if (r.code() == Errc::not_found) co_return no("[TRYCREATE] No such mailbox");
    co_return no_from(r.error(), "Cannot append the message");
  }
  co_return ok("[APPENDUID " + std::to_string(r->uidvalidity) + " " + std::to_string(r->uid) + "] APPEND completed");
}

// ------------------------------------------------------------------------------ QUOTA
rt::Task<Response> cmd_quota(SessionContext& ctx, const im::CommandBody& c) {
  if (std::holds_alternative<im::SetQuota>(c)) co_return no("[NOPERM] Quotas are set by the administrator");
  const bool limited = ctx.config.quota_bytes != 0 || ctx.config.quota_messages != 0;
  std::string out;
  if (auto* root = std::get_if<im::GetQuotaRoot>(&c)) {
    auto name = decode_mailbox_name(root->mailbox, ctx.utf8());
    if (!name) co_return no("[NONEXISTENT] No such mailbox");
    // RFC 9208 §4.3.2: a mailbox that does not exist has no quota roots: NO, not OK.
    auto exists = co_await ctx.store.folder_status(ctx.user, *name);
    if (!exists.ok()) co_return no_from(exists.error(), "No such mailbox");
    out += "* QUOTAROOT ";
    append_mailbox(out, ctx, *name);
    out += limited ? " \"\"\r\n" : "\r\n";
  } else if (auto* q = std::get_if<im::GetQuota>(&c); q && (!q->root.empty() || !limited)) {
    co_return no("[NONEXISTENT] No such quota root");
  }
  if (limited) {
    auto usage = co_await ctx.store.usage(ctx.user);
    if (!usage.ok()) co_return no_from(usage.error(), "Cannot compute the usage");
    out += "* QUOTA \"\" (";
    if (ctx.config.quota_bytes != 0) {
      out += "STORAGE " + std::to_string((usage->bytes_used + 1023) / 1024) + " " +
             std::to_string(ctx.config.quota_bytes / 1024);
    }
    if (ctx.config.quota_messages != 0) {
      if (ctx.config.quota_bytes != 0) out += ' ';
      out += "MESSAGE " + std::to_string(usage->messages) + " " + std::to_string(ctx.config.quota_messages);
    }
    out += ")\r\n";
  }
  co_return ok(std::holds_alternative<im::GetQuotaRoot>(c) ? "GETQUOTAROOT completed" : "GETQUOTA completed",
               std::move(out));
}

}  // namespace mail::node::imapsrv
