// In-process and TCP targets. The in-process one drives smtp::ServerSession by its driving
// contract (server_session.h): drain poll_output()/poll_event() after every call, answer
// each verdict event at once, re-feed what feed() did not take. The TCP one is plain POSIX:
// non-blocking connect with a deadline, poll() before every read, MSG_NOSIGNAL writes.
#include "targets.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <variant>

#include "core/time.h"
#include "proto/smtp/server_session.h"

namespace mail::conformance {
namespace {

// ---------------------------------------------------------------- in-process

smtp::Reply verdict_for(const smtp::Event& e) {
  if (std::holds_alternative<smtp::ev::MailFrom>(e)) return smtp::Reply::make(250, {2, 1, 0}, "Ok");
  if (const auto* r = std::get_if<smtp::ev::RcptTo>(&e)) {
    const auto& mb = r->path.mailbox;
    std::string domain = mb ? mb->domain : std::string();
    for (char& c : domain) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string local = mb ? mb->local_part : std::string();
    for (char& c : local) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // The session turns a bare <Postmaster> into postmaster@<hostname> (RFC 5321 §4.5.1);
    // node::LocalDelivery maps that to the first local domain's postmaster, and so do we.
    if (domain == "mx.example.test" && local == "postmaster") return smtp::Reply::make(250, {2, 1, 5}, "Ok");
    if (domain != "example.test") return smtp::Reply::make(554, {5, 7, 1}, "Relay access denied");
    if (mb->local_part == "unknown") return smtp::Reply::make(550, {5, 1, 1}, "User unknown in local recipient table");
    return smtp::Reply::make(250, {2, 1, 5}, "Ok");
  }
  return smtp::Reply::make(250, {2, 0, 0}, "Ok: queued");
}

smtp::EventId event_id(const smtp::Event& e) {
  if (const auto* m = std::get_if<smtp::ev::MailFrom>(&e)) return m->id;
  if (const auto* r = std::get_if<smtp::ev::RcptTo>(&e)) return r->id;
  if (const auto* g = std::get_if<smtp::ev::Message>(&e)) return g->id;
  return 0;
}

class InprocConnection final : public Connection {
 public:
  InprocConnection() : session_(config(), info(), now_) { drain(); }

  bool send(std::string_view bytes, std::string& error) override {
    if (closed_) {
      error = "connection closed by the server";
      return false;
    }
    pending_ += bytes;
    std::string_view rest = pending_;
    while (!rest.empty() && !session_.closed()) {
      const std::size_t n = session_.feed(rest, now_);
      drain();
      rest.remove_prefix(n);
      // Verdicts are answered inside drain(), so the session only stalls when it is done.
      if (n == 0) break;
    }
    pending_ = std::string(rest);
    if (session_.closed()) pending_.clear();  // the socket would be gone: bytes are dropped
    return true;
  }

  Recv recv(std::string& buf, std::chrono::milliseconds) override {
    if (!out_.empty()) {
      buf += out_;
      out_.clear();
      return Recv::data;
    }
    return closed_ ? Recv::eof : Recv::timeout;
  }

 private:
  static smtp::ServerConfig config() {
    smtp::ServerConfig c;
    c.hostname = "mx.example.test";
    return c;
  }
  static smtp::SessionInfo info() {
    smtp::SessionInfo i;
    i.remote_address = "127.0.0.1";
    i.remote_port = 40000;
    i.local_address = "127.0.0.1";
    return i;
  }

  void drain() {
    for (bool progress = true; progress;) {
      progress = false;
      while (auto o = session_.poll_output()) {
        progress = true;
        if (const auto* s = std::get_if<smtp::out::Send>(&*o)) {
          if (!closed_) out_ += s->bytes;
        } else if (std::holds_alternative<smtp::out::Close>(*o)) {
          closed_ = true;
        } else if (std::holds_alternative<smtp::out::StartTls>(*o)) {
          // No TLS in-process: a real driver would handshake here; we hang up instead.
          closed_ = true;
        }
        // out::Pause: time is not simulated in-process; the reply follows at once.
      }
      while (auto e = session_.poll_event()) {
        progress = true;
        const smtp::EventId id = event_id(*e);
        if (id != 0) session_.complete(id, verdict_for(*e), now_);
      }
    }
  }

  Instant now_{Duration(1'000'000'000)};
  smtp::ServerSession session_;
  std::string out_;
  std::string pending_;
  bool closed_ = false;
};

class InprocTarget final : public Target {
 public:
  std::string describe() const override { return "inproc (smtp::ServerSession, mx.example.test)"; }
  std::unique_ptr<Connection> connect(std::string&) override { return std::make_unique<InprocConnection>(); }
};

// ---------------------------------------------------------------- TCP

class TcpConnection final : public Connection {
 public:
  explicit TcpConnection(int fd) : fd_(fd) {}
  ~TcpConnection() override { ::close(fd_); }
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  bool send(std::string_view bytes, std::string& error) override {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
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

bool is_loopback(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) return in6->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

class TcpTarget final : public Target {
 public:
  TcpTarget(std::string host, std::string port, sockaddr_storage addr, socklen_t len)
      : host_(std::move(host)), port_(std::move(port)), addr_(addr), len_(len) {}

  std::string describe() const override { return host_ + ":" + port_ + " (tcp)"; }

  std::unique_ptr<Connection> connect(std::string& error) override {
    const int fd = ::socket(addr_.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      error = std::strerror(errno);
      return nullptr;
    }
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr_), len_) != 0 && errno != EINPROGRESS) {
      error = std::strerror(errno);
      ::close(fd);
      return nullptr;
    }
    pollfd p{fd, POLLOUT, 0};
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (::poll(&p, 1, 5000) <= 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
      error = soerr ? std::strerror(soerr) : "connect timed out";
      ::close(fd);
      return nullptr;
    }
    const int one = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return std::make_unique<TcpConnection>(fd);
  }

 private:
  std::string host_, port_;
  sockaddr_storage addr_;
  socklen_t len_;
};

}  // namespace

std::unique_ptr<Target> make_inproc_smtp_target() { return std::make_unique<InprocTarget>(); }

std::unique_ptr<Target> make_tcp_target(const std::string& host_port, bool allow_remote, std::string& error) {
  std::string host, port;
  if (!host_port.empty() && host_port[0] == '[') {
    const auto close = host_port.find("]:");
    if (close == std::string::npos) {
      error = "expected [IPv6]:PORT";
      return nullptr;
    }
    host = host_port.substr(1, close - 1);
    port = host_port.substr(close + 2);
  } else {
    const auto colon = host_port.rfind(':');
    if (colon == std::string::npos) {
      error = "expected HOST:PORT";
      return nullptr;
    }
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    error = std::string("cannot resolve ") + host_port + ": " + ::gai_strerror(rc);
    return nullptr;
  }
  sockaddr_storage addr{};
  std::memcpy(&addr, res->ai_addr, res->ai_addrlen);
  const auto len = static_cast<socklen_t>(res->ai_addrlen);
  ::freeaddrinfo(res);
  if (!allow_remote && !is_loopback(reinterpret_cast<const sockaddr*>(&addr))) {
    error = host_port + " is not a loopback address (pass --allow-remote to test a remote server)";
    return nullptr;
  }
  return std::make_unique<TcpTarget>(host, port, addr, len);
}

}  // namespace mail::conformance
