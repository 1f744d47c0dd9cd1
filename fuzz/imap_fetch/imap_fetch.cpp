// libFuzzer target: IMAP FETCH attributes (RFC 9051 §6.4.5: macros, BODY[section]<o.n>,
// BINARY (RFC 3516), MODSEQ (RFC 7162)) alone and as a whole UID FETCH with modifiers.
// Checks: a parsed list is never empty; partials have a non-zero length.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "proto/imap/parser.h"

using namespace mail::imap;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto items = parse_fetch_items(in);
  if (items) {
    MAIL_ASSERT(!items->empty());
    for (const FetchAtt& a : *items) {
      if (a.partial) MAIL_ASSERT(a.partial->length > 0);
      for (const std::uint32_t p : a.section.part) MAIL_ASSERT(p > 0);
    }
  }
  RawCommand cmd;
  cmd.text = "t UID FETCH 1:* ";
  cmd.text.append(in);
  const ParseResult p = parse_command(cmd);
  if (items) MAIL_ASSERT(p.command.has_value());
  return 0;
}
