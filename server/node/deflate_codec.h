// Raw DEFLATE (RFC 1951) for IMAP COMPRESS=DEFLATE (RFC 4978) over zlib: a Deflater that
// compresses what we send (each write ends with a sync flush so the peer can decode all of
// it at once) and an Inflater that decompresses what we read into a caller's bounded
// buffer (so a deflate bomb cannot make us allocate: the output of one call never exceeds
// the span given). Both count zlib's own allocations (memory_bytes) for the idle-session
// budget. Sans-IO values: no Env, no clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"

struct z_stream_s;

namespace mail::node {

// Our compressor's settings: RFC 4978 §4 lets each side pick its own (windowBits -8..-15;
// zlib refuses -8 for raw deflate, so -9 is the floor). A 4 KiB window and memLevel 5 keep
// the deflate state near 30 KiB instead of zlib's ~256 KiB default (windowBits 15,
// memLevel 8): 10,000 idle compressed sessions must fit in memory.
struct DeflateParams {
  int level = 1;         // RFC 4978 §4: "its least CPU-intensive setting" gives 25-40% on responses
  int window_bits = 12;  // 4 KiB history
  int mem_level = 5;     // hash table and pending buffer
  std::size_t write_chunk_bytes = 16 * 1024;  // plaintext per deflate() call and inner write
  std::size_t read_bytes = 4 * 1024;          // compressed octets per inner read
};
// The decompressor must take any window the peer chose, up to 32 KiB (RFC 4978 §4 allows
// windowBits -15; Python's zlib.compressobj(wbits=-15) is the common client).
inline constexpr int kInflateWindowBits = 15;
static_assert(DeflateParams{}.window_bits >= 9 && DeflateParams{}.window_bits <= kInflateWindowBits);
static_assert(DeflateParams{}.mem_level >= 1 && DeflateParams{}.mem_level <= 9);

// zlib's allocations of one stream, counted (zalloc/zfree hooks).
struct ZlibMemory {
  std::size_t bytes = 0;
};

class Deflater {
 public:
  explicit Deflater(const DeflateParams& params);
  ~Deflater();
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // Appends the compressed form of `in` to `out`; `flush` ends it with Z_SYNC_FLUSH (the
  // peer can decode everything sent so far). Errc::io only on a zlib failure.
  Status compress(std::string_view in, bool flush, std::string& out);
  std::size_t memory_bytes() const noexcept { return mem_.bytes; }

 private:
  ZlibMemory mem_;
  z_stream_s* z_ = nullptr;
};

class Inflater {
 public:
  enum class Status : std::uint8_t { ok, end, error };
  struct Step {
    std::size_t consumed = 0;  // octets of `in` taken
    std::size_t produced = 0;  // octets written to `out`
    Status status = Status::ok;  // end: the peer closed its deflate stream (a final block)
  };

  Inflater();
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Decompresses from `in` into `out` (never more than out.size() octets). With `in` empty
  // it still hands out what zlib holds back from an earlier call whose output was full.
  // After error or end, every call returns the same status.
  Step inflate(std::string_view in, std::span<char> out);
  std::size_t memory_bytes() const noexcept { return mem_.bytes; }

 private:
  ZlibMemory mem_;
  z_stream_s* z_ = nullptr;
  Status done_ = Status::ok;
};

}  // namespace mail::node
