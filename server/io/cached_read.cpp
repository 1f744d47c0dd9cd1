// try_cached_read (see header). Must not: block on the device, return a partial read as
// complete, or keep a descriptor open.
#include "io/cached_read.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

namespace mail::io {
namespace {

// False once the kernel has said it has no openat2 or no RESOLVE_CACHED / RWF_NOWAIT.
std::atomic<bool> g_supported{true};

// openat2 missing (< 5.6) or without RESOLVE_CACHED (< 5.12): never try again. A file
// system without RWF_NOWAIT support (EOPNOTSUPP) only sends its own reads to the worker.
bool openat2_unsupported(int err) noexcept { return err == ENOSYS || err == EINVAL || err == E2BIG; }

struct Closer {
  int fd;
  ~Closer() { ::close(fd); }
};

}  // namespace

std::optional<Result<std::string>> try_cached_read(const std::string& path, std::uint64_t offset,
                                                   std::size_t max_bytes, bool whole) {
  if (!g_supported.load(std::memory_order_relaxed)) return std::nullopt;
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_CACHED;
  const long fd = ::syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof how);
  if (fd < 0) {
    if (openat2_unsupported(errno)) g_supported.store(false, std::memory_order_relaxed);
    return std::nullopt;  // EAGAIN (not all in the dcache), ENOENT, EINTR...: the worker reports it
  }
  const Closer closer{static_cast<int>(fd)};
  struct stat st {};
  if (::fstat(closer.fd, &st) != 0) return std::nullopt;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (whole) {
    offset = 0;
    max_bytes = static_cast<std::size_t>(std::min<std::uint64_t>(size, kCachedReadBytesMax + 1));
  }
  const std::uint64_t left = offset < size ? size - offset : 0;
  const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(left, max_bytes));
  if (want > kCachedReadBytesMax) return std::nullopt;
  // A whole read asks for one byte more than fstat said: getting it means the file grew
  // since (a file being written), which is for the worker path; a short count is the end
  // of the file. That saves the separate end-of-file probe (one syscall per message).
  const std::size_t ask = whole ? want + 1 : want;
  std::string out;
  out.resize(ask);
  std::size_t got = 0;
  while (got < ask) {
    iovec v{out.data() + got, ask - got};
    const ssize_t n = ::preadv2(closer.fd, &v, 1, static_cast<off_t>(offset + got), RWF_NOWAIT);
    if (n < 0) return std::nullopt;  // EAGAIN: a page is not cached; EOPNOTSUPP: no RWF_NOWAIT here
    if (n == 0) break;  // the end of the file (truncated since fstat: a short read is what the file has)
    got += static_cast<std::size_t>(n);
    if (got == want && static_cast<std::size_t>(n) < v.iov_len) break;  // a short count at fstat's size: the end
  }
  if (got > want) return std::nullopt;  // only a whole read asks past `want`: the file grew
  out.resize(got);
  return Result<std::string>(std::move(out));
}

}  // namespace mail::io
