// Trace implementation: FNV-1a 64 over a canonical byte encoding of each record.
#include "trace.h"

#include <cinttypes>

#include "core/hash.h"

namespace mail::sim {

Trace::Trace(TraceOptions options) : options_(std::move(options)) {
  if (!options_.file.empty()) file_ = std::fopen(options_.file.c_str(), "w");
}

Trace::~Trace() {
  if (file_ != nullptr) std::fclose(file_);
}

void Trace::mix_bytes(const void* data, std::size_t n) noexcept {
  // Long fields (paths, log lines) are digested word-wise first, then folded like the rest.
  if (n > 32) {
    mix_u64(content_hash(std::string_view(static_cast<const char*>(data), n), hash_));
    return;
  }
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t h = hash_;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  hash_ = h;
}

void Trace::mix_u64(std::uint64_t v) noexcept {
  // Little-endian regardless of the host, so the encoding is canonical.
  unsigned char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
  mix_bytes(b, sizeof b);
}

void Trace::mix_str(std::string_view s) noexcept {
  mix_u64(s.size());
  mix_bytes(s.data(), s.size());
}

void Trace::record(Instant at, std::string_view host, std::string_view kind, std::string_view detail) {
  const auto at_us = static_cast<std::int64_t>(at.time_since_epoch().count());
  mix_u64('R');
  mix_u64(static_cast<std::uint64_t>(at_us));
  mix_str(host);
  mix_str(kind);
  mix_str(detail);
  ++records_;
  if (options_.tail_records > 0) {
    if (tail_.size() < options_.tail_records) tail_.emplace_back();
    Rec& r = tail_.size() < options_.tail_records ? tail_.back() : tail_[tail_next_];
    if (tail_.size() == options_.tail_records) tail_next_ = (tail_next_ + 1) % options_.tail_records;
    r.at_us = at_us;
    r.host.assign(host);
    r.kind.assign(kind);
    r.detail.assign(detail);
  }
  if (file_ != nullptr) {
    const std::string line = format(at, host, kind, detail);
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fputc('\n', file_);
  }
}

void Trace::fold(std::uint64_t a, std::uint64_t b, std::uint64_t c) noexcept {
  mix_u64('F');
  mix_u64(a);
  mix_u64(b);
  mix_u64(c);
}

std::string Trace::format(Instant at, std::string_view host, std::string_view kind, std::string_view detail) {
  const auto us = static_cast<std::int64_t>(at.time_since_epoch().count());
  char head[48];
  std::snprintf(head, sizeof head, "%6" PRId64 ".%06" PRId64 " ", us / 1'000'000, us % 1'000'000);
  std::string line(head);
  line.append(host.empty() ? std::string_view("-") : host);
  line += ' ';
  line.append(kind);
  if (!detail.empty()) {
    line += ' ';
    line.append(detail);
  }
  return line;
}

std::string Trace::tail(std::size_t n) const {
  std::string out;
  // Oldest first: once the ring is full, the oldest record sits at tail_next_.
  const std::size_t size = tail_.size();
  const std::size_t oldest = size == options_.tail_records ? tail_next_ : 0;
  const std::size_t skip = size > n ? size - n : 0;
  for (std::size_t k = skip; k < size; ++k) {
    const Rec& r = tail_[(oldest + k) % size];
    out += format(Instant(Duration(r.at_us)), r.host, r.kind, r.detail);
    out += '\n';
  }
  return out;
}

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return std::string(buf, 16);
}

std::uint64_t content_hash(std::string_view bytes, std::uint64_t seed) noexcept {
  std::uint64_t h = mix64(seed ^ (bytes.size() * 0x9e3779b97f4a7c15ull));
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t n = bytes.size();
  while (n >= 8) {
    std::uint64_t w = 0;
    for (int i = 0; i < 8; ++i) w |= static_cast<std::uint64_t>(p[i]) << (8 * i);  // little-endian on any host
    h = (h ^ mix64(w)) * 0x9fb21c651e98df25ull;
    p += 8;
    n -= 8;
  }
  std::uint64_t w = 0;
  for (std::size_t i = 0; i < n; ++i) w |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return mix64(h ^ mix64(w ^ n));
}

}  // namespace mail::sim
