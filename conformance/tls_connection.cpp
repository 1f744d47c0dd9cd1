// TLS connections and targets for the runner. The engine is driven by its contract
// (tls/engine.h): after every feed/write, drain poll_ciphertext (send it) and
// poll_plaintext. The STARTTLS dance per protocol is the minimum each RFC prescribes:
// SMTP EHLO then STARTTLS/220, IMAP STARTTLS/OK, POP3 STLS/+OK.
#include "tls_connection.h"

#include <deque>

#include "case_run.h"
#include "tls/context.h"
#include "tls/engine.h"

namespace mail::conformance {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds left_until(Clock::time_point deadline) {
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
}

class TlsConnection final : public Connection {
 public:
  TlsConnection(std::unique_ptr<Connection> inner, tls::TlsContext& ctx, const std::string& server_name,
                tls::Role role = tls::Role::client)
      : inner_(std::move(inner)), engine_(ctx, role, server_name) {}

  // Runs the handshake to completion; false with `error` on failure or timeout.
  bool handshake(std::chrono::milliseconds timeout, std::string& error) {
    const auto deadline = Clock::now() + timeout;
    while (!engine_.handshake_done()) {
      if (!flush(error)) return false;
      if (engine_.failed()) return failed(error);
      std::string in;
      const auto rc = inner_->recv(in, left_until(deadline));
      if (rc == Recv::timeout) {
        error = "TLS handshake timed out";
        return false;
      }
      if (rc != Recv::data) {
        engine_.feed_eof();
        (void)flush(error);
        error = "connection closed during the TLS handshake";
        return false;
      }
      if (!feed(in, error)) return false;
    }
    return flush(error);
  }

  // Plaintext to deliver before anything that comes from the peer (a replayed greeting).
  void prepend(std::string bytes) { plain_ = std::move(bytes) + plain_; }

  bool send(std::string_view bytes, std::string& error) override {
    while (!bytes.empty()) {
      const std::size_t n = engine_.write_plaintext(bytes);
      if (engine_.failed()) return failed(error);
      if (!flush(error)) return false;
      if (n == 0) {
        error = "TLS engine takes no more plaintext";
        return false;
      }
      bytes.remove_prefix(n);
    }
    return true;
  }

  Recv recv(std::string& buf, std::chrono::milliseconds timeout) override {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      plain_ += engine_.poll_plaintext();
      if (!plain_.empty()) {
        buf += plain_;
        plain_.clear();
        return Recv::data;
      }
      if (closed_) return Recv::eof;
      std::string in;
      const auto rc = inner_->recv(in, left_until(deadline));
      if (rc == Recv::timeout) return Recv::timeout;
      std::string error;
      if (rc != Recv::data) {
        // A hang-up without close_notify is a truncation for TLS, but for the cases what
        // matters is that the server closed: report eof after any plaintext left.
        closed_ = true;
        continue;
      }
      if (!feed(in, error)) {
        closed_ = true;
        continue;
      }
    }
  }

 private:
  bool feed(std::string_view in, std::string& error) {
    while (!in.empty()) {
      const std::size_t n = engine_.feed_ciphertext(in);
      if (!flush(error)) return false;
      plain_ += engine_.poll_plaintext();
      while (auto e = engine_.poll_event()) {
        if (std::holds_alternative<tls::ev::Closed>(*e)) closed_ = true;
        if (const auto* f = std::get_if<tls::ev::Failed>(&*e)) {
          error = "TLS: " + f->reason;
          return false;
        }
      }
      if (n == 0 && !in.empty()) {
        error = "TLS engine takes no more ciphertext";
        return false;
      }
      in.remove_prefix(n);
    }
    return true;
  }
  bool flush(std::string& error) {
    for (std::string c; !(c = engine_.poll_ciphertext()).empty();)
      if (!inner_->send(c, error)) return false;
    return true;
  }
  bool failed(std::string& error) {
    error = "TLS failed";
    while (auto e = engine_.poll_event())
      if (const auto* f = std::get_if<tls::ev::Failed>(&*e)) error = "TLS: " + f->reason;
    std::string ignored;
    (void)flush(ignored);  // the alert, if any
    return false;
  }

  std::unique_ptr<Connection> inner_;
  tls::TlsEngine engine_;
  std::string plain_;
  bool closed_ = false;
};

// Reads from `conn` into `buf` until `complete(buf)` says the response is there.
bool read_until(Connection& conn, std::string& buf, Clock::time_point deadline, bool (*complete)(const std::string&),
                std::string& error) {
  while (!complete(buf)) {
    const auto rc = conn.recv(buf, left_until(deadline));
    if (rc != Connection::Recv::data) {
      error = rc == Connection::Recv::timeout ? "no answer in time" : "connection closed";
      error += " (got " + printable(buf, 120) + ")";
      return false;
    }
  }
  return true;
}

// An SMTP reply is complete when its last line ("NNN " or "NNN\r\n") ended.
bool smtp_complete(const std::string& b) {
  std::size_t start = 0;
  for (std::size_t lf; (lf = b.find('\n', start)) != std::string::npos; start = lf + 1)
    if (lf - start >= 3 && (lf - start == 4 || b[start + 3] == ' ')) return true;
  return false;
}
bool line_complete(const std::string& b) { return b.find('\n') != std::string::npos; }
bool imap_tagged_complete(const std::string& b) {
  const std::size_t at = b.find("\r\nS0 ");
  return (b.rfind("S0 ", 0) == 0 || at != std::string::npos) && b.back() == '\n';
}

