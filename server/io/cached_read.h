// try_cached_read: read a file, or a range of it, on the calling thread only when that
// cannot wait for the device: the path resolves from the dentry cache alone (openat2
// RESOLVE_CACHED, Linux >= 5.12) and every wanted byte is in the page cache (preadv2
// RWF_NOWAIT, Linux >= 4.14). PosixDisk uses it on the Env thread so a POP3 RETR or an
// IMAP FETCH of a cached message costs no hand-off to a worker and back (two thread
// wake-ups per read were 20% of POP3 RETR's CPU); anything else — a cold path, a cold
// page, a large read, an old kernel — answers nullopt and goes to the worker pool as
// before. Never blocks on disk I/O; may run on any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/result.h"

namespace mail::io {

// Reads above this many bytes always go to a worker (the Env thread's time is shared).
inline constexpr std::size_t kCachedReadBytesMax = 256 * 1024;

// [offset, offset + max_bytes) of `path` (fewer bytes at the end of the file), or with
// whole = true the whole file (offset 0, max_bytes ignored). nullopt: not answerable
// without possibly waiting for the device, or any failure (a missing file too): the
// caller reads it the ordinary way, which reports errors.
std::optional<Result<std::string>> try_cached_read(const std::string& path, std::uint64_t offset,
                                                   std::size_t max_bytes, bool whole);

}  // namespace mail::io
