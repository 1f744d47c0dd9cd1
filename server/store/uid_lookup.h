// lower_bound_uid: std::lower_bound over a range whose UIDs strictly increase (a folder's
// messages, a session's view of them), narrowed first by what strict increase implies:
// the element with uid u sits at most u - front positions after the front, and at most
// back - u before the back. In a folder without gaps the window is one element, so the
// lookup is O(1); each expunge below u widens it by one. RFC 9051 §2.3.1.1: UIDs strictly
// ascend within a mailbox. Pure, header-only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>

namespace mail::store {

// The first element of [first, last) whose uid (uid_of(element)) is >= uid. Requires
// uid_of to strictly increase over the range.
template <class It, class UidOf>
It lower_bound_uid(It first, It last, std::uint32_t uid, UidOf uid_of) {
  const auto n = static_cast<std::uint64_t>(std::distance(first, last));
  if (n == 0) return last;
  const std::uint32_t front = uid_of(*first);
  const std::uint32_t back = uid_of(*std::prev(last));
  if (uid <= front) return first;
  if (uid > back) return last;
  // Index i holds a uid >= front + i and <= back - (n - 1 - i).
  const std::uint64_t hi = std::min<std::uint64_t>(n - 1, std::uint64_t{uid} - front);
  const std::uint64_t lo = n - 1 - std::min<std::uint64_t>(n - 1, std::uint64_t{back} - uid);
  auto lo_it = std::next(first, static_cast<std::ptrdiff_t>(lo));
  auto hi_it = std::next(first, static_cast<std::ptrdiff_t>(hi) + 1);
  return std::lower_bound(lo_it, hi_it, uid, [&](const auto& e, std::uint32_t u) { return uid_of(e) < u; });
}

}  // namespace mail::store
