// The JMAP Email model write side: an RFC 8621 §4.6 Email/set create object (and the
// webmail's compose, which sends the same JSON) to an RFC 5322 / MIME message ready to
// append. Generates Date (sentAt or now), Message-ID (<unique@domain> unless given) and
// MIME-Version; text/plain + text/html become multipart/alternative, inline attachments with
// a cid join the HTML in multipart/related, other attachments make multipart/mixed. Text
// bodies are 7bit when ASCII with short lines, else quoted-printable (RFC 2045 §6.7) in
// UTF-8; blobs are base64 (§6.8). Non-ASCII header text uses RFC 2047 encoded words,
// filenames RFC 2231 (and RFC 2047 in the Content-Type name). CRLF line ends, lines at most
// 998 octets (RFC 5322 §2.1.1), folded at 78 where white space allows. Pure: no clock (time
// is an argument), no I/O but the caller's BlobLookup.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mail::jmap {

// The octets of a blob, or nullopt when the account has no such blob.
using BlobLookup = std::function<std::optional<std::string>(std::string_view blob_id)>;

struct BuiltEmail {
  std::string message;  // CRLF line ends, ends with CRLF
};

// RFC 8621 §4.6 create. On success the message; otherwise the offending property names for
// a SetError invalidProperties (top-level names such as "from", "header:X-Y:asText",
// "bodyStructure"). A blob the lookup does not find is reported as "<property>/blobId"
// (for example "attachments/blobId"), which the caller may turn into blobNotFound.
// keywords, mailboxIds and receivedAt are the caller's and ignored here.
[[nodiscard]] std::variant<BuiltEmail, std::vector<std::string>> build_email(
    const boost::json::object& create, const BlobLookup& blobs, std::int64_t now_unix_seconds,
    std::string_view message_id_domain, std::string_view unique);

// Header helpers (exposed for tests).
// `text` (UTF-8) as the body of an unstructured field: as is when printable ASCII, else RFC
// 2047 "=?UTF-8?B?...?=" words of at most 75 octets separated by spaces.
[[nodiscard]] std::string encode_header_text(std::string_view text);
// "Name: value\r\n" folded before white space so that lines stay within 78 octets where
// possible (RFC 5322 §2.2.3).
[[nodiscard]] std::string fold_field(std::string_view name, std::string_view value);

}  // namespace mail::jmap
