// FETCH response rendering (RFC 9051 §6.4.5, §7.5.2; RFC 3516 BINARY; RFC 7162 MODSEQ):
// one "* <seq> FETCH (...)" line from a message's metadata and, when the items need them,
// its header block or whole contents. Also says what an item list needs loaded, and
// whether it sets \Seen. Pure: no I/O, no Env (the FETCH command loads, then renders).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "proto/imap/command.h"
#include "store/mail_store.h"

namespace mail::node::imapsrv {

enum class FetchNeed : std::uint8_t { metadata, headers, content };

// What the items need loaded for each message (the most of any item).
FetchNeed fetch_need(const std::vector<mail::imap::FetchAtt>& items) noexcept;
// True when an item implicitly sets \Seen (BODY[...] without .PEEK, BINARY[...], RFC822,
// RFC822.TEXT: RFC 9051 §6.4.5).
bool fetch_sets_seen(const std::vector<mail::imap::FetchAtt>& items) noexcept;

struct FetchMessage {
  std::uint32_t seq = 0;
  const store::MessageInfo* info = nullptr;
  std::string flag_list;                   // "(\Seen)" as the session shows it
  std::optional<std::string_view> headers;  // the header block (FetchNeed::headers)
  std::optional<std::string_view> content;  // the whole message (FetchNeed::content)
};

struct FetchOptions {
  bool uid = false;          // UID FETCH: UID is always included (RFC 9051 §6.4.8)
  bool with_modseq = false;  // CONDSTORE enabled: MODSEQ beside every FLAGS (RFC 7162 §3.1)
  bool flags_changed = false;  // \Seen was just set: FLAGS included even if not asked
};

// Appends the response line to `out` (a FETCH of many bodies builds one buffer, no copy
// per message), or Errc::unsupported for BINARY of an unknown transfer encoding (the
// command then fails NO [UNKNOWN-CTE], RFC 3516 §4.3), with `out` left as it was.
Status render_fetch(std::string& out, const FetchMessage& message, const std::vector<mail::imap::FetchAtt>& items,
                    const FetchOptions& options);

}  // namespace mail::node::imapsrv
