// SEARCH key evaluation (RFC 9051 §6.4.4, RFC 3501 §6.4.4, RFC 7162 §3.1.5 MODSEQ,
// RFC 5182 $): whether one message matches a key tree, from its metadata, header block
// and decoded text — each loaded only if the keys need it. String keys match as
// case-insensitive substrings of the decoded (RFC 2047, charset, transfer encoding) text.
// Pure: no I/O; the SEARCH command loads and then evaluates.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/imap/command.h"
#include "store/mail_store.h"

namespace mail::node::imapsrv {

enum class SearchNeed : std::uint8_t { metadata, headers, content };
SearchNeed search_need(const mail::imap::SearchKey& key) noexcept;

// The string terms of the top-level conjunction (not under NOT or OR) — BODY, TEXT,
// SUBJECT, FROM, TO, CC, BCC and HEADER values: every match contains them in its decoded
// text (the index's "text" field holds the decoded headers and body), so a full-text index
// may narrow the candidates first; each candidate is then checked exactly.
std::vector<std::string> required_text_terms(const mail::imap::SearchKey& key);
// True when some BODY/TEXT key is not in the top-level conjunction (then every message's
// contents must be read).
bool has_text_keys(const mail::imap::SearchKey& key) noexcept;

struct SearchMessage {
  std::uint32_t seq = 0;
  std::uint32_t max_seq = 0;  // for "*" in a sequence-set key
  std::uint32_t max_uid = 0;
  const store::MessageInfo* info = nullptr;
  bool recent = false;                      // IMAP4rev1 \Recent
  std::optional<std::string_view> headers;  // SearchNeed::headers
  std::optional<std::string_view> content;  // SearchNeed::content
  const std::vector<std::uint32_t>* saved = nullptr;  // SEARCHRES "$" (uids, ascending)
};

// Evaluates `key` (loading nothing: what it needs must be in `m`). Internal parsing of
// headers and text is cached in `cache` across keys of one message.
class SearchEvaluator {
 public:
  explicit SearchEvaluator(const SearchMessage& m) : m_(m) {}
  bool matches(const mail::imap::SearchKey& key);

 private:
  const std::string& header_text();  // "Name: decoded value\n" lines
  const std::string& body_text();
  std::optional<std::string> field(std::string_view name);
  std::optional<std::int64_t> sent_day();  // days since the epoch of the Date: field
  bool in_set(const mail::imap::SequenceSet& set, bool uid) const;

  const SearchMessage& m_;
  std::optional<std::string> header_text_;
  std::optional<std::string> body_text_;
  bool sent_day_done_ = false;
  std::optional<std::int64_t> sent_day_;
};

// Days since 1970-01-01 of a calendar date (proleptic Gregorian).
std::int64_t days_from_civil(int year, unsigned month, unsigned day) noexcept;
// The date part of an RFC 5322 date-time ("Tue, 1 Jul 2003 10:52:37 +0200" -> 2003-07-01,
// in the field's own zone), tolerant of obsolete forms; nullopt when unparsable.
std::optional<std::int64_t> rfc5322_day(std::string_view value);

}  // namespace mail::node::imapsrv
