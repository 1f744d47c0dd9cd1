// Mailbox names between the wire and the store (RFC 9051 §5.1, RFC 3501 §5.1.3, RFC 6855):
// IMAP4rev1 clients speak modified UTF-7, IMAP4rev2 and UTF8=ACCEPT clients UTF-8; the
// store always holds UTF-8 with '/' as the delimiter and "INBOX" spelled so. LIST patterns
// with '*' and '%' (RFC 9051 §6.3.9). Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mail::node::imapsrv {

// The store's name for a name as the client sent it: decoded (mUTF-7 unless `utf8`),
// INBOX case-folded ("inbox/x" -> "INBOX/x"); nullopt when it cannot be decoded or is not
// a usable name (empty component, leading/trailing '/', control characters).
std::optional<std::string> decode_mailbox_name(std::string_view wire, bool utf8);
// The client's spelling of a store name: mUTF-7 unless `utf8`.
std::string encode_mailbox_name(std::string_view name, bool utf8);
// Whether `name` matches a LIST pattern (already decoded): '*' matches anything, '%'
// anything but the delimiter; INBOX compares case-insensitively.
bool list_match(std::string_view pattern, std::string_view name);
// The canonical INBOX spelling of a decoded pattern ("inbox*" stays a pattern; "inbox" and
// "Inbox/%" get "INBOX").
std::string canonical_inbox_prefix(std::string_view name);

}  // namespace mail::node::imapsrv
