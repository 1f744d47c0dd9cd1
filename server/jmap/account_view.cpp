// AccountView (see header). Must not: give two folders one id, or lose a copy of an Email.
#include "jmap/account_view.h"

#include <algorithm>
#include <ctime>

#include "core/ascii.h"
#include "jmap/ids.h"
#include "jmap/threads.h"
#include <map>

namespace mail::jmap {
namespace {

std::uint64_t fnv1a(std::uint64_t h, std::string_view s) {
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  h ^= 0xff;  // a separator, so ("ab","c") and ("a","bc") differ
  h *= 1099511628211ull;
  return h;
}

constexpr struct {
  store::SystemFlag flag;
  std::string_view keyword;
} kFlagKeywords[] = {
    {store::flag_seen, "$seen"},
    {store::flag_answered, "$answered"},
    {store::flag_flagged, "$flagged"},
    {store::flag_draft, "$draft"},
};

}  // namespace

std::string role_of(const store::FolderInfo& folder) {
  if (iequals(folder.name, "INBOX")) return "inbox";
  switch (folder.special_use) {
    case store::SpecialUse::drafts: return "drafts";
    case store::SpecialUse::sent: return "sent";
    case store::SpecialUse::trash: return "trash";
    case store::SpecialUse::junk: return "junk";
    case store::SpecialUse::archive: return "archive";
    case store::SpecialUse::all: return "all";
    case store::SpecialUse::flagged: return "flagged";
    case store::SpecialUse::none: break;
  }
  return {};
}

std::optional<store::SpecialUse> special_use_of_role(std::string_view role) {
  if (role == "drafts") return store::SpecialUse::drafts;
  if (role == "sent") return store::SpecialUse::sent;
  if (role == "trash") return store::SpecialUse::trash;
  if (role == "junk") return store::SpecialUse::junk;
  if (role == "archive") return store::SpecialUse::archive;
  if (role == "all") return store::SpecialUse::all;
  if (role == "flagged") return store::SpecialUse::flagged;
  return std::nullopt;
}

std::vector<std::string> keywords_of(const store::Flags& flags) {
  std::vector<std::string> out;
  for (const auto& fk : kFlagKeywords) {
    if ((flags.system & fk.flag) != 0) out.emplace_back(fk.keyword);
  }
  for (const auto& k : flags.keywords) out.push_back(ascii_lower(k));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

store::Flags flags_of(const std::vector<std::string>& keywords, std::uint8_t keep_deleted) {
  store::Flags flags;
  flags.system = keep_deleted & store::flag_deleted;
  for (const auto& k : keywords) {
    const std::string lower = ascii_lower(k);
    bool system = false;
    for (const auto& fk : kFlagKeywords) {
      if (lower == fk.keyword) {
        flags.system |= fk.flag;
        system = true;
      }
    }
    if (!system) flags.keywords.push_back(lower);
  }
  std::sort(flags.keywords.begin(), flags.keywords.end());
  flags.keywords.erase(std::unique(flags.keywords.begin(), flags.keywords.end()), flags.keywords.end());
  return flags;
}

std::optional<std::int64_t> parse_utc_date(std::string_view text) {
  // RFC 8620 §1.4 UTCDate: "YYYY-MM-DDTHH:MM:SSZ" (fractions allowed, ignored; "Z" required).
  if (text.size() < 20 || text.back() != 'Z') return std::nullopt;
  std::tm tm{};
  auto num = [&](std::size_t at, std::size_t n, int& v) {
    v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      v = v * 10 + (text[i] - '0');
    }
    return true;
  };
  int year = 0, mon = 0, day = 0, h = 0, m = 0, s = 0;
  if (!num(0, 4, year) || text[4] != '-' || !num(5, 2, mon) || text[7] != '-' || !num(8, 2, day) ||
      (text[10] != 'T' && text[10] != 't') || !num(11, 2, h) || text[13] != ':' || !num(14, 2, m) ||
      text[16] != ':' || !num(17, 2, s)) {
    return std::nullopt;
  }
  if (text.size() > 20) {
    if (text[19] != '.') return std::nullopt;
    for (std::size_t i = 20; i + 1 < text.size(); ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
    }
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || h > 23 || m > 59 || s > 60) return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = s;
  return static_cast<std::int64_t>(timegm(&tm));
}

rt::Task<Result<AccountView>> AccountView::load(store::MailStore& store, std::string user, bool with_messages,
                                                ThreadRoots* roots) {
  auto folders = co_await store.list_folders(user);
  if (!folders) co_return fail(folders.error());
  AccountView view;
  std::uint64_t hash = 1469598103934665603ull;
  std::unordered_map<std::string, std::string> id_of_name;
  for (auto& folder : *folders) {
    if (!folder.selectable) continue;
    auto status = co_await store.folder_status(user, folder.name);
    if (!status) continue;  // deleted meanwhile
    MailboxEntry entry;
    entry.status = *status;
    entry.id = mailbox_id(status->uidvalidity);
    entry.role = role_of(folder);
    const auto slash = folder.name.rfind(store::kFolderDelimiter);
    entry.name = slash == std::string::npos ? folder.name : folder.name.substr(slash + 1);
    entry.info = std::move(folder);
    entry.threads = status->messages;  // until the messages are read (below)
    entry.unread_threads = status->unseen;
    id_of_name[entry.info.name] = entry.id;
    view.highest_modseq_ = std::max(view.highest_modseq_, status->highestmodseq);
    hash = fnv1a(hash, entry.info.name);
    hash = fnv1a(hash, entry.id);
    hash = fnv1a(hash, entry.role);
    hash = fnv1a(hash, entry.info.subscribed ? "s" : "-");
    view.mailboxes.push_back(std::move(entry));
  }
  for (auto& m : view.mailboxes) {
    const auto slash = m.info.name.rfind(store::kFolderDelimiter);
    if (slash == std::string::npos) continue;
    if (auto parent = id_of_name.find(m.info.name.substr(0, slash)); parent != id_of_name.end()) {
      m.parent_id = parent->second;
    }
  }
  view.folder_set_hash_ = hash;
  if (!with_messages) co_return view;
  view.has_messages_ = true;
  for (std::size_t i = 0; i < view.mailboxes.size(); ++i) {
    auto snapshot = co_await store.open_folder(user, view.mailboxes[i].info.name);
    if (!snapshot) continue;
    view.mailboxes[i].status = snapshot->status;
    view.highest_modseq_ = std::max(view.highest_modseq_, snapshot->status.highestmodseq);
    for (auto& info : snapshot->messages) {
      auto [it, fresh] = view.by_content_.try_emplace(info.content_id, view.emails.size());
      if (fresh) view.emails.push_back(EmailEntry{info.content_id, {}, {}});
      view.emails[it->second].copies.push_back(Copy{i, std::move(info)});
    }
  }
  view.newest_first_.resize(view.emails.size());
  for (std::size_t e = 0; e < view.emails.size(); ++e) view.newest_first_[e] = e;
  std::sort(view.newest_first_.begin(), view.newest_first_.end(), [&view](std::size_t a, std::size_t b) {
    const auto& ia = view.emails[a].first().info;
    const auto& ib = view.emails[b].first().info;
    return ia.internal_date != ib.internal_date ? ia.internal_date > ib.internal_date : ia.uid > ib.uid;
  });
  // Threads: the roots not known yet come from the header blocks (once per message).
  ThreadRoots local;
  if (roots == nullptr) roots = &local;
  std::map<std::size_t, std::vector<std::size_t>> unknown;  // mailbox -> emails
  for (std::size_t e = 0; e < view.emails.size(); ++e) {
    if (!roots->contains(view.emails[e].content_id)) unknown[view.emails[e].first().mailbox].push_back(e);
  }
  for (auto& [mailbox, list] : unknown) {
    std::vector<std::uint32_t> uids;
    for (auto e : list) uids.push_back(view.emails[e].first().info.uid);
    auto headers = co_await store.read_headers(user, view.mailboxes[mailbox].info.name, std::move(uids));
    for (std::size_t k = 0; k < list.size(); ++k) {
      const std::string root = headers && k < headers->size() ? thread_root((*headers)[k]) : std::string();
      (*roots)[view.emails[list[k]].content_id] = root;
    }
  }
  if (roots->size() > 2 * view.emails.size() + 1024) {  // forget the roots of messages long gone
    ThreadRoots kept;
    for (const auto& e : view.emails) kept[e.content_id] = (*roots)[e.content_id];
    *roots = std::move(kept);
  }
  for (std::size_t e = 0; e < view.emails.size(); ++e) {
    auto& entry = view.emails[e];
    entry.thread_id = thread_id_of((*roots)[entry.content_id], entry.content_id);
    view.threads_[entry.thread_id].push_back(e);
  }
  // Per mailbox: the threads with an Email in it, and with an unread one in it.
  std::vector<std::unordered_map<std::string_view, bool>> seen_threads(view.mailboxes.size());
  for (const auto& entry : view.emails) {
    for (const auto& c : entry.copies) {
      bool& unread = seen_threads[c.mailbox][entry.thread_id];
      unread = unread || (c.info.flags.system & store::flag_seen) == 0;
    }
  }
  for (std::size_t m = 0; m < view.mailboxes.size(); ++m) {
    view.mailboxes[m].threads = static_cast<std::uint32_t>(seen_threads[m].size());
    view.mailboxes[m].unread_threads = 0;
    for (const auto& [id, unread] : seen_threads[m]) view.mailboxes[m].unread_threads += unread ? 1 : 0;
  }
  for (auto& [id, members] : view.threads_) {
    std::stable_sort(members.begin(), members.end(), [&view](std::size_t a, std::size_t b) {
      const auto& ia = view.emails[a].first().info;
      const auto& ib = view.emails[b].first().info;
      return ia.internal_date != ib.internal_date ? ia.internal_date < ib.internal_date : ia.uid < ib.uid;
    });
  }
  co_return view;
}

const std::vector<std::size_t>* AccountView::thread(std::string_view thread_id) const {
  const auto it = threads_.find(std::string(thread_id));
  return it == threads_.end() ? nullptr : &it->second;
}

const MailboxEntry* AccountView::mailbox(std::string_view id) const {
  const auto i = mailbox_index(id);
  return i ? &mailboxes[*i] : nullptr;
}

std::optional<std::size_t> AccountView::mailbox_index(std::string_view id) const {
  for (std::size_t i = 0; i < mailboxes.size(); ++i) {
    if (mailboxes[i].id == id) return i;
  }
  return std::nullopt;
}

const EmailEntry* AccountView::email(std::string_view id) const {
  const auto content = parse_email_id(id);
  if (!content) return nullptr;
  const auto it = by_content_.find(*content);
  return it == by_content_.end() ? nullptr : &emails[it->second];
}

std::string AccountView::mailbox_state() const {
  static constexpr char hex[] = "0123456789abcdef";
  std::string s = std::to_string(highest_modseq_) + "-";
  for (int shift = 60; shift >= 0; shift -= 4) s += hex[(folder_set_hash_ >> shift) & 0xf];
  return s;
}

}  // namespace mail::jmap
