// libFuzzer target: IMAP SEARCH keys (RFC 9051 §6.4.4, RFC 7162 §3.1.5, RFC 5182) alone
// and inside a whole SEARCH / UID SORT / THREAD command. Must never crash or assert;
// nesting is bounded, so deep NOT/OR/parentheses cannot exhaust the stack.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "proto/imap/parser.h"

using namespace mail::imap;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto key = parse_search_keys(in);
  if (key) {
    MAIL_ASSERT(key->kind == SearchKeyKind::and_);
    MAIL_ASSERT(!key->children.empty());
  }
  RawCommand cmd;
  cmd.text = "t SEARCH ";
  cmd.text.append(in);
  const ParseResult p = parse_command(cmd);
  MAIL_ASSERT(p.tag == "t");
  if (key) MAIL_ASSERT(p.command.has_value());
  cmd.text = "t UID SORT (REVERSE DATE) UTF-8 ";
  cmd.text.append(in);
  (void)parse_command(cmd);
  return 0;
}
