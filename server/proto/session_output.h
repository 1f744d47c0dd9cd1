// The output items every sans-IO protocol session hands its driver (SMTP today; IMAP, POP3
// and HTTP later): bytes to write, a pause before writing more, the start of a TLS
// handshake or of a compression layer, and the end. Protocol-neutral, so node/connection.h
// drives any session with one loop. No I/O here: these are values.
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
// The go-ahead (IMAP "OK" to COMPRESS, RFC 4978 §3) was queued before this item: write it
// as it is, then layer raw DEFLATE over the stream in both directions, from the next octet
// (above TLS when TLS runs: compress, then encrypt). The input the session did not take is
// the start of the compressed stream. Then tell the session (compress_established).
struct StartCompress {};
struct Close {};  // close after writing everything queued before this
}  // namespace out

using Output = std::variant<out::Send, out::Pause, out::StartTls, out::StartCompress, out::Close>;

}  // namespace mail::proto
