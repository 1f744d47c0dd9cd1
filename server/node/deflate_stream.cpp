// DeflateStream (see header). At most one inner read and one inner write are in flight;
// user completions are always posted, never run inline. Must not: read from the inner
// stream while compressed input is still waiting (what waits fits the fixed read buffer),
// hand a reader more than its span, or keep write buffers once a write has completed (an
// idle compressed session holds zlib's state and the inner read buffer only).
#include "node/deflate_stream.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "core/assert.h"

namespace mail::node {

struct DeflateStream::Core : std::enable_shared_from_this<DeflateStream::Core> {
  Core(rt::Executor& ex, std::unique_ptr<rt::Stream> in, const DeflateParams& p)
      : executor(ex), inner(std::move(in)), params(p), deflater(p), read_buf(std::make_unique<char[]>(p.read_bytes)) {}

  struct PendingRead {
    std::span<std::byte> into;
    Instant deadline;
    rt::Completion<std::size_t> done;
  };
  struct PendingWrite {
    std::span<const std::byte> rest;  // plaintext not compressed yet
    Instant deadline;
    rt::Completion<void> done;
  };

  rt::Executor& executor;
  std::unique_ptr<rt::Stream> inner;
  DeflateParams params;
  Deflater deflater;
  Inflater inflater;
  std::unique_ptr<char[]> read_buf;  // compressed octets [in_pos, in_len) not inflated yet
  std::size_t in_pos = 0;
  std::size_t in_len = 0;
  std::string initial;  // compressed octets read before this layer existed
  std::string writing;  // compressed octets of the inner write in flight
  bool inner_read_in_flight = false;
  bool inner_write_in_flight = false;
  std::optional<Error> read_end;   // eof / timeout / transport error / corrupt input
  std::optional<Error> failure;    // write side: transport error or close()
  std::optional<PendingRead> user_read;
  std::optional<PendingWrite> user_write;

