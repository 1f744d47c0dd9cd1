// SocketConnection (socket_connection.h): plain POSIX send/poll/recv on one connected
// socket, retried on EINTR. Nothing but that fd is touched.
#include "socket_connection.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/assert.h"

namespace mail::conformance {
namespace {

class SocketConnection final : public Connection {
 public:
  explicit SocketConnection(int fd) : fd_(fd) { MAIL_ASSERT(fd_ >= 0); }
  ~SocketConnection() override { ::close(fd_); }
  SocketConnection(const SocketConnection&) = delete;
  SocketConnection& operator=(const SocketConnection&) = delete;

  bool send(std::string_view bytes, std::string& error) override {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        // Only a non-blocking socket (the TCP target's) says this.
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          pollfd p{fd_, POLLOUT, 0};
          if (::poll(&p, 1, 5000) <= 0) {
            error = "write timed out";
            return false;
          }
          continue;
        }
        error = std::strerror(errno);
        return false;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  Recv recv(std::string& buf, std::chrono::milliseconds timeout) override {
    pollfd p{fd_, POLLIN, 0};
    int rc;
    do rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    while (rc < 0 && errno == EINTR);
    if (rc == 0) return Recv::timeout;
    if (rc < 0) return Recv::error;
    char tmp[16384];
    ssize_t n;
    do n = ::recv(fd_, tmp, sizeof tmp, 0);
    while (n < 0 && errno == EINTR);
    if (n == 0) return Recv::eof;
    if (n < 0) return errno == EAGAIN ? Recv::timeout : Recv::error;
    buf.append(tmp, static_cast<std::size_t>(n));
    return Recv::data;
  }

 private:
  int fd_;
};

}  // namespace

std::unique_ptr<Connection> make_socket_connection(int fd) { return std::make_unique<SocketConnection>(fd); }

}  // namespace mail::conformance
