// TlsEngine: OpenSSL SSL object over two memory BIOs. The BIOs never grow past TlsLimits
// because input is clipped before BIO_write and SSL_read/SSL_write stop when the
// corresponding buffer is full. RFC 8446 §6 (alerts, close_notify), RFC 5246 §7.2.
#include "tls/engine.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>

#include "core/assert.h"

namespace mail::tls {

TlsEngine::TlsEngine(TlsContext& ctx, Role role, std::string server_name, TlsLimits limits) : limits_(limits) {
  MAIL_ASSERT(ctx.role() == role);
  ssl_ = SSL_new(ctx.native());
  MAIL_ASSERT(ssl_ != nullptr);
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  MAIL_ASSERT(rbio_ != nullptr);
  MAIL_ASSERT(wbio_ != nullptr);
  // An empty memory BIO reports "retry" instead of EOF, so SSL_read says WANT_READ.
  BIO_set_mem_eof_return(rbio_, -1);
  BIO_set_mem_eof_return(wbio_, -1);
  SSL_set_bio(ssl_, rbio_, wbio_);  // ssl_ owns both now
  if (role == Role::server) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
    if (!server_name.empty()) {
      SSL_set_tlsext_host_name(ssl_, server_name.c_str());
      if (ctx.verify_peer()) SSL_set1_host(ssl_, server_name.c_str());
    }
  }
  pump();  // a client queues its ClientHello now
}

TlsEngine::~TlsEngine() { SSL_free(ssl_); }

std::size_t TlsEngine::buffered_bytes() const noexcept {
  return BIO_ctrl_pending(rbio_) + BIO_ctrl_pending(wbio_) + plaintext_in_.size() + plaintext_out_.size();
}

void TlsEngine::fail(std::string reason) {
  if (failed_) return;
  failed_ = true;
  plaintext_out_.clear();
  events_.push_back(ev::Failed{std::move(reason)});
}

std::size_t TlsEngine::feed_ciphertext(std::string_view in) {
  return feed_ciphertext(std::as_bytes(std::span<const char>(in.data(), in.size())));
}

std::size_t TlsEngine::feed_ciphertext(std::span<const std::byte> in) {
  if (failed_ || peer_closed_) return in.size();  // dead: swallow, never reprocess
  const std::size_t held = BIO_ctrl_pending(rbio_);
  const std::size_t room = limits_.ciphertext_in_bytes_max > held ? limits_.ciphertext_in_bytes_max - held : 0;
  const std::size_t n = std::min({in.size(), room, std::size_t{INT_MAX}});
  if (n > 0) {
    const int w = BIO_write(rbio_, in.data(), static_cast<int>(n));
    MAIL_ASSERT(w == static_cast<int>(n));
  }
  pump();
  return n;
}

void TlsEngine::feed_eof() {
  if (failed_ || peer_closed_) return;
  fail(handshake_done_ ? "peer closed the transport without close_notify (truncation)"
                       : "peer closed the transport during the handshake");
}

std::size_t TlsEngine::write_plaintext(std::string_view in) {
  if (failed_ || closed_) return 0;
  const std::size_t room = limits_.plaintext_out_bytes_max - std::min<std::size_t>(plaintext_out_.size(), limits_.plaintext_out_bytes_max);
  const std::size_t n = std::min(in.size(), room);
  plaintext_out_.append(in.substr(0, n));
  pump();
  return n;
}

void TlsEngine::close_notify() {
  if (failed_ || closed_) return;
  closed_ = true;
  if (handshake_done_) {
    flush_pending_plaintext();
    SSL_shutdown(ssl_);  // queues the close_notify alert into wbio_
  }
  ERR_clear_error();
}

std::string TlsEngine::poll_ciphertext(std::size_t max_bytes) {
  const std::size_t n = std::min<std::size_t>({BIO_ctrl_pending(wbio_), max_bytes, std::size_t{INT_MAX}});
  std::string out(n, '\0');
  if (n > 0) {
    const int r = BIO_read(wbio_, out.data(), static_cast<int>(n));
    MAIL_ASSERT(r == static_cast<int>(n));
  }
  if (!failed_) pump();  // room in the output lets pending plaintext move on
  return out;
}

std::string TlsEngine::poll_plaintext(std::size_t max_bytes) {
  const std::size_t n = std::min(plaintext_in_.size(), max_bytes);
  std::string out = plaintext_in_.substr(0, n);
  plaintext_in_.erase(0, n);
  if (n > 0 && !failed_) pump();  // decrypt records that waited for room
  return out;
}

std::optional<Event> TlsEngine::poll_event() {
  if (events_.empty()) return std::nullopt;
  Event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void TlsEngine::flush_pending_plaintext() {
  while (!plaintext_out_.empty() && BIO_ctrl_pending(wbio_) < limits_.ciphertext_out_bytes_max) {
    // One record at most per call keeps the output buffer within ~16 KiB of its limit.
    const std::size_t chunk = std::min<std::size_t>(plaintext_out_.size(), 16384);
    const int w = SSL_write(ssl_, plaintext_out_.data(), static_cast<int>(chunk));
    if (w <= 0) {
      const int err = SSL_get_error(ssl_, w);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
      fail(openssl_error_text("TLS write failed"));
      return;
    }
    plaintext_out_.erase(0, static_cast<std::size_t>(w));
  }
}

void TlsEngine::pump() {
  if (failed_) return;
  ERR_clear_error();
  if (!handshake_done_) {
    const int r = SSL_do_handshake(ssl_);
    if (r != 1) {
      const int err = SSL_get_error(ssl_, r);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
      std::string reason = openssl_error_text("TLS handshake failed");
      const long vr = SSL_get_verify_result(ssl_);
      if (vr != X509_V_OK) reason += std::string(": ") + X509_verify_cert_error_string(vr);
      fail(std::move(reason));
      return;
    }
    handshake_done_ = true;
    ev::HandshakeDone done;
    done.version = SSL_get_version(ssl_);
    done.cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_));
    const unsigned char* alpn = nullptr;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(ssl_, &alpn, &alpn_len);
    if (alpn != nullptr) done.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
    if (X509* peer = SSL_get0_peer_certificate(ssl_)) {
      done.peer_certificate = true;
      char buf[512];
      X509_NAME_oneline(X509_get_subject_name(peer), buf, sizeof buf);
      done.peer_subject = buf;
      done.peer_verified = SSL_get_verify_result(ssl_) == X509_V_OK;
    }
    events_.push_back(std::move(done));
  }
  // Decrypt while there is room; records that do not fit wait in rbio_ (bounded above).
  while (!peer_closed_ && plaintext_in_.size() < limits_.plaintext_in_bytes_max) {
    char buf[16384];
    const std::size_t room = std::min(sizeof buf, limits_.plaintext_in_bytes_max - plaintext_in_.size());
    const int r = SSL_read(ssl_, buf, static_cast<int>(room));
    if (r > 0) {
      plaintext_in_.append(buf, static_cast<std::size_t>(r));
      continue;
    }
    const int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
    if (err == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
      events_.push_back(ev::Closed{});
      break;
    }
    fail(openssl_error_text("TLS record error"));
    return;
  }
  if (!closed_) flush_pending_plaintext();
}

}  // namespace mail::tls
