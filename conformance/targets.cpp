// In-process and TCP targets. The in-process one drives smtp::ServerSession by its driving
// contract (server_session.h): drain poll_output()/poll_event() after every call, answer
// each verdict event at once, re-feed what feed() did not take; after out::StartTls it
// runs a server-side tls::TlsEngine and calls tls_established() when the handshake ends. The TCP one is plain POSIX:
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

#include "core/ascii.h"
#include "core/time.h"
#include "proto/sasl/credentials.h"
#include "proto/smtp/server_session.h"
#include "socket_connection.h"
#include "tls/context.h"
#include "tls/engine.h"
#include "tls/sasl_crypto.h"
#include "tls/self_signed.h"

namespace mail::conformance {
namespace {

// ---------------------------------------------------------------- in-process

smtp::Reply verdict_for(const smtp::Event& e) {
  if (std::holds_alternative<smtp::ev::MailFrom>(e)) return smtp::Reply::make(250, {2, 1, 0}, "Ok");
  if (const auto* r = std::get_if<smtp::ev::RcptTo>(&e)) {
    const auto& mb = r->path.mailbox;
    const std::string domain = mb ? ascii_lower(mb->domain) : std::string();
    const std::string local = mb ? ascii_lower(mb->local_part) : std::string();
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
  if (const auto* a = std::get_if<smtp::ev::Auth>(&e)) return a->id;
  return 0;
}

// One user, credentials derived at start (SCRAM, so PLAIN/LOGIN/SCRAM all verify).
class OneUserStore final : public sasl::CredentialStore {
 public:
  OneUserStore(sasl::Crypto& c, std::string user, const std::string& password)
      : user_(std::move(user)), creds_(sasl::derive_scram_credentials(c, password, "conformance-salt", 4096)) {}
  std::optional<sasl::ScramCredentials> lookup(std::string_view authcid) const override {
    if (user_.empty() || authcid != user_) return std::nullopt;
    return creds_;
  }

 private:
  std::string user_;
  sasl::ScramCredentials creds_;
};

// What every in-process connection shares: the TLS server context and the AUTH backend.
struct InprocShared {
  std::unique_ptr<tls::TlsContext> tls;  // null: STARTTLS not offered
  tls::OpenSslCrypto crypto;
  std::unique_ptr<OneUserStore> users;
};

class InprocConnection final : public Connection {
 public:
  explicit InprocConnection(InprocShared& shared) : shared_(shared), session_(config(shared), info(), now_) { drain(); }

  bool send(std::string_view bytes, std::string& error) override {
    if (closed_) {
      error = "connection closed by the server";
      return false;
    }
    if (tls_) feed_tls(bytes);
    else feed_plain(bytes);
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
  static smtp::ServerConfig config(InprocShared& shared) {
    smtp::ServerConfig c;
    c.hostname = "mx.example.test";
    c.starttls_available = shared.tls != nullptr;
    if (shared.users) {
      c.auth.crypto = &shared.crypto;
      c.auth.credentials = shared.users.get();
    }
    return c;
  }
  static smtp::SessionInfo info() {
    smtp::SessionInfo i;
    i.remote_address = "127.0.0.1";
    i.remote_port = 40000;
    i.local_address = "127.0.0.1";
    return i;
  }

  // Plaintext for the session (before TLS, or decrypted after it).
  void feed_plain(std::string_view bytes) {
    pending_ += bytes;
    std::string_view rest = pending_;
    while (!rest.empty() && !session_.closed()) {
      const std::size_t n = session_.feed(rest, now_);
      drain();
      rest.remove_prefix(n);
      // Verdicts are answered inside drain(), so the session only stalls when it is done.
      if (n == 0) break;
      if (tls_ && !tls_started_) break;  // STARTTLS accepted: what follows is the handshake
    }
    std::string left(rest);
    pending_.clear();
    if (session_.closed()) return;  // the socket would be gone: bytes are dropped
    if (tls_ && !tls_started_) {
      // As a socket driver does: bytes the session did not take after STARTTLS reach the
      // TLS engine as ciphertext (RFC 9051 §6.2.1 option 1; a plaintext injection fails).
      if (!left.empty()) feed_tls(left);
      return;
    }
    pending_ = std::move(left);
  }

  void feed_tls(std::string_view bytes) {
    while (!bytes.empty() && !closed_) {
      const std::size_t n = tls_->feed_ciphertext(bytes);
      bytes.remove_prefix(n);
      pump_tls();
      if (n == 0) break;
    }
  }

  void pump_tls() {
    out_ += tls_->poll_ciphertext();
    if (tls_->failed()) {
      closed_ = true;  // the alert (if any) is out; the connection is over
      return;
    }
    if (tls_->handshake_done() && !tls_started_) {
      tls_started_ = true;
      session_.tls_established(now_);
      drain();
    }
    if (const std::string plain = tls_->poll_plaintext(); !plain.empty()) feed_plain(plain);
    out_ += tls_->poll_ciphertext();
  }

  void emit(const std::string& bytes) {
    if (closed_) return;
    if (!tls_started_) {
      out_ += bytes;
      return;
    }
    (void)tls_->write_plaintext(bytes);
    out_ += tls_->poll_ciphertext();
  }

  void drain() {
    for (bool progress = true; progress;) {
      progress = false;
      while (auto o = session_.poll_output()) {
        progress = true;
        if (const auto* s = std::get_if<smtp::out::Send>(&*o)) {
          emit(s->bytes);
        } else if (std::holds_alternative<smtp::out::Close>(*o)) {
          closed_ = true;
        } else if (std::holds_alternative<smtp::out::StartTls>(*o)) {
          if (shared_.tls) tls_ = std::make_unique<tls::TlsEngine>(*shared_.tls, tls::Role::server);
          else closed_ = true;
        }
        // out::Pause: time is not simulated in-process; the reply follows at once.
      }
      while (auto e = session_.poll_event()) {
        progress = true;
        const smtp::EventId id = event_id(*e);
        if (id == 0) continue;
        if (const auto* a = std::get_if<smtp::ev::Auth>(&*e)) {
          session_.complete(id, a->success ? smtp::Reply::make(235, {2, 7, 0}, "Authentication successful")
                                           : smtp::Reply::make(535, {5, 7, 8}, "Authentication credentials invalid"),
                            now_);
          continue;
        }
        session_.complete(id, verdict_for(*e), now_);
      }
    }
  }

  InprocShared& shared_;
  Instant now_{Duration(1'000'000'000)};
  smtp::ServerSession session_;
  std::unique_ptr<tls::TlsEngine> tls_;
  bool tls_started_ = false;
  std::string out_;
  std::string pending_;
  bool closed_ = false;
};

class InprocTarget final : public Target {
 public:
  explicit InprocTarget(std::unique_ptr<InprocShared> shared) : shared_(std::move(shared)) {}
  std::string describe() const override {
    return std::string("inproc (smtp::ServerSession, mx.example.test") + (shared_->tls ? ", STARTTLS" : "") +
           (shared_->users ? ", AUTH" : "") + ")";
  }
  std::unique_ptr<Connection> connect(std::string&) override { return std::make_unique<InprocConnection>(*shared_); }

 private:
  std::unique_ptr<InprocShared> shared_;
};

// ---------------------------------------------------------------- TCP

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
    return make_socket_connection(fd);
  }

 private:
  std::string host_, port_;
  sockaddr_storage addr_;
  socklen_t len_;
};

}  // namespace

std::unique_ptr<Target> make_inproc_smtp_target(const InprocOptions& o) {
  auto shared = std::make_unique<InprocShared>();
  if (o.starttls) {
    // A fresh self-signed certificate per target: the runner does not verify in-process.
    auto pair = tls::generate_self_signed("mx.example.test", WallTime{1'767'225'600'000'000});
    if (pair.ok()) {
      tls::TlsConfig cfg;
      cfg.cert_chain_pem = pair->cert_pem;
      cfg.key_pem = pair->key_pem;
      if (auto ctx = tls::TlsContext::create(tls::Role::server, cfg); ctx.ok()) shared->tls = std::move(*ctx);
    }
  }
  if (!o.user.empty()) shared->users = std::make_unique<OneUserStore>(shared->crypto, o.user, o.password);
  return std::make_unique<InprocTarget>(std::move(shared));
}

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
