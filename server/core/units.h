// Durations and byte sizes written by people: the one parser behind the server's
// configuration (app/config.cpp) and the simulator's scenario files (scenario_toml.cpp).
// Pure functions; no locale, no exceptions. Every product is overflow-checked: a value that
// does not fit is an error, never a wrapped number.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/result.h"
#include "core/time.h"

namespace mail {

// "250ms", "90s", "5m" / "5min", "2h", "10us"; a bare number is seconds ("30" == "30s").
// Spaces may separate the number from the unit ("10 s"). Decimal digits only: no sign, no
// fraction. Errc::invalid, naming the problem, when `text` is empty, negative, junk, has an
// unknown unit, or exceeds Duration's range (INT64_MAX microseconds, about 292,000 years).
Result<Duration> parse_duration(std::string_view text);

// Bytes: "10485760", "512B", or a K/M/G suffix in powers of 1024 ("10k", "10K", "10KB",
// "10KiB", "35M", "35MB", "35MiB", "1G", "1GB", "1GiB"); spaces may separate number and
// unit. Errc::invalid when empty, negative, junk, an unknown unit, or above UINT64_MAX.
Result<std::uint64_t> parse_size(std::string_view text);

}  // namespace mail
