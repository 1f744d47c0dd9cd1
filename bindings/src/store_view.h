// Mailbox inspection through the indexed store (MailStore, store/mail_store.h) for the
// Python bindings: a user's folders with their counters (UIDVALIDITY, UIDNEXT,
// HIGHESTMODSEQ) and messages (uid, flags, keywords, modseq, internal date, size and,
// optionally, the bytes) read with the calls an IMAP session makes (list_folders,
// open_folder, read_many). The simulated worlds run it as a task on the server host, the
// embedded server on its own thread. Free of pybind11 (bind_store.cpp converts).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "runtime/task.h"
#include "store/mail_store.h"

namespace mail::py {

struct StoreMessageView {
  store::MessageInfo info;
  std::optional<std::string> data;  // with bodies only; nullopt when expunged meanwhile
};

struct StoreFolderView {
  store::FolderInfo info;
  store::FolderStatus status;  // zero for a \Noselect folder
  std::vector<StoreMessageView> messages;  // ascending uid
};

// Every folder of `user` in list_folders order, or only `folder` ("INBOX" in any case is
// the inbox): Errc::not_found for an unknown user or folder.
rt::Task<Result<std::vector<StoreFolderView>>> read_store(store::MailStore& store, std::string user,
                                                          std::optional<std::string> folder, bool bodies);

// "\\Seen", "\\Answered", ... for the system flag bits (RFC 9051 §2.3.2), in that order.
std::vector<std::string> system_flag_names(std::uint8_t bits);
// "\\Drafts", "\\Sent", ... (RFC 6154 §2); "" for none.
std::string special_use_name(store::SpecialUse use);

}  // namespace mail::py
