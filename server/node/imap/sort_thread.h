// IMAP SORT and THREAD over a set of messages (RFC 5256, RFC 5957 DISPLAYFROM/DISPLAYTO):
// base subject extraction (§2.1), sent date (§2.2), the sort criteria (§3 SORT), the
// ORDEREDSUBJECT and REFERENCES threading algorithms (§3 THREAD) and the THREAD response
// data (§4). Pure computation over header blocks the caller already holds: no I/O, no
// clock, no store access. Strings collate with message::fold_case (simple Unicode case
// folding, an approximation of i;unicode-casemap, RFC 5051) and then octet order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/imap/command.h"

namespace mail::node::imapsrv {

// One searched message: what SORT and THREAD need of it.
struct SortMessage {
  std::uint32_t seq = 0;            // message sequence number (the implicit last criterion)
  std::uint32_t uid = 0;
  std::int64_t internal_date = 0;   // INTERNALDATE, seconds since the Unix epoch (UTC)
  std::uint64_t size = 0;           // RFC822.SIZE
  std::string_view headers;         // the header block (a whole message is accepted too)
};

// RFC 5256 §2.1 base subject of a Subject field body (raw: folded, RFC 2047 encoded words
// allowed). Valid UTF-8, not case-folded; "" for an empty or artifact-only subject.
[[nodiscard]] std::string base_subject(std::string_view subject_field_raw);

struct BaseSubject {
  std::string text;
  // The extraction removed a subj-refwd, a "(fwd)" subj-trailer or a subj-fwd-hdr and
  // subj-fwd-trl: the message is a reply or forward (RFC 5256 §3 REFERENCES).
  bool reply_or_forward = false;
};
[[nodiscard]] BaseSubject extract_base_subject(std::string_view subject_field_raw);

// RFC 5256 §2.2 sent date of the Date field body (RFC 5322 §3.3 date-time, obsolete forms
// of §4.3 accepted) in seconds since the Unix epoch, UTC. An invalid zone counts as UTC, an
// invalid time as 00:00:00; nullopt when the date itself cannot be parsed.
[[nodiscard]] std::optional<std::int64_t> parse_sent_date(std::string_view date_field);

// Indices into `msgs` in SORT order (RFC 5256 §3 SORT): by each criterion in turn (REVERSE
// flips only its own criterion), then by sequence number. Every index appears once.
[[nodiscard]] std::vector<std::size_t> sort_messages(
    std::span<const SortMessage> msgs, std::span<const mail::imap::SortCriterion> criteria);

// A thread tree node. id is the message's sequence number or UID (as asked); id 0 is a
// dummy parent (a missing message), which has children and is rendered without a number.
// The destructor is iterative, so arbitrarily deep reply chains do not exhaust the stack.
struct ThreadNode {
  std::uint32_t id = 0;
  std::vector<ThreadNode> children;

  ThreadNode() = default;
  explicit ThreadNode(std::uint32_t node_id, std::vector<ThreadNode> kids = {})
      : id(node_id), children(std::move(kids)) {}
  ThreadNode(const ThreadNode&) = default;
  ThreadNode(ThreadNode&&) noexcept = default;
  ThreadNode& operator=(const ThreadNode&) = default;
  ThreadNode& operator=(ThreadNode&&) noexcept = default;
  ~ThreadNode();
  friend bool operator==(const ThreadNode&, const ThreadNode&) = default;
};

// RFC 5256 §3 ORDEREDSUBJECT: threads of equal base subject, each thread its first message
// (by sent date) with the others as its children, threads ordered by their first message.
[[nodiscard]] std::vector<ThreadNode> thread_orderedsubject(std::span<const SortMessage> msgs,
                                                            bool use_uid);

// RFC 5256 §3 REFERENCES (steps 1-6). Every message of `msgs` appears exactly once.
[[nodiscard]] std::vector<ThreadNode> thread_references(std::span<const SortMessage> msgs,
                                                        bool use_uid);

// Appends the thread-list items of RFC 5256 §4/§5 for `roots` ("(2)(3 6 (4 23)(44 7 96))"):
// a single child continues the member list, several children nest as thread-lists. Nothing
// for no roots; the caller writes "* THREAD" and the CRLF.
void append_thread_response(std::string& out, std::span<const ThreadNode> roots);

}  // namespace mail::node::imapsrv
