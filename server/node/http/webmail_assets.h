// The webmail's files (webmail/ and DOMPurify), embedded in the binary at build time by
// cmake/EmbedFiles.cmake: a name ("index.html", "app.js", "purify.min.js") and its bytes.
// The table is generated; nothing here reads the file system.
#pragma once

#include <span>
#include <string_view>

namespace mail::node::webmail {

struct EmbeddedFile {
  std::string_view name;
  std::string_view bytes;
};

// Every embedded file, in the order CMake listed them.
std::span<const EmbeddedFile> embedded_files();

}  // namespace mail::node::webmail