// Performs the protocol's STARTTLS dance on `conn`; returns the greeting (to replay).
bool starttls_dance(Connection& conn, Protocol p, std::chrono::milliseconds timeout, std::string& greeting,
                    std::string& error) {
  const auto deadline = Clock::now() + timeout;
  std::string buf;
  switch (p) {
    case Protocol::smtp: {
      if (!read_until(conn, buf, deadline, smtp_complete, error)) return false;
      greeting = buf;
      buf.clear();
      if (!conn.send("EHLO conformance.example.test\r\n", error)) return false;
      if (!read_until(conn, buf, deadline, smtp_complete, error)) return false;
      buf.clear();
      if (!conn.send("STARTTLS\r\n", error)) return false;
      if (!read_until(conn, buf, deadline, smtp_complete, error)) return false;
      if (buf.rfind("220", 0) != 0) {
        error = "STARTTLS answered " + printable(buf, 120);
        return false;
      }
      return true;
    }
    case Protocol::imap: {
      if (!read_until(conn, buf, deadline, line_complete, error)) return false;
      greeting = buf;
      // The greeting's [CAPABILITY ...] code is pre-TLS knowledge the client MUST discard
      // (RFC 9051 §6.2.1): the replayed greeting goes without it.
      if (const auto open = greeting.find("[CAPABILITY "); open != std::string::npos) {
        const auto close = greeting.find("] ", open);
        if (close != std::string::npos) greeting.erase(open, close + 2 - open);
      }
      buf.clear();
      if (!conn.send("S0 STARTTLS\r\n", error)) return false;
      if (!read_until(conn, buf, deadline, imap_tagged_complete, error)) return false;
      if (buf.find("S0 OK") == std::string::npos) {
        error = "STARTTLS answered " + printable(buf, 120);
        return false;
      }
      return true;
    }
    case Protocol::pop3: {
      if (!read_until(conn, buf, deadline, line_complete, error)) return false;
      greeting = buf;
      buf.clear();
      if (!conn.send("STLS\r\n", error)) return false;
      if (!read_until(conn, buf, deadline, line_complete, error)) return false;
      if (buf.rfind("+OK", 0) != 0) {
        error = "STLS answered " + printable(buf, 120);
        return false;
      }
      return true;
    }
  }
  return false;
}

class TlsTarget final : public Target {
 public:
  TlsTarget(std::unique_ptr<Target> inner, TlsMode mode, Protocol p, std::shared_ptr<tls::TlsContext> ctx,
            std::string server_name, std::chrono::milliseconds timeout)
      : inner_(std::move(inner)), mode_(mode), protocol_(p), ctx_(std::move(ctx)),
        server_name_(std::move(server_name)), timeout_(timeout) {}

  std::string describe() const override {
    return inner_->describe() + (mode_ == TlsMode::implicit ? " + implicit TLS" : " + STARTTLS");
  }

  std::unique_ptr<Connection> connect(std::string& error) override {
    auto conn = inner_->connect(error);
    if (!conn) return nullptr;
    std::string greeting;
    if (mode_ == TlsMode::starttls && !starttls_dance(*conn, protocol_, timeout_, greeting, error)) {
      error = "STARTTLS upgrade: " + error;
      return nullptr;
    }
    auto tls = std::make_unique<TlsConnection>(std::move(conn), *ctx_, server_name_);
    if (!tls->handshake(timeout_, error)) return nullptr;
    tls->prepend(std::move(greeting));
    return tls;
  }

 private:
  std::unique_ptr<Target> inner_;
  TlsMode mode_;
  Protocol protocol_;
  std::shared_ptr<tls::TlsContext> ctx_;
  std::string server_name_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

std::shared_ptr<tls::TlsContext> make_client_tls_context(const std::string& ca_file, std::string& error) {
  tls::TlsConfig cfg;
  cfg.verify_peer = !ca_file.empty();
  cfg.ca_file = ca_file;
  auto ctx = tls::TlsContext::create(tls::Role::client, cfg);
  if (!ctx) {
    error = ctx.error().detail.empty() ? "cannot create a TLS client context" : ctx.error().detail;
    return nullptr;
  }
  return std::shared_ptr<tls::TlsContext>(std::move(*ctx));
}

std::unique_ptr<Connection> tls_handshake(std::unique_ptr<Connection> inner, tls::TlsContext& ctx,
                                          const std::string& server_name, std::chrono::milliseconds timeout,
                                          std::string& error) {
  auto tls = std::make_unique<TlsConnection>(std::move(inner), ctx, server_name);
  if (!tls->handshake(timeout, error)) return nullptr;
  return tls;
}

std::unique_ptr<Connection> tls_accept(std::unique_ptr<Connection> inner, tls::TlsContext& ctx,
                                       std::chrono::milliseconds timeout, std::string& error) {
  auto tls = std::make_unique<TlsConnection>(std::move(inner), ctx, std::string(), tls::Role::server);
  if (!tls->handshake(timeout, error)) return nullptr;
  return tls;
}

std::unique_ptr<Target> make_tls_target(std::unique_ptr<Target> inner, TlsMode mode, Protocol protocol,
                                        std::shared_ptr<tls::TlsContext> ctx, std::string server_name,
                                        std::chrono::milliseconds timeout) {
  return std::make_unique<TlsTarget>(std::move(inner), mode, protocol, std::move(ctx), std::move(server_name),
                                     timeout);
}

}  // namespace mail::conformance
