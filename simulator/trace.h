// Trace: the simulator's canonical event record. Every record is (virtual time in µs,
// host, kind, detail text) and is folded into a running 64-bit FNV-1a hash over a
// length-prefixed little-endian encoding (fields longer than 32 bytes enter as their
// content_hash), so the hash is stable across builds and platforms. Records must never contain pointers, wall-clock time or anything that
// depends on allocation or iteration over unordered containers (DESIGN.md Determinism).
// Keeps the last `tail_records` records for failure reports; can stream all to a file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <vector>
#include <string>
#include <string_view>

#include "core/time.h"

namespace mail::sim {

struct TraceOptions {
  std::size_t tail_records = 200;  // kept for failure reports
  std::string file;                // when non-empty, every record is also written here
};

class Trace {
 public:
  explicit Trace(TraceOptions options = {});
  ~Trace();
  Trace(const Trace&) = delete;
  Trace& operator=(const Trace&) = delete;

  // Appends one canonical record. `kind` is a short stable tag ("net.seg", "disk.sync").
  void record(Instant at, std::string_view host, std::string_view kind, std::string_view detail);
  // Folds integers into the hash without keeping a printable record (scheduler steps).
  void fold(std::uint64_t a, std::uint64_t b, std::uint64_t c) noexcept;

  std::uint64_t hash() const noexcept { return hash_; }
  std::uint64_t records() const noexcept { return records_; }
  // The last `n` (at most tail_records) records, one per line: "   12.000345 mx1 kind detail".
  std::string tail(std::size_t n) const;
  // True when the trace file could be opened (or none was asked for).
  bool file_ok() const noexcept { return options_.file.empty() || file_ != nullptr; }

  static std::string format(Instant at, std::string_view host, std::string_view kind, std::string_view detail);

 private:
  void mix_bytes(const void* data, std::size_t n) noexcept;
  void mix_u64(std::uint64_t v) noexcept;
  void mix_str(std::string_view s) noexcept;

  struct Rec {
    std::int64_t at_us = 0;
    std::string host;
    std::string kind;
    std::string detail;
  };
  TraceOptions options_;
  std::uint64_t hash_ = 0xcbf29ce484222325ull;
  std::uint64_t records_ = 0;
  // A ring whose strings are assigned in place, so a warm trace does not allocate.
  std::vector<Rec> tail_;
  std::size_t tail_next_ = 0;
  std::FILE* file_ = nullptr;
};

// Hex digest helpers for trace payloads (content hashes, never contents of big blobs).
std::string hex64(std::uint64_t v);
// A portable 64-bit hash of `bytes` (8-byte little-endian words through a multiply-xorshift
// mixer): the same value on every platform and build, and several times faster than
// byte-wise FNV-1a on message bodies.
std::uint64_t content_hash(std::string_view bytes, std::uint64_t seed = 0) noexcept;

}  // namespace mail::sim
