// libFuzzer target: modified UTF-7 (RFC 3501 §5.1.3) and UTF-8 validation. Checks: strict
// decoding accepts only canonical input (re-encoding gives the same bytes), lenient
// decoding always yields valid UTF-8, and valid UTF-8 round-trips through the encoder.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/assert.h"
#include "proto/imap/mutf7.h"

using namespace mail::imap;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (const auto strict = mutf7_decode(in)) {
    MAIL_ASSERT(is_valid_utf8(*strict));
    const auto enc = mutf7_encode(*strict);
    MAIL_ASSERT(enc.has_value());
    MAIL_ASSERT(*enc == in);
  }
  if (const auto lenient = mutf7_decode(in, true)) MAIL_ASSERT(is_valid_utf8(*lenient));
  if (is_valid_utf8(in)) {
    const auto enc = mutf7_encode(in);
    MAIL_ASSERT(enc.has_value());
    const auto dec = mutf7_decode(*enc);
    MAIL_ASSERT(dec.has_value());
    MAIL_ASSERT(*dec == in);
  } else {
    MAIL_ASSERT(!mutf7_encode(in).has_value());
  }
  return 0;
}
