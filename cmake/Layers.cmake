# Helpers that build one library per layer and keep the layering honest.
#   mail_layer(NAME DIR [SANS_ASIO] DEPS ...)  -> target mail_NAME, alias mail::NAME
# SANS_ASIO layers get a poison include directory first on the path, so
# `#include <boost/asio.hpp>` (or Beast) fails to compile there; ci/banned_symbols.sh
# catches the rest at test time.
set(MAIL_POISON_DIR ${CMAKE_SOURCE_DIR}/cmake/poison)

function(mail_layer name)
  cmake_parse_arguments(L "SANS_ASIO" "" "SOURCES;DEPS" ${ARGN})
  add_library(mail_${name} STATIC ${L_SOURCES})
  add_library(mail::${name} ALIAS mail_${name})
  target_include_directories(mail_${name} PUBLIC ${CMAKE_SOURCE_DIR}/server)
  if(L_SANS_ASIO)
    target_include_directories(mail_${name} BEFORE PRIVATE ${MAIL_POISON_DIR})
  endif()
  target_link_libraries(mail_${name} PUBLIC ${L_DEPS} PRIVATE mail_warnings)
endfunction()

# mail_forbid_deps(NAME LAYER...) -> configure error if mail_NAME links one of the layers
# directly. For siblings the one-way "down only" rule cannot express: tls and proto both
# sit on core, and neither may link the other (core/crypto.h is what they share).
function(mail_forbid_deps name)
  get_target_property(deps mail_${name} LINK_LIBRARIES)
  foreach(layer ${ARGN})
    if(mail::${layer} IN_LIST deps OR mail_${layer} IN_LIST deps)
      message(FATAL_ERROR "mail_${name} must not link mail_${layer} (layering: docs/ARCHITECTURE.md)")
    endif()
  endforeach()
endfunction()

# mail_test(NAME SOURCES... DEPS ...) -> a GoogleTest executable registered with ctest.
function(mail_test name)
  cmake_parse_arguments(T "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main rapidcheck_lib mail_warnings)
  add_test(NAME ${name} COMMAND ${name})
endfunction()
