// AsioNet's Unix domain stream sockets ("unix:<path>" endpoints, runtime/env.h): the local
// control socket under the data directory. A listener's socket file has mode 0600 before
// anyone can connect to it, replaces a stale file (nothing listening) but never a live
// socket or a file that is not a socket, and is removed on close(). A connect honours its
// deadline while the listener's backlog is full. Linux semantics; nothing TCP here, and no
// blocking call on the env thread (the liveness probe and connects are non-blocking).
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "io/asio_detail.h"
#include "io/asio_listener.h"

namespace mail::io::detail {
namespace {

using namespace std::chrono_literals;

// sun_path holds a path of at most 107 bytes plus its NUL.
constexpr std::size_t kSunPathBytes = sizeof(sockaddr_un::sun_path);
constexpr std::size_t kConnectPathBytesMax = kSunPathBytes - 1;
// listen() binds "<path>.<pid>.tmp" first; a pid has at most 7 digits (pid_max <= 2^22).
constexpr std::size_t kTempSuffixBytesMax = 1 + 7 + 4;
constexpr std::size_t kListenPathBytesMax = kConnectPathBytesMax - kTempSuffixBytesMax;
static_assert(kSunPathBytes == 108, "Linux sockaddr_un");
static_assert(kListenPathBytesMax >= 64, "room for a data directory and a socket name");
constexpr int kListenBacklog = 128;  // a control socket: a few CLI clients at a time
constexpr ::mode_t kSocketFileMode = 0600;
// A connect to a full backlog is retried after 1 ms, doubling up to 50 ms.
constexpr std::chrono::milliseconds kConnectRetryFirst = 1ms;
constexpr std::chrono::milliseconds kConnectRetryMax = 50ms;
static_assert(kConnectRetryFirst <= kConnectRetryMax);

std::string unix_what(std::string_view verb, const rt::Endpoint& ep) {
  std::string out(verb);  // appended, not verb + string (GCC 12 -Wrestrict)
  out += ' ';
  out += ep.address;
  return out;
}

// The endpoint's socket path, or Errc::invalid saying what is wrong with it.
Result<std::string> checked_path(const rt::Endpoint& ep, std::size_t bytes_max, std::string_view why_max,
                                 const std::string& what) {
  const std::string_view path = rt::unix_path(ep);
  if (ep.port != 0) return fail(Errc::invalid, what + ": a unix: endpoint has no port");
  if (path.empty()) return fail(Errc::invalid, what + ": no socket path after unix:");
  if (path.find('\0') != std::string_view::npos) return fail(Errc::invalid, what + ": NUL byte in the socket path");
  if (path.size() > bytes_max) {
    std::string detail = what;
    detail += ": socket path too long (";
    detail += std::to_string(path.size());
    detail += " bytes, at most ";
    detail += std::to_string(bytes_max);
    detail += ": ";
    detail += why_max;
    detail += ")";
    return fail(Errc::invalid, std::move(detail));
  }
  return std::string(path);
}

enum class Probe : std::uint8_t { absent, stale, live };

// What is at `path` now: nothing, a socket nobody listens on (connect: ECONNREFUSED), or a
// live listener (connect succeeds, or EAGAIN: its backlog is full). Anything else there (a
// regular file, a socket we may not connect to) is an error: never replace what we cannot
// prove is ours to replace.
Result<Probe> probe(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Probe::absent;
    return fail(error_from_errno(errno, what));
  }
  if (!S_ISSOCK(st.st_mode)) return fail(Errc::exists, what + ": " + path + " exists and is not a socket");
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(error_from_errno(errno, what));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  MAIL_ASSERT(path.size() < sizeof(addr.sun_path));
  path.copy(addr.sun_path, path.size());
  const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  const int err = errno;
  ::close(fd);
  if (rc == 0 || err == EAGAIN) return Probe::live;
  if (err == ECONNREFUSED) return Probe::stale;
  if (err == ENOENT) return Probe::absent;  // removed meanwhile
  return fail(error_from_errno(err, what + ": probing " + path));
}

// The Unix side of AsioListener (asio_listener.h): a stream's server end is named by the
// public path; closing removes the socket file while it is still the one listen made.
struct UnixListenerState {
  using Socket = unix_stream::socket;
  explicit UnixListenerState(asio::io_context& io) : acceptor(io) {}
  std::unique_ptr<rt::Stream> wrap(unix_stream::socket socket) {
    // The peer is unnamed unless it bound a path itself.
    error_code pec;
    rt::Endpoint remote{std::string(rt::kUnixEndpointPrefix), 0};
    if (auto ep = socket.remote_endpoint(pec); !pec) remote = endpoint_from_asio(ep);
    return make_asio_stream(std::move(socket), local, std::move(remote));
  }
  void after_close() {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && st.st_dev == dev && st.st_ino == ino) {
      ::unlink(path.c_str());
    }
  }
  unix_stream::acceptor acceptor;
  bool closed = false;
  bool accept_pending = false;
  rt::Endpoint local;
  std::string path;
  // The socket file this listener created: close() removes the file at `path` only while
  // it is still that one.
  ::dev_t dev = 0;
  ::ino_t ino = 0;
};

