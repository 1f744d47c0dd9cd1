// The POP3 maildrop over store::MailStore (see header). Must not: delete anything but the
// uids given, or name a backend type.
#include "node/pop3/maildrop.h"

#include <cstdio>

namespace mail::node::pop3srv {

std::string uidl(std::uint32_t uidvalidity, std::uint32_t uid) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%08x%08x", uidvalidity, uid);
  return buf;
}

rt::Task<Result<std::vector<pop3::MaildropEntry>>> open_maildrop(store::MailStore& store, std::string user) {
  Status made = co_await store.ensure_mailbox(user);
  if (!made.ok()) co_return fail(made.error());
  std::string inbox(kMaildropFolder);
  auto snapshot = co_await store.open_folder(std::move(user), std::move(inbox));
  if (!snapshot.ok()) co_return fail(snapshot.error());
  std::vector<pop3::MaildropEntry> drop;
  drop.reserve(snapshot->messages.size());
  for (const auto& m : snapshot->messages)
    drop.push_back(pop3::MaildropEntry{m.uid, m.size, uidl(snapshot->status.uidvalidity, m.uid)});
  co_return drop;
}

rt::Task<Result<std::size_t>> remove_marked(store::MailStore& store, std::string user, std::vector<std::uint32_t> uids) {
  if (uids.empty()) co_return std::size_t{0};
  std::string inbox(kMaildropFolder);
  auto removed = co_await store.expunge(std::move(user), std::move(inbox), std::move(uids));
  if (!removed.ok()) co_return fail(removed.error());
  co_return removed->size();
}

}  // namespace mail::node::pop3srv
