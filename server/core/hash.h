// Small non-cryptographic hashes for trace digests, fork labels and names.
// FNV-1a is stable across platforms and builds, which the determinism invariant needs.
#pragma once

#include <cstdint>
#include <string_view>

namespace mail {

inline constexpr std::uint64_t fnv1a64(std::string_view s, std::uint64_t h = 0xcbf29ce484222325ull) noexcept {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

inline constexpr std::uint64_t mix64(std::uint64_t z) noexcept {  // splitmix64 finaliser
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace mail
