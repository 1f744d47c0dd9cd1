// Maildir unique file names (the cr.yp.to "maildir" convention, Dovecot's extensions):
//   <unix_seconds>.M<usec>R<16 hex>Q<counter>.<host>,S=<size>
// Deterministic under the simulator: time, randomness and host name come from the caller
// (Env), never from getpid/time. Pure; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/prng.h"
#include "core/time.h"

namespace mail::store {

// One path component a Maildir reader accepts, and the store writes: non-empty, at most
// 255 bytes, no '/', no NUL, not starting with '.' (so never "." or "..", never hidden).
bool is_plain_file_name(std::string_view s) noexcept;

// Host name made safe for a Maildir name: '/' -> "\057", ':' -> "\072", ',' -> "\054"
// (the first two per the convention, the comma because ",S=" follows). Empty -> "localhost".
std::string maildir_safe_host(std::string_view host);

// The base name (no ":2," info), a plain file name. `safe_host` must come from
// maildir_safe_host().
std::string format_maildir_name(WallTime now, std::uint64_t random, std::uint64_t counter, std::string_view safe_host,
                                std::uint64_t size_bytes);

// The ",S=<n>" size hint of a name (before any ":2," info), if present and well-formed.
std::optional<std::uint64_t> maildir_size_hint(std::string_view name) noexcept;

// A generator of names: the R part is drawn from `rng` (fork "maildir"), Q counts up, so
// names from one generator never repeat and independent generators collide only if both
// time and 64 random bits agree.
class MaildirNamer {
 public:
  MaildirNamer(Prng rng, std::string_view hostname) : rng_(rng), host_(maildir_safe_host(hostname)) {}
  std::string next(WallTime now, std::uint64_t size_bytes) {
    return format_maildir_name(now, rng_.next_u64(), counter_++, host_, size_bytes);
  }

 private:
  Prng rng_;
  std::uint64_t counter_ = 0;
  std::string host_;
};

}  // namespace mail::store