// Removes the temporary socket name unless disarmed (every failure path after bind).
class UnlinkGuard {
 public:
  explicit UnlinkGuard(const std::string& path) : path_(path) {}
  ~UnlinkGuard() {
    if (armed_) ::unlink(path_.c_str());
  }
  UnlinkGuard(const UnlinkGuard&) = delete;
  UnlinkGuard& operator=(const UnlinkGuard&) = delete;
  void disarm() noexcept { armed_ = false; }

 private:
  const std::string& path_;
  bool armed_ = true;
};

struct UnixConnectState {
  explicit UnixConnectState(asio::io_context& io) : socket(io), timer(io) {}
  unix_stream::socket socket;
  asio::steady_timer timer;
  unix_stream::endpoint peer;
  rt::Endpoint to;
  std::string what;
  std::chrono::steady_clock::time_point deadline;
  std::chrono::milliseconds backoff = kConnectRetryFirst;
  rt::Completion<std::unique_ptr<rt::Stream>> done;
};

// One non-blocking connect. Asio's async_connect is not used: on a full backlog Linux
// fails a non-blocking Unix connect with EAGAIN (not EINPROGRESS) and never signals when
// there is room, and an unconnected Unix socket polls writable, so asio would wait for
// writability and then report success on a socket that is not connected.
void attempt(const std::shared_ptr<UnixConnectState>& st) {
  MAIL_ASSERT(static_cast<bool>(st->done));
  const int rc = ::connect(st->socket.native_handle(), st->peer.data(), static_cast<socklen_t>(st->peer.size()));
  const int err = errno;
  if (rc == 0) {
    error_code ec;
    rt::Endpoint local{std::string(rt::kUnixEndpointPrefix), 0};
    if (auto ep = st->socket.local_endpoint(ec); !ec) local = endpoint_from_asio(ep);
    // The peer's kernel name may be the listener's temporary one: name it as asked.
    auto done = std::move(st->done);
    done(make_asio_stream(std::move(st->socket), std::move(local), st->to));
    return;
  }
  if (err == EAGAIN) {
    // The backlog is full: try again later, until the deadline (as a TCP SYN to a full
    // accept queue is dropped and retried).
    const auto now = std::chrono::steady_clock::now();
    if (now >= st->deadline) {
      auto done = std::move(st->done);
      done(fail(Errc::timeout, st->what + ": deadline passed"));
      return;
    }
    st->timer.expires_at(std::min(now + st->backoff, st->deadline));
    st->backoff = std::min(st->backoff * 2, kConnectRetryMax);
    st->timer.async_wait([st](const error_code& ec) {
      if (ec) {
        auto done = std::move(st->done);
        done(fail(error_from_asio(ec, st->what)));
        return;
      }
      attempt(st);
    });
    return;
  }
  // ECONNREFUSED: a stale socket file (Errc::refused); ENOENT: no server (Errc::not_found).
  auto done = std::move(st->done);
  done(fail(error_from_errno(err, st->what)));
}

}  // namespace

