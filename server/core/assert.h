// Always-on assertions for programmer errors (never for peer input: that is a Result).
// MAIL_ASSERT stays enabled in release, simulator and fuzz builds; split compound
// conditions into several asserts so a failure names the broken fact.
#pragma once

namespace mail {
[[noreturn]] void assert_fail(const char* expr, const char* file, int line) noexcept;
}  // namespace mail

#define MAIL_ASSERT(cond) \
  ((cond) ? static_cast<void>(0) : ::mail::assert_fail(#cond, __FILE__, __LINE__))
#define MAIL_UNREACHABLE() ::mail::assert_fail("unreachable", __FILE__, __LINE__)