  template <class T>
  void post(rt::Completion<T> done, Result<T> r) {
    executor.post([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
  }

  // Compressed input not inflated yet: `initial` first, then the inner read buffer.
  std::string_view input() const {
    if (!initial.empty()) return initial;
    return {read_buf.get() + in_pos, in_len - in_pos};
  }
  void take_input(std::size_t n) {
    if (!initial.empty()) {
      initial.erase(0, n);
      if (initial.empty()) std::string().swap(initial);
      return;
    }
    in_pos += n;
    if (in_pos == in_len) in_pos = in_len = 0;
  }

  void pump_read() {
    if (!user_read || inner_read_in_flight) return;
    if (failure) return finish_read(mail::fail(*failure));
    auto out = std::span(reinterpret_cast<char*>(user_read->into.data()), user_read->into.size());
    // Inflate first (zlib may hold output back from a call whose span was full), until
    // there is output for the reader or no input left.
    for (;;) {
      const Inflater::Step step = inflater.inflate(input(), out);
      take_input(step.consumed);
      if (step.produced > 0) return finish_read(step.produced);
      if (step.status == Inflater::Status::error) {
        read_end = Error{Errc::invalid, "corrupt DEFLATE input"};
        break;
      }
      if (step.status == Inflater::Status::end) {
        read_end = Error{Errc::eof, "the peer ended its DEFLATE stream"};
        break;
      }
      if (input().empty()) break;
      if (step.consumed == 0) {  // input left, room left, no progress: not DEFLATE
        read_end = Error{Errc::invalid, "DEFLATE input makes no progress"};
        break;
      }
    }
    if (read_end) {
      Error e = *read_end;
      if (e.code == Errc::timeout) read_end.reset();  // a later read may wait again
      return finish_read(mail::fail(std::move(e)));
    }
    start_inner_read();
  }

  void start_inner_read() {
    MAIL_ASSERT(input().empty());
    inner_read_in_flight = true;
    auto self = shared_from_this();
    auto into = std::as_writable_bytes(std::span(read_buf.get(), params.read_bytes));
    inner->async_read_some(into, user_read->deadline, [self](Result<std::size_t> r) {
      self->inner_read_in_flight = false;
      if (r.ok()) {
        MAIL_ASSERT(*r > 0 && *r <= self->params.read_bytes);
        self->in_pos = 0;
        self->in_len = *r;
      } else {
        self->read_end = r.error();
      }
      self->pump_read();
    });
  }

  void finish_read(Result<std::size_t> r) {
    auto pending = std::move(*user_read);
    user_read.reset();
    post<std::size_t>(std::move(pending.done), std::move(r));
  }

  void pump_write() {
    if (!user_write || inner_write_in_flight) return;
    if (failure) return finish_write(mail::fail(*failure));
    if (user_write->rest.empty() && writing.empty()) return finish_write({});
    // Compress one chunk; the last one ends with the sync flush. Chunks that compress to
    // nothing yet (zlib keeps them in its window) move straight on to the next.
    while (writing.empty() && !user_write->rest.empty()) {
      const std::size_t n = std::min(user_write->rest.size(), params.write_chunk_bytes);
      const std::string_view chunk(reinterpret_cast<const char*>(user_write->rest.data()), n);
      user_write->rest = user_write->rest.subspan(n);
      if (Status s = deflater.compress(chunk, user_write->rest.empty(), writing); !s.ok()) {
        failure = s.error();
        return finish_write(mail::fail(*failure));
      }
    }
    if (writing.empty()) return finish_write({});
    inner_write_in_flight = true;
    auto self = shared_from_this();
    inner->async_write_all(std::as_bytes(std::span(writing.data(), writing.size())), user_write->deadline,
                           [self](Status s) {
                             self->inner_write_in_flight = false;
                             std::string().swap(self->writing);  // release: idle sessions keep no buffer
                             if (!s.ok() && !self->failure) self->failure = s.error();
                             self->pump_write();
                           });
  }

  void finish_write(Status s) {
    auto pending = std::move(*user_write);
    user_write.reset();
    executor.post([done = std::move(pending.done), s = std::move(s)]() mutable { done(std::move(s)); });
  }
};

DeflateStream::DeflateStream(rt::Executor& executor, std::unique_ptr<rt::Stream> inner, const DeflateParams& params,
                             std::string initial)
    : core_(std::make_shared<Core>(executor, std::move(inner), params)) {
  MAIL_ASSERT(core_->inner != nullptr);
  MAIL_ASSERT(params.read_bytes > 0);
  MAIL_ASSERT(params.write_chunk_bytes > 0);
  local_ = core_->inner->local_endpoint();
  remote_ = core_->inner->remote_endpoint();
  core_->initial = std::move(initial);
}

DeflateStream::~DeflateStream() {
  // Pending user completions are destroyed uncalled (the Env contract for a destroyed
  // stream); inner operations still in flight keep the core (and its buffers) alive.
  core_->user_read.reset();
  core_->user_write.reset();
  core_->failure = Error{Errc::canceled, "destroyed"};
  core_->inner.reset();
}

void DeflateStream::async_read_some(std::span<std::byte> into, Instant deadline, rt::Completion<std::size_t> done) {
  MAIL_ASSERT(!core_->user_read);
  MAIL_ASSERT(!into.empty());
  core_->user_read = Core::PendingRead{into, deadline, std::move(done)};
  core_->pump_read();
}

void DeflateStream::async_write_all(std::span<const std::byte> bytes, Instant deadline, rt::Completion<void> done) {
  MAIL_ASSERT(!core_->user_write);
  core_->user_write = Core::PendingWrite{bytes, deadline, std::move(done)};
  core_->pump_write();
}

void DeflateStream::shutdown_send() {
  // The deflate stream is left open (RFC 4978 defines no end): FIN says enough.
  if (core_->inner) core_->inner->shutdown_send();
}

void DeflateStream::close() {
  if (!core_->failure) core_->failure = Error{Errc::canceled, "closed"};
  if (core_->inner) core_->inner->close();  // inner operations complete canceled, later
  core_->pump_read();
  core_->pump_write();
}

std::size_t DeflateStream::zlib_bytes() const noexcept {
  return core_->deflater.memory_bytes() + core_->inflater.memory_bytes();
}

std::size_t DeflateStream::buffer_bytes() const noexcept {
  // Heap bytes only: an empty std::string's inline capacity costs nothing extra.
  const auto heap = [](const std::string& s) { return s.capacity() > std::string().capacity() ? s.capacity() : 0; };
  return core_->params.read_bytes + heap(core_->initial) + heap(core_->writing);
}

}  // namespace mail::node
