// Failure path of MAIL_ASSERT: print the broken fact and abort (core dump for post-mortem).
#include "core/assert.h"

#include <cstdio>
#include <cstdlib>

namespace mail {
void assert_fail(const char* expr, const char* file, int line) noexcept {
  std::fprintf(stderr, "assertion failed: %s at %s:%d\n", expr, file, line);
  std::fflush(stderr);
  std::abort();
}
}  // namespace mail
