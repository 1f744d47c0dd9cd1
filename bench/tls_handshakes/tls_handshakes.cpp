// tls_handshakes: load generator for bench/tls_handshakes/run.sh. C threads run one SMTP
// session shape back to back for S seconds against a cloudsdial listener (blocking sockets,
// OpenSSL client without session resumption, so every handshake is full; no cert checks).
// Usage: tls_handshakes --port P --scenario plain|plain_auth|starttls|starttls_auth|
//          implicit_auth|handshake [--host IP] [--threads C] [--seconds S] [--user U --password PW]
// Prints one line of key=value figures (sessions/s, latency, client CPU, TLS parameters).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1", scenario, user, password;
  int port = 0, threads = 4;
  double seconds = 5;
};

struct Shape {
  bool implicit_tls = false, starttls = false, auth = false, ehlo = true, quit = true;
};

std::mutex g_mu;
std::string g_first_error, g_tls_params;
std::atomic<long> g_resumed{0};

// One connection: a socket, optionally wrapped in TLS, and a line buffer for replies.
class Conn {
 public:
  ~Conn() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
  }
  bool connect(const Options& o, std::string& err) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(o.port));
    ::inet_pton(AF_INET, o.host.c_str(), &a.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return true;
    err = std::string("connect: ") + std::strerror(errno);
    return false;
  }
  bool handshake(SSL_CTX* ctx, std::string& err) {
    ssl_ = SSL_new(ctx);
    SSL_set_fd(ssl_, fd_);
    if (SSL_connect(ssl_) == 1) return true;
    err = "TLS handshake: " + ssl_error();
    return false;
  }
  bool send(const std::string& s, std::string& err) {
    int n = ssl_ ? SSL_write(ssl_, s.data(), static_cast<int>(s.size()))
                 : static_cast<int>(::send(fd_, s.data(), s.size(), MSG_NOSIGNAL));
    if (n == static_cast<int>(s.size())) return true;
    err = "write failed: " + (ssl_ ? ssl_error() : std::string(std::strerror(errno)));
    return false;
  }
  // Reads one (multi-line) reply; true if its code is `want`.
  bool reply(int want, std::string& err) {
    for (;;) {
      size_t eol = buf_.find("\r\n");
      if (eol == std::string::npos) {
        if (!fill()) {
          err = "connection closed while waiting for " + std::to_string(want);
          return false;
        }
        continue;
      }
      std::string line = buf_.substr(0, eol);
      buf_.erase(0, eol + 2);
      if (line.size() >= 4 && line[3] == '-') continue;
      if (std::atoi(line.c_str()) == want) return true;
      err = "expected " + std::to_string(want) + ", got: " + line;
      return false;
    }
  }
  bool buffer_empty() const { return buf_.empty(); }
  // After QUIT: wait until the server closes, so its whole session falls inside the run.
  void drain() {
    while (fill()) buf_.clear();
  }
  void shutdown_tls() {
    if (ssl_) SSL_shutdown(ssl_);  // send close_notify, do not wait for the peer's
  }
  SSL* ssl() const { return ssl_; }

 private:
  bool fill() {
    char tmp[4096];
    int n = ssl_ ? SSL_read(ssl_, tmp, sizeof tmp) : static_cast<int>(::recv(fd_, tmp, sizeof tmp, 0));
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  static std::string ssl_error() {
    unsigned long e = ERR_get_error();
    char b[256] = "no OpenSSL error queued";
    if (e) ERR_error_string_n(e, b, sizeof b);
    ERR_clear_error();
    return b;
  }
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string buf_;
};

std::string tls_params(SSL* ssl) {
  std::string s = std::string("tls=") + SSL_get_version(ssl) + " cipher=" + SSL_get_cipher_name(ssl);
  int nid = SSL_get_negotiated_group(ssl);
  const char* g = nid ? OBJ_nid2sn(nid) : nullptr;
  s += std::string(" group=") + (g ? g : "?");
  if (X509* cert = SSL_get1_peer_certificate(ssl)) {
    if (EVP_PKEY* k = X509_get0_pubkey(cert))
      s += std::string(" cert=") + EVP_PKEY_get0_type_name(k) + "-" + std::to_string(EVP_PKEY_get_bits(k));
    X509_free(cert);
  }
  return s;
}

