// Operating and peer errors as values. Env operations (disk, net, dns) report these;
// they never throw. Codes are coarse on purpose: callers branch on the kind, log the text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mail {

enum class Errc : std::uint8_t {
  ok = 0,
  io,             // EIO and friends
  not_found,      // ENOENT / NXDOMAIN
  exists,         // EEXIST
  no_space,       // ENOSPC / EDQUOT
  refused,        // ECONNREFUSED
  timeout,        // a deadline passed
  reset,          // ECONNRESET / EPIPE
  eof,            // orderly end of stream
  canceled,       // operation aborted (shutdown, crash)
  invalid,        // bad argument, unparsable data
  unavailable,    // temporary failure (SERVFAIL, EAGAIN, too many)
  unsupported,    // not implemented by this Env
  expired,        // asked about history older than what is kept (a change log's horizon)
};

std::string_view to_string(Errc) noexcept;

struct Error {
  Errc code = Errc::io;
  std::string detail;  // human text for logs; never parsed

  friend bool operator==(const Error& a, Errc b) noexcept { return a.code == b; }
};

Error error_from_errno(int err, std::string_view what);

}  // namespace mail
