# mail_embed_files(OUTPUT <file.cpp> FILES <name>=<path> ...): at build time, writes a .cpp
# that holds each file as a byte array, in the table
#   mail::node::webmail::embedded_files() -> std::span<const EmbeddedFile>
# declared in server/node/http/webmail_assets.h. The .cpp is regenerated whenever one of
# the files changes (add_custom_command DEPENDS), so editing webmail/ rebuilds the binary.
# Every path must exist at configure time: a missing one (node_modules/dompurify before
# `npm ci`) is a configure error that says what to run.
set(MAIL_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/EmbedFilesScript.cmake)

function(mail_embed_files)
  cmake_parse_arguments(E "" "OUTPUT" "FILES" ${ARGN})
  set(paths)
  foreach(pair ${E_FILES})
    string(REPLACE "=" ";" parts "${pair}")
    list(GET parts 1 path)
    if(NOT EXISTS "${path}")
      message(FATAL_ERROR "mail_embed_files: ${path} is missing. The webmail embeds npm packages: "
                          "run `npm ci` at the repository root (ci/install-deps.sh does).")
    endif()
    list(APPEND paths "${path}")
  endforeach()
  string(REPLACE ";" "|" files_arg "${E_FILES}")
  add_custom_command(
    OUTPUT ${E_OUTPUT}
    COMMAND ${CMAKE_COMMAND} "-DOUTPUT=${E_OUTPUT}" "-DFILES=${files_arg}" -P ${MAIL_EMBED_SCRIPT}
    DEPENDS ${paths} ${MAIL_EMBED_SCRIPT}
    COMMENT "Embedding ${E_OUTPUT}"
    VERBATIM)
endfunction()
