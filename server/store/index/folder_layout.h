// Folder names and where a folder lives on disk (Maildir++ as Dovecot and Courier lay it
// out): INBOX is the user's Maildir itself; folder "A/B" is the directory Maildir/.A.B,
// each name component in modified UTF-7 (RFC 3501 §5.1.3) with '.' written "&AC4-" (the
// '.' is Maildir++'s hierarchy separator). Message files are named relative to the
// Maildir: "new/<n>", ".Sent/cur/<n>:2,S". Maildir flags in a ":2,<flags>" suffix
// (https://cr.yp.to/proto/maildir.html) are read only when a file appears behind the
// store's back: the store keeps flags in its index and never renames files on STORE.
// Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "store/mail_store.h"
#include "store/maildir.h"

namespace mail::store::index {

inline constexpr std::size_t kFolderNameBytesMax = 1000;  // MailStore::create_folder contract

// "INBOX" in any case (RFC 9051 §5.1: the name INBOX is case-insensitive).
bool is_inbox_name(std::string_view name) noexcept;

// The name as stored: a first component that is INBOX in any case becomes "INBOX"
// ("inbox" -> "INBOX", "Inbox/x" -> "INBOX/x"); the rest as given.
std::string normalize_folder_name(std::string_view name);

// Errc::invalid for an empty name, an empty component (leading, trailing or doubled '/'),
// control characters (C0, DEL, C1, U+2028/2029: RFC 9051 §5.1), invalid UTF-8, or more than kFolderNameBytesMax octets.
Status check_folder_name(std::string_view name);

// The parent's name ("A/B" -> "A"), or nullopt for a top-level name.
std::optional<std::string> parent_folder_name(std::string_view name);

// The folder's directory below the Maildir: "" for INBOX, ".A.B" for "A/B". The name must
// pass check_folder_name() and be normalized (asserted).
std::string folder_dir(std::string_view name);

// The name of a Maildir++ directory found on disk (".A.B" -> "A/B"), for a rebuild; nullopt
// for anything that is not a folder directory (no leading '.', ".", "..", an empty
// component, bad modified UTF-7).
std::optional<std::string> folder_name_of_dir(std::string_view dir);

// A message file's path relative to the Maildir: folder_dir + "/" + "new|cur/<name>"
// (no leading '/' for INBOX).
std::string folder_file(std::string_view dir, MaildirFolder f, std::string_view file_name);
// The same for a folder directory itself ("" -> the Maildir-relative root).
std::string folder_subdir(std::string_view dir, MaildirFolder f);

// The unique part of a Maildir file name: everything before ":2," (or the whole name).
std::string_view maildir_base_name(std::string_view file_name) noexcept;
// System flags from a ":2,<flags>" suffix: D draft, F flagged, R answered, S seen,
// T deleted (P, passed, has no IMAP flag); 0 without a suffix.
std::uint8_t maildir_info_flags(std::string_view file_name) noexcept;

// Modified UTF-7 (RFC 3501 §5.1.3) of one UTF-8 string; Errc::invalid for invalid UTF-8.
Result<std::string> mutf7_encode(std::string_view utf8);
// Its inverse, lenient about adjacent encoded runs; Errc::invalid for bad input.
Result<std::string> mutf7_decode(std::string_view mutf7);

}  // namespace mail::store::index
