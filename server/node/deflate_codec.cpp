// Deflater / Inflater (see header): thin zlib wrappers. Must not: allocate beyond zlib's
// own state (counted through zalloc/zfree) and the caller's buffers, or loop without
// progress on a stream that neither takes input nor gives output.
#include "node/deflate_codec.h"

#include <zlib.h>

#include <cstdlib>
#include <cstring>

#include "core/assert.h"

namespace mail::node {

namespace {

// Each block carries its size in front, so zfree can count it back.
constexpr std::size_t kHeader = alignof(std::max_align_t);

voidpf counted_alloc(voidpf opaque, uInt items, uInt size) {
  const std::size_t n = static_cast<std::size_t>(items) * size;
  auto* p = static_cast<unsigned char*>(std::malloc(n + kHeader));
  if (p == nullptr) return Z_NULL;
  std::memcpy(p, &n, sizeof n);
  static_cast<ZlibMemory*>(opaque)->bytes += n;
  return p + kHeader;
}

void counted_free(voidpf opaque, voidpf address) {
  if (address == Z_NULL) return;
  auto* p = static_cast<unsigned char*>(address) - kHeader;
  std::size_t n = 0;
  std::memcpy(&n, p, sizeof n);
  static_cast<ZlibMemory*>(opaque)->bytes -= n;
  std::free(p);
}

z_stream* make_stream(ZlibMemory& mem) {
  auto* z = new z_stream{};
  z->zalloc = counted_alloc;
  z->zfree = counted_free;
  z->opaque = &mem;
  return z;
}

}  // namespace

Deflater::Deflater(const DeflateParams& p) : z_(make_stream(mem_)) {
  // Negative windowBits: raw deflate, no zlib header (RFC 4978 §4).
  const int rc = deflateInit2(z_, p.level, Z_DEFLATED, -p.window_bits, p.mem_level, Z_DEFAULT_STRATEGY);
  MAIL_ASSERT(rc == Z_OK);  // only a bad parameter or no memory; both are bugs here
}

Deflater::~Deflater() {
  deflateEnd(z_);
  delete z_;
}

Status Deflater::compress(std::string_view in, bool flush, std::string& out) {
  z_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z_->avail_in = static_cast<uInt>(in.size());
  MAIL_ASSERT(z_->avail_in == in.size());
  const int mode = flush ? Z_SYNC_FLUSH : Z_NO_FLUSH;
  for (;;) {
    // deflateBound covers the input; the flush marker and pending bits need a few more.
    const std::size_t room = deflateBound(z_, z_->avail_in) + 16;
    const std::size_t at = out.size();
    out.resize(at + room);
    z_->next_out = reinterpret_cast<Bytef*>(out.data() + at);
    z_->avail_out = static_cast<uInt>(room);
    const int rc = deflate(z_, mode);
    out.resize(at + (room - z_->avail_out));
    if (rc != Z_OK && rc != Z_BUF_ERROR) return mail::fail(Errc::io, "deflate failed");
    // Done once all input is taken and zlib had room left (nothing held back).
    if (z_->avail_in == 0 && z_->avail_out > 0) return {};
    if (rc == Z_BUF_ERROR && z_->avail_out > 0) return mail::fail(Errc::io, "deflate made no progress");
  }
}

Inflater::Inflater() : z_(make_stream(mem_)) {
  const int rc = inflateInit2(z_, -kInflateWindowBits);
  MAIL_ASSERT(rc == Z_OK);
}

Inflater::~Inflater() {
  inflateEnd(z_);
  delete z_;
}

Inflater::Step Inflater::inflate(std::string_view in, std::span<char> out) {
  Step step;
  step.status = done_;
  if (done_ != Status::ok || out.empty()) return step;
  z_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z_->avail_in = static_cast<uInt>(in.size());
  z_->next_out = reinterpret_cast<Bytef*>(out.data());
  z_->avail_out = static_cast<uInt>(out.size());
  MAIL_ASSERT(z_->avail_in == in.size());
  MAIL_ASSERT(z_->avail_out == out.size());
  const int rc = ::inflate(z_, Z_SYNC_FLUSH);
  step.consumed = in.size() - z_->avail_in;
  step.produced = out.size() - z_->avail_out;
  if (rc == Z_STREAM_END) {
    done_ = Status::end;
  } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
    done_ = Status::error;  // Z_DATA_ERROR (corrupt), Z_NEED_DICT (not raw), Z_MEM_ERROR
  }
  step.status = done_;
  return step;
}

}  // namespace mail::node
