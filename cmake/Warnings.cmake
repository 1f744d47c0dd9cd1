# Warning flags, applied through a PRIVATE interface target so they never leak to users.
add_library(mail_warnings INTERFACE)
target_compile_options(mail_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused
  -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
  $<$<BOOL:${MAIL_WERROR}>:-Werror>)
