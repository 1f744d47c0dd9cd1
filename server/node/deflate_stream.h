// DeflateStream: an rt::Stream that compresses what is written and decompresses what is
// read over another rt::Stream, in raw DEFLATE (IMAP COMPRESS=DEFLATE, RFC 4978). It is the
// layer above TLS when both run (RFC 4978 §3: compress, then encrypt): the connection
// driver wraps whatever stream it has, a TlsStream or a plain one, as it does for STARTTLS,
// so sessions never see compressed octets. Every write ends with a sync flush (§4: the peer
// never waits for bytes we hold back). A read returns at most the span given, whatever the
// compression ratio, so the session's line and literal limits still bound what a deflate
// bomb can make us hold. Corrupt input fails the read (Errc::invalid), which closes the
// connection. Env only: completions go through the Executor, never inline.
#pragma once

#include <memory>
#include <string>

#include "node/deflate_codec.h"
#include "runtime/env.h"

namespace mail::node {

class DeflateStream final : public rt::Stream {
 public:
  // Takes over `inner`. `initial`: compressed octets already read from `inner` (input
  // that followed the command turning compression on).
  DeflateStream(rt::Executor& executor, std::unique_ptr<rt::Stream> inner, const DeflateParams& params = {},
                std::string initial = {});
  ~DeflateStream() override;
  DeflateStream(const DeflateStream&) = delete;
  DeflateStream& operator=(const DeflateStream&) = delete;

  void async_read_some(std::span<std::byte> into, Instant deadline, rt::Completion<std::size_t> done) override;
  void async_write_all(std::span<const std::byte> bytes, Instant deadline, rt::Completion<void> done) override;
  void shutdown_send() override;
  void close() override;
  rt::Endpoint local_endpoint() const override { return local_; }
  rt::Endpoint remote_endpoint() const override { return remote_; }

  // What this layer holds now: zlib's state of both directions, and its own buffers
  // (the inner read buffer, compressed input not yet inflated, output being written).
  [[nodiscard]] std::size_t zlib_bytes() const noexcept;
  [[nodiscard]] std::size_t buffer_bytes() const noexcept;

 private:
  struct Core;
  std::shared_ptr<Core> core_;
  rt::Endpoint local_;
  rt::Endpoint remote_;
};

}  // namespace mail::node
