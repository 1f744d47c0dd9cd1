# Warning flags, applied through a PRIVATE interface target so they never leak to users.
add_library(mail_warnings INTERFACE)
target_compile_options(mail_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused
  -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
  $<$<BOOL:${MAIL_WERROR}>:-Werror>)
# GCC 12 reports -Wmaybe-uninitialized false positives on std::variant moves at -O2 with
# ASan instrumentation (the sanitizer's shadow code defeats its flow analysis); keep the
# warning in unsanitized builds, where it is meaningful.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND MAIL_SANITIZE)
  target_compile_options(mail_warnings INTERFACE -Wno-maybe-uninitialized)
endif()
