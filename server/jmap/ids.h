// JMAP ids (RFC 8620 §1.2: 1-255 octets of the URL-safe base64 alphabet) for the store's
// objects. Every id is derived from what the store already keeps stable, so nothing needs
// a second table and IMAP and JMAP name the same things:
//   Mailbox  "M" + the folder's UIDVALIDITY (unique in the account, kept across RENAME)
//   Email    "E" + base64url(content id)  (MessageInfo::content_id: COPY and MOVE keep it,
//            so the copies of one message are one Email in several mailboxes, RFC 8621 §4)
//   Thread   "T" + the same suffix (one message per thread until threading lands)
//   Blob     "B" + the same suffix (the whole message, RFC 8621 §4.1.1 blobId);
//            "P" + part id ('.' as '-') + "Z" + suffix (one body part's decoded contents)
//            "U" + hex (an uploaded blob, RFC 8620 §6.1)
// Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mail::jmap {

// `prefix` followed by `rest` (the kind letter of an id and its body).
[[nodiscard]] inline std::string prefixed(char prefix, std::string_view rest) {
  std::string out(1, prefix);
  out += rest;
  return out;
}

// True when `id` is a valid JMAP Id (RFC 8620 §1.2).
[[nodiscard]] bool is_valid_id(std::string_view id) noexcept;

[[nodiscard]] std::string mailbox_id(std::uint32_t uidvalidity);
[[nodiscard]] std::optional<std::uint32_t> parse_mailbox_id(std::string_view id);

[[nodiscard]] std::string email_id(std::string_view content_id);
[[nodiscard]] std::string thread_id(std::string_view content_id);
[[nodiscard]] std::string message_blob_id(std::string_view content_id);
[[nodiscard]] std::string part_blob_id(std::string_view content_id, std::string_view part_id);
// The content id behind an Email, Thread or message Blob id, or nullopt.
[[nodiscard]] std::optional<std::string> parse_email_id(std::string_view id);
[[nodiscard]] std::optional<std::string> parse_thread_id(std::string_view id);

struct BlobRef {
  enum class Kind : std::uint8_t { message, part, upload };
  Kind kind = Kind::message;
  std::string content_id;  // message and part
  std::string part_id;     // part: "1.2"
  std::string upload;      // upload: the hex after "U"
};
[[nodiscard]] std::optional<BlobRef> parse_blob_id(std::string_view id);

// URL-safe base64 without padding (RFC 4648 §5) and back (nullopt for anything else).
[[nodiscard]] std::string base64url(std::string_view bytes);
[[nodiscard]] std::optional<std::string> unbase64url(std::string_view text);

}  // namespace mail::jmap
