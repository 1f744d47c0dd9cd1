// Threads (RFC 8621 §3): which Emails are one conversation. A message's thread is named by
// its conversation's root Message-ID — the first msg-id of References, else In-Reply-To,
// else its own Message-ID (RFC 5322 §3.6.4: References lists the thread from its root) —
// so every reply that carries References lands in its root's thread without any stored
// state, and the id is the same whatever order the messages came in. A message with none
// of the three is a thread of its own (named by its content id). Pure.
#pragma once

#include <string>
#include <string_view>

namespace mail::jmap {

// The root msg-id (without <>) of the header block's conversation, or "" when it has none.
[[nodiscard]] std::string thread_root(std::string_view header_block);

// The Thread id of a message with this root ("" = none) and content id: "T" + a 64-bit
// hash of the root in hex, or "T" + base64url(content id) for a message of its own.
[[nodiscard]] std::string thread_id_of(std::string_view root, std::string_view content_id);

}  // namespace mail::jmap
