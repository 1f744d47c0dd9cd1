// The output items every sans-IO protocol session hands its driver (SMTP today; IMAP, POP3
// and HTTP later): bytes to write, a pause before writing more, the start of a TLS
// handshake, and the end. Protocol-neutral, so node/connection.h drives any session with
// one loop. No I/O here: these are values.
#pragma once

#include <string>
#include <variant>

#include "core/time.h"

namespace mail::proto {

namespace out {
struct Send {  // write these bytes
  std::string bytes;
};
struct Pause {  // write nothing further before `until` (e.g. an error-reply delay)
  Instant until;
};
// The protocol's "go ahead" (SMTP 220, IMAP OK, POP3 +OK) was queued before this item:
// run the TLS handshake now, then tell the session (tls_established) or end it.
struct StartTls {};
struct Close {};  // close after writing everything queued before this
}  // namespace out

using Output = std::variant<out::Send, out::Pause, out::StartTls, out::Close>;

}  // namespace mail::proto