std::string auth_plain(const Options& o) {
  std::string raw = std::string(1, '\0') + o.user + std::string(1, '\0') + o.password;
  std::string b64(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  b64.resize(static_cast<size_t>(n));
  return "AUTH PLAIN " + b64 + "\r\n";
}

bool session(const Options& o, const Shape& sh, SSL_CTX* ctx, const std::string& auth_line, std::string& err) {
  Conn c;
  if (!c.connect(o, err)) return false;
  if (sh.implicit_tls && !c.handshake(ctx, err)) return false;
  if (!c.reply(220, err)) return false;
  if (sh.ehlo && !(c.send("EHLO bench.test\r\n", err) && c.reply(250, err))) return false;
  if (sh.starttls) {
    if (!(c.send("STARTTLS\r\n", err) && c.reply(220, err))) return false;
    if (!c.buffer_empty()) {
      err = "bytes after 220 to STARTTLS";
      return false;
    }
    if (!c.handshake(ctx, err)) return false;
    if (!(c.send("EHLO bench.test\r\n", err) && c.reply(250, err))) return false;
  }
  if (sh.auth && !(c.send(auth_line, err) && c.reply(235, err))) return false;
  if (SSL* ssl = c.ssl()) {
    if (SSL_session_reused(ssl)) g_resumed.fetch_add(1);
    std::lock_guard lock(g_mu);
    if (g_tls_params.empty()) g_tls_params = tls_params(ssl);
  }
  if (sh.quit) {
    if (!(c.send("QUIT\r\n", err) && c.reply(221, err))) return false;
    c.drain();
  } else {
    c.shutdown_tls();
  }
  return true;
}

bool parse(int argc, char** argv, Options& o, Shape& sh) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--host") o.host = v;
    else if (k == "--port") o.port = std::atoi(v.c_str());
    else if (k == "--scenario") o.scenario = v;
    else if (k == "--threads") o.threads = std::atoi(v.c_str());
    else if (k == "--seconds") o.seconds = std::atof(v.c_str());
    else if (k == "--user") o.user = v;
    else if (k == "--password") o.password = v;
    else return false;
  }
  const std::string& s = o.scenario;
  if (s == "plain") sh = {};
  else if (s == "plain_auth") sh = {.auth = true};
  else if (s == "starttls") sh = {.starttls = true};
  else if (s == "starttls_auth") sh = {.starttls = true, .auth = true};
  else if (s == "implicit_auth") sh = {.implicit_tls = true, .auth = true};
  else if (s == "handshake") sh = {.implicit_tls = true, .ehlo = false, .quit = false};
  else return false;
  return o.port > 0 && o.threads > 0 && o.seconds > 0 && (!sh.auth || !o.user.empty());
}

double cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  Shape sh;
  if (!parse(argc, argv, o, sh)) {
    std::fprintf(stderr, "usage: tls_handshakes --port P --scenario plain|plain_auth|starttls|starttls_auth|"
                         "implicit_auth|handshake [--host IP] [--threads C] [--seconds S] [--user U --password PW]\n");
    return 2;
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);  // no resumption: full handshakes only
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  const std::string auth_line = auth_plain(o);

  std::vector<std::vector<double>> lat(static_cast<size_t>(o.threads));
  std::atomic<long> errors{0};
  const double cpu0 = cpu_seconds();
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::duration<double>(o.seconds);
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) {
    threads.emplace_back([&, t] {
      std::string err;
      while (Clock::now() < deadline) {
        auto s0 = Clock::now();
        if (session(o, sh, ctx, auth_line, err)) {
          lat[static_cast<size_t>(t)].push_back(std::chrono::duration<double, std::milli>(Clock::now() - s0).count());
        } else {
          errors.fetch_add(1);
          std::lock_guard lock(g_mu);
          if (g_first_error.empty()) g_first_error = err;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = cpu_seconds() - cpu0;

  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : all[static_cast<size_t>(p * static_cast<double>(all.size() - 1))]; };
  const double n = static_cast<double>(all.size());
  std::printf("scenario=%s threads=%d sessions=%zu errors=%ld wall_s=%.3f rate=%.1f p50_ms=%.2f p99_ms=%.2f "
              "client_cpu_ms=%.3f resumed=%ld %s\n",
              o.scenario.c_str(), o.threads, all.size(), errors.load(), wall, n / wall, pct(0.5), pct(0.99),
              n > 0 ? cpu * 1000 / n : 0.0, g_resumed.load(), g_tls_params.empty() ? "tls=none" : g_tls_params.c_str());
  if (!g_first_error.empty()) std::fprintf(stderr, "tls_handshakes: first error: %s\n", g_first_error.c_str());
  SSL_CTX_free(ctx);
  return all.empty() ? 1 : 0;
}
