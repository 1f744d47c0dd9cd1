// The JMAP Email model read side: a MIME message (RFC 5322 / RFC 2045) to the RFC 8621 Email
// properties that come from its bytes: the header forms of §4.1.2 (Raw, Text, Addresses,
// GroupedAddresses, MessageIds, Date, URLs), the convenience header properties of §4.1.3,
// the body parts of §4.1.4 (bodyStructure and the textBody / htmlBody / attachments
// algorithm, reproduced exactly), preview and the §4.2 bodyValues options. Pure: no I/O, no
// clock; malformed input gives best-effort output and never an assertion. Every string put
// in the JSON is valid UTF-8.
//
// Part ids follow the IMAP section numbering (RFC 9051 §6.4.5): a single-part message is
// "1", the children of a multipart are "1", "2", ... and "1.2" inside "1"; message/rfc822
// parts are leaves (their contents are the encapsulated message). Multipart parts have no id.
#pragma once

#include <boost/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mail::jmap {

struct BodyValueOptions {
  bool text = false;          // fetchTextBodyValues: the text/* parts of textBody
  bool html = false;          // fetchHTMLBodyValues: the text/* parts of htmlBody
  bool all = false;           // fetchAllBodyValues: every text/* leaf part
  std::size_t max_bytes = 0;  // maxBodyValueBytes; 0 = no limit
};

struct EmailParseContext {
  std::string content_id;  // the message's content id, for jmap::part_blob_id
};

// Adds to `out` each requested property (RFC 8621 §4.1.2-§4.1.4) that comes from the message
// bytes: messageId inReplyTo references sender from to cc bcc replyTo subject sentAt headers
// "header:Name[:asForm][:all]" bodyStructure textBody htmlBody attachments hasAttachment
// preview bodyValues. Unknown names (and header forms it cannot parse) are ignored: the
// caller validates. `message` may be only the header block when needs_body() is false.
// `body_properties` null means the RFC default list (partId blobId size name type charset
// disposition cid language location); bodyStructure multiparts always carry subParts.
void add_email_properties(std::string_view message, const std::vector<std::string>& properties,
                          const std::vector<std::string>* body_properties, const BodyValueOptions& options,
                          const EmailParseContext& ctx, boost::json::object& out);

// True when a requested property needs more of the message than its header block.
[[nodiscard]] bool needs_body(const std::vector<std::string>& properties, const BodyValueOptions& options);

// The decoded contents (transfer encoding removed, NOT charset converted) of the leaf part
// `part_id` and its media type ("image/png", lower case); nullopt when there is no such leaf
// part. For the download of part blobs (RFC 8620 §6.2).
[[nodiscard]] std::optional<std::pair<std::string, std::string>> part_contents(std::string_view message,
                                                                               std::string_view part_id);

// Helpers shared with search_snippet and the tests.

struct DecodedText {
  std::string text;               // UTF-8
  bool encoding_problem = false;  // unknown transfer encoding or charset, or invalid octets
};
// `bytes` in `charset` to UTF-8 (us-ascii, utf-8, iso-8859-1, windows-1252 built in; others
// via iconv); unknown charsets keep the octets with invalid UTF-8 replaced by U+FFFD.
[[nodiscard]] DecodedText text_to_utf8(std::string_view charset, std::string_view bytes);

// The visible text of an HTML fragment: tags, comments, <script> and <style> contents
// removed, block tags as line breaks, the common entities and numeric references decoded.
[[nodiscard]] std::string html_to_text(std::string_view html);

// White space runs collapsed to one space, trimmed, cut to `chars_max` code points.
[[nodiscard]] std::string collapse_whitespace(std::string_view text, std::size_t chars_max);

// RFC 5322 §3.3 date-time (obsolete forms of §4.3 too) as seconds since the Unix epoch (UTC);
// nullopt when it does not parse.
[[nodiscard]] std::optional<std::int64_t> parse_rfc5322_date(std::string_view value);
// The proleptic Gregorian calendar fields of a Unix time (UTC; H. Hinnant's civil_from_days).
struct CivilTime {
  std::int64_t year = 1970;
  unsigned month = 1;    // 1..12
  unsigned day = 1;      // 1..31
  unsigned weekday = 4;  // 0 = Sunday
  std::int64_t second_of_day = 0;
};
[[nodiscard]] CivilTime civil_time(std::int64_t unix_seconds);
// Its inverse for a date: days since 1970-01-01 of year `y`, month `m` (1..12), day `d`.
[[nodiscard]] std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d);
// RFC 3339 "2024-01-01T10:00:00Z" of a Unix time.
[[nodiscard]] std::string format_utc_date(std::int64_t unix_seconds);

// Every text part of the textBody, joined by "\n" (HTML converted to text).
[[nodiscard]] std::string all_text_body(std::string_view message);

}  // namespace mail::jmap
