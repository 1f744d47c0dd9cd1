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

# mail_test(NAME SOURCES... DEPS ...) -> a GoogleTest executable registered with ctest.
function(mail_test name)
  cmake_parse_arguments(T "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main rapidcheck_lib mail_warnings)
  add_test(NAME ${name} COMMAND ${name})
endfunction()
