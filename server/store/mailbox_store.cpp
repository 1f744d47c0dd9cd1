// MailboxStore (see mailbox_store.h): what every store shares — the mailbox user name rule
// and delivery of a message in one piece. No I/O of its own.
#include "store/mailbox_store.h"

#include <utility>

#include "store/maildir_name.h"

namespace mail::store {

bool is_valid_mailbox_user(std::string_view user) noexcept { return is_plain_file_name(user); }

rt::Task<Result<std::string>> MailboxStore::deliver(std::vector<std::string> users, std::string content) {
  std::vector<std::string> parts;
  parts.push_back(std::move(content));
  Result<std::string> stored = co_await deliver_parts(std::move(users), std::move(parts));
  MAIL_ASSERT(!stored.ok() || !stored->empty());  // a stored message has a name
  co_return stored;
}

}  // namespace mail::store
