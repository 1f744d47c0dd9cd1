// MailboxView (see header): sequence numbers over the store's messages and the rules for
// when the store's changes may be told (RFC 9051 §7.4.1, §7.5.1; RFC 7162 §3.2.10).
#include "node/imap/mailbox_view.h"

#include <algorithm>

#include "core/assert.h"
#include "proto/imap/response_writer.h"
#include "store/uid_lookup.h"

namespace mail::node::imapsrv {

namespace {

std::uint32_t uid_of(const store::MessageInfo& m) { return m.uid; }

// "1:3,7" from ascending uids.
std::string uid_set(const std::vector<std::uint32_t>& uids) {
  std::string out;
  for (std::size_t i = 0; i < uids.size();) {
    std::size_t j = i;
    while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(uids[i]);
    if (j > i) {
      out += ':';
      out += std::to_string(uids[j]);
    }
    i = j + 1;
  }
  return out;
}

}  // namespace

std::string flag_words(const store::Flags& flags) {
  std::string out;
  append_flag_words(out, flags);
  return out;
}

void append_flag_words(std::string& out, const store::Flags& flags) {
  bool first = true;
  auto word = [&](std::string_view w) {
    if (!first) out += ' ';
    first = false;
    out += w;
  };
  if ((flags.system & store::flag_seen) != 0) word("\\Seen");
  if ((flags.system & store::flag_answered) != 0) word("\\Answered");
  if ((flags.system & store::flag_flagged) != 0) word("\\Flagged");
  if ((flags.system & store::flag_deleted) != 0) word("\\Deleted");
  if ((flags.system & store::flag_draft) != 0) word("\\Draft");
  for (const auto& k : flags.keywords) word(k);
}

MailboxView::MailboxView(std::string folder, store::FolderSnapshot snapshot, bool read_only)
    : folder_(std::move(folder)), read_only_(read_only), status_(snapshot.status),
      messages_(std::move(snapshot.messages)) {
  MAIL_ASSERT(std::is_sorted(messages_.begin(), messages_.end(),
                             [](const auto& a, const auto& b) { return a.uid < b.uid; }));
  status_.messages = size();
}

const store::MessageInfo& MailboxView::message(std::uint32_t seq) const {
  MAIL_ASSERT(seq >= 1 && seq <= size());
  return messages_[seq - 1];
}

std::optional<std::uint32_t> MailboxView::seq_of_uid(std::uint32_t uid) const noexcept {
  auto it = store::lower_bound_uid(messages_.begin(), messages_.end(), uid, uid_of);
  if (it == messages_.end() || it->uid != uid) return std::nullopt;
  return static_cast<std::uint32_t>(it - messages_.begin()) + 1;
}

std::uint32_t MailboxView::lower_bound_uid(std::uint32_t uid) const noexcept {
  auto it = store::lower_bound_uid(messages_.begin(), messages_.end(), uid, uid_of);
  return static_cast<std::uint32_t>(it - messages_.begin()) + 1;
}

bool MailboxView::recent(std::uint32_t seq) const {
  const std::uint32_t uid = message(seq).uid;
  return std::any_of(recent_.begin(), recent_.end(), [uid](const auto& r) { return uid >= r.first && uid < r.second; });
}

std::uint32_t MailboxView::recent_count() const noexcept {
  std::uint32_t n = 0;
  for (const auto& [from, to] : recent_) n += lower_bound_uid(to) - lower_bound_uid(from);
  return n;
}

void MailboxView::add_recent(std::uint32_t from_uid, std::uint32_t to_uid) {
  if (!recent_.empty()) from_uid = std::max(from_uid, recent_.back().second);  // claims only move up
  if (from_uid >= to_uid) return;
  if (!recent_.empty() && recent_.back().second == from_uid) {
    recent_.back().second = to_uid;
  } else {
    recent_.emplace_back(from_uid, to_uid);
  }
}

std::uint32_t MailboxView::first_unseen() const noexcept {
  for (std::uint32_t i = 0; i < size(); ++i)
    if ((messages_[i].flags.system & store::flag_seen) == 0) return i + 1;
  return 0;
}

void MailboxView::note_flags(const store::MessageInfo& changed) {
  auto seq = seq_of_uid(changed.uid);
  if (!seq) return;
  auto& m = messages_[*seq - 1];
  m.flags = changed.flags;
  m.modseq = std::max(m.modseq, changed.modseq);
  // highest_modseq stays: changes of others below `changed.modseq` (a delivery, another
  // session's STORE) are not told yet, and the next resync asks the store from there. The
  // message's own modseq keeps that resync from telling this change twice.
}

std::string MailboxView::flag_list(std::uint32_t seq, bool rev1) const {
  std::string out;
  append_flag_list(out, seq, rev1);
  return out;
}

void MailboxView::append_flag_list(std::string& out, std::uint32_t seq, bool rev1) const {
  out += '(';
  const std::size_t from = out.size();
  append_flag_words(out, message(seq).flags);
  if (rev1 && recent(seq)) {
    if (out.size() != from) out += ' ';
    out += "\\Recent";
  }
  out += ')';
}

void MailboxView::append_flags_fetch(std::string& out, std::uint32_t seq, bool rev1, bool with_modseq) const {
  const auto& m = message(seq);
  out += "* ";
  imap::append_number(out, seq);
  out += " FETCH (UID ";
  imap::append_number(out, m.uid);
  out += " FLAGS ";
  append_flag_list(out, seq, rev1);
  if (with_modseq) {
    out += " MODSEQ (";
    imap::append_number(out, m.modseq);
    out += ')';
  }
  out += ")\r\n";
}

std::string MailboxView::apply(const store::FolderChanges& changes, bool allow_expunge, ExpungeStyle style,
                               bool with_modseq, bool rev1, std::span<const std::uint32_t> told) {
  MAIL_ASSERT(std::is_sorted(told.begin(), told.end()));
  std::string out;
  std::vector<store::MessageInfo> added;
  std::vector<std::uint32_t> flagged_seqs;
  for (const auto& change : changes.changes) {
    const auto& info = change.info;
    auto seq = seq_of_uid(info.uid);
    switch (change.kind) {
      case store::FolderChange::Kind::expunged:
        if (seq && !std::binary_search(pending_expunges_.begin(), pending_expunges_.end(), info.uid)) {
          pending_expunges_.insert(std::upper_bound(pending_expunges_.begin(), pending_expunges_.end(), info.uid),
                                   info.uid);
        }
        break;
      case store::FolderChange::Kind::flags:
      case store::FolderChange::Kind::added:
        if (seq) {
          auto& m = messages_[*seq - 1];
          if (info.modseq > m.modseq) {
            bool flags_differ = m.flags != info.flags;
            m.flags = info.flags;
            m.modseq = info.modseq;
            const bool told_next = std::binary_search(told.begin(), told.end(), info.uid);
            if ((flags_differ || with_modseq) && !told_next) flagged_seqs.push_back(*seq);
          }
        } else if (info.uid > max_uid()) {
          added.push_back(info);
        }
        break;
    }
  }
  // Flag changes first (their sequence numbers are those the client knows).
  std::sort(flagged_seqs.begin(), flagged_seqs.end());
  flagged_seqs.erase(std::unique(flagged_seqs.begin(), flagged_seqs.end()), flagged_seqs.end());
  for (auto seq : flagged_seqs) append_flags_fetch(out, seq, rev1, with_modseq);
  if (allow_expunge) out += flush_expunges(style);
  if (!added.empty()) {
    std::sort(added.begin(), added.end(), [](const auto& a, const auto& b) { return a.uid < b.uid; });
    for (auto& m : added) messages_.push_back(std::move(m));
    out += "* " + std::to_string(size()) + " EXISTS\r\n";
    if (rev1) out += "* " + std::to_string(recent_count()) + " RECENT\r\n";
  }
  status_.uidnext = std::max(status_.uidnext, changes.status.uidnext);
  status_.uidvalidity = changes.status.uidvalidity != 0 ? changes.status.uidvalidity : status_.uidvalidity;
  // The highest modseq told: what the client may pass back as CHANGEDSINCE. Held-back
  // expunges are not told yet, so it must not move past them (RFC 7162 §3.1.2.1).
  if (pending_expunges_.empty()) status_.highestmodseq = std::max(status_.highestmodseq, changes.status.highestmodseq);
  status_.messages = size();
  return out;
}

std::string MailboxView::flush_expunges(ExpungeStyle style) {
  std::string out;
  if (pending_expunges_.empty()) return out;
  auto uids = std::move(pending_expunges_);
  pending_expunges_.clear();
  remove_uids(uids, style, out);
  return out;
}

std::string MailboxView::expunge_now(const std::vector<std::uint32_t>& uids, ExpungeStyle style) {
  std::string out;
  remove_uids(uids, style, out);
  // Our own expunges may also be among the held-back ones.
  std::erase_if(pending_expunges_, [&](std::uint32_t u) { return std::binary_search(uids.begin(), uids.end(), u); });
  return out;
}

void MailboxView::remove_uids(const std::vector<std::uint32_t>& uids, ExpungeStyle style, std::string& out) {
  MAIL_ASSERT(std::is_sorted(uids.begin(), uids.end()));
  std::vector<std::uint32_t> removed;  // ascending uids present in the view
  for (auto uid : uids)
    if (seq_of_uid(uid)) removed.push_back(uid);
  if (removed.empty()) return;
  if (style == ExpungeStyle::expunge) {
    // Highest sequence number first: each EXPUNGE renumbers only what follows it, so every
    // number sent is the one the client has at that moment (RFC 9051 §7.5.1).
    for (auto it = removed.rbegin(); it != removed.rend(); ++it)
      out += "* " + std::to_string(*seq_of_uid(*it)) + " EXPUNGE\r\n";
  } else {
    out += "* VANISHED " + uid_set(removed) + "\r\n";
  }
  // One compaction pass (a 10,000-message EXPUNGE must not be quadratic).
  std::erase_if(messages_, [&](const store::MessageInfo& m) {
    return std::binary_search(removed.begin(), removed.end(), m.uid);
  });
  status_.messages = size();
}

}  // namespace mail::node::imapsrv