// The socket file must never be connectable with a mode wider than 0600. The kernel checks
// write permission on the file at connect() time, and nobody can connect before listen(),
// so: bind a temporary name, chmod it to 0600, only then listen, then rename() it onto the
// public path. The rename also replaces a stale file atomically, so the path never
// disappears or exists with another mode. Not umask(): it is process-wide and the disk
// workers create files concurrently. fchmod(fd) after bind() does not touch the file on
// Linux (it changes the socket's own inode); before bind() Linux does use it as the new
// file's mode, but that is undocumented, so it is only a first layer under the chmod.
// Two servers started at the same instant on one path are not told apart (both probe,
// the later rename wins); the data directory is meant for one server.
Result<std::unique_ptr<rt::Listener>> listen_unix(asio::io_context& io, const rt::Endpoint& at) {
  MAIL_ASSERT(rt::is_unix_endpoint(at));
  const std::string what = unix_what("listen on", at);
  auto path = checked_path(at, kListenPathBytesMax, "sun_path holds 107, and listen binds <path>.<pid>.tmp first", what);
  if (!path) return fail(path.error());
  auto found = probe(*path, what);
  if (!found) return fail(found.error());
  if (*found == Probe::live) {
    std::string detail = "another server is listening on ";
    detail += *path;
    return fail(Errc::exists, std::move(detail));
  }

  std::string tmp = *path;
  tmp += '.';
  tmp += std::to_string(::getpid());
  tmp += ".tmp";
  MAIL_ASSERT(tmp.size() <= kConnectPathBytesMax);
  // A leftover of an earlier process with our pid that died between bind and rename.
  ::unlink(tmp.c_str());

  auto s = std::make_shared<UnixListenerState>(io);
  error_code ec;
  if (s->acceptor.open(unix_stream(), ec); ec) return fail(error_from_asio(ec, what));
  set_cloexec(s->acceptor.native_handle());
  (void)::fchmod(s->acceptor.native_handle(), kSocketFileMode);
  if (s->acceptor.bind(unix_stream::endpoint(tmp), ec); ec) return fail(error_from_asio(ec, what));
  UnlinkGuard guard(tmp);
  if (::chmod(tmp.c_str(), kSocketFileMode) != 0) return fail(error_from_errno(errno, what));
  struct stat st {};
  if (::lstat(tmp.c_str(), &st) != 0) return fail(error_from_errno(errno, what));
  if ((st.st_mode & 07777) != kSocketFileMode || !S_ISSOCK(st.st_mode)) {
    return fail(Errc::io, what + ": " + tmp + " changed under us");
  }
  if (s->acceptor.listen(kListenBacklog, ec); ec) return fail(error_from_asio(ec, what));
  if (::rename(tmp.c_str(), path->c_str()) != 0) return fail(error_from_errno(errno, what));
  guard.disarm();
  s->dev = st.st_dev;
  s->ino = st.st_ino;
  s->path = std::move(*path);
  s->local = at;
  MAIL_ASSERT(rt::is_unix_endpoint(s->local));
  MAIL_ASSERT(!s->path.empty());
  return std::unique_ptr<rt::Listener>(std::make_unique<AsioListener<UnixListenerState>>(std::move(s)));
}

void connect_unix(asio::io_context& io, const rt::Endpoint& to, Instant deadline,
                  rt::Completion<std::unique_ptr<rt::Stream>> done) {
  MAIL_ASSERT(rt::is_unix_endpoint(to));
  MAIL_ASSERT(static_cast<bool>(done));
  std::string what = unix_what("connect", to);
  auto path = checked_path(to, kConnectPathBytesMax, "sun_path holds 107", what);
  if (!path) return post_failure(io, path.error(), std::move(done));
  auto st = std::make_shared<UnixConnectState>(io);
  error_code ec;
  if (st->socket.open(unix_stream(), ec); ec) return post_failure(io, error_from_asio(ec, what), std::move(done));
  set_cloexec(st->socket.native_handle());
  if (st->socket.native_non_blocking(true, ec); ec) return post_failure(io, error_from_asio(ec, what), std::move(done));
  st->peer = unix_stream::endpoint(*path);
  st->to = to;
  st->what = std::move(what);
  st->deadline = steady_from_instant(deadline);
  st->done = std::move(done);
  // The first attempt runs from the loop too: a completion never runs inside this call.
  asio::post(io, [st] { attempt(st); });
}

}  // namespace mail::io::detail
