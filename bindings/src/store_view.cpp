// Mailbox inspection through the indexed store (see store_view.h).
#include "store_view.h"

#include <algorithm>

namespace mail::py {

namespace {
bool is_inbox(std::string_view name) {
  return name.size() == 5 && std::equal(name.begin(), name.end(), "INBOX", [](char a, char b) {
           return (a >= 'a' && a <= 'z' ? static_cast<char>(a - 32) : a) == b;
         });
}
}  // namespace

std::vector<std::string> system_flag_names(std::uint8_t bits) {
  std::vector<std::string> out;
  if (bits & store::flag_seen) out.emplace_back("\\Seen");
  if (bits & store::flag_answered) out.emplace_back("\\Answered");
  if (bits & store::flag_flagged) out.emplace_back("\\Flagged");
  if (bits & store::flag_deleted) out.emplace_back("\\Deleted");
  if (bits & store::flag_draft) out.emplace_back("\\Draft");
  return out;
}

std::string special_use_name(store::SpecialUse use) { return std::string(store::special_use_attribute(use)); }

rt::Task<Result<std::vector<StoreFolderView>>> read_store(store::MailStore& store, std::string user,
                                                          std::optional<std::string> folder, bool bodies) {
  if (folder && is_inbox(*folder)) folder = "INBOX";
  auto listed = co_await store.list_folders(user);
  if (!listed.ok()) co_return fail(listed.error());
  std::vector<StoreFolderView> out;
  for (const store::FolderInfo& info : *listed) {
    if (folder && info.name != *folder) continue;
    StoreFolderView view;
    view.info = info;
    if (info.selectable) {
      auto snapshot = co_await store.open_folder(user, info.name);
      if (!snapshot.ok()) co_return fail(snapshot.error());
      view.status = snapshot->status;
      std::vector<std::uint32_t> uids;
      for (const store::MessageInfo& m : snapshot->messages) {
        uids.push_back(m.uid);
        view.messages.push_back(StoreMessageView{m, std::nullopt});
      }
      if (bodies && !uids.empty()) {
        auto read = co_await store.read_many(user, info.name, uids);
        if (!read.ok()) co_return fail(read.error());
        for (std::size_t i = 0; i < read->size() && i < view.messages.size(); ++i) {
          if ((*read)[i].ok()) view.messages[i].data = std::move((*read)[i].value());
        }
      }
    }
    out.push_back(std::move(view));
  }
  if (folder && out.empty()) co_return fail(Errc::not_found, "no folder '" + *folder + "' for user '" + user + "'");
  co_return out;
}

}  // namespace mail::py
