// libFuzzer target: IMAP sequence sets (RFC 9051 §9 sequence-set, RFC 5182 "$"). Byte 0
// is the value of "*"; the rest is the set. Checks: a parsed set renders back to an equal
// set; normalize() yields sorted, disjoint, non-adjacent ranges that round-trip.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "proto/imap/parser.h"
#include "proto/imap/response_writer.h"

using namespace mail::imap;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint32_t star = data[0] == 255 ? 4294967295u : data[0];
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto set = parse_sequence_set(in);
  if (!set) return 0;
  std::string text;
  append_sequence_set(text, *set);
  const auto again = parse_sequence_set(text);
  MAIL_ASSERT(again.has_value());
  MAIL_ASSERT(*again == *set);
  if (set->saved) return 0;
  const auto ranges = normalize(*set, star);
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    MAIL_ASSERT(ranges[i].lo >= 1);
    MAIL_ASSERT(ranges[i].lo <= ranges[i].hi);
    if (i > 0) MAIL_ASSERT(static_cast<std::uint64_t>(ranges[i - 1].hi) + 1 < ranges[i].lo);
  }
  if (ranges.empty()) return 0;
  std::string flat;
  append_ranges(flat, ranges);
  const auto flat_set = parse_sequence_set(flat);
  MAIL_ASSERT(flat_set.has_value());
  MAIL_ASSERT(normalize(*flat_set, star) == ranges);
  MAIL_ASSERT(count(clip(ranges, star)) <= star);
  return 0;
}
