// libFuzzer target: the IMAP command reader and parser together (RFC 9051 §4.3 literals,
// §9 grammar). Byte 0 picks the chunk size (bits 0-4), LITERAL- (bit 5), whether a
// synchronising literal is accepted (bit 6); the rest is the client's byte stream.
// Checks: bounded buffering, error texts without CR/LF, a parsed tag is the line's tag.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "proto/imap/command_reader.h"
#include "proto/imap/parser.h"

using namespace mail::imap;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t knobs = data[0];
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t chunk = (knobs & 31u) + 1;
  ReaderLimits lim;
  lim.line_bytes_max = 256;
  lim.literal_bytes_max = 512;
  lim.command_bytes_max = 2048;
  lim.literals_max = 8;
  lim.discard_bytes_max = 1024;
  lim.literal_minus = (knobs & 32u) != 0;
  const bool accept = (knobs & 64u) != 0;
  CommandReader reader(lim);
  for (std::size_t pos = 0; pos < in.size(); pos += chunk) {
    std::string_view piece = in.substr(pos, chunk);
    while (true) {
      const ReadResult r = reader.next(piece);
      MAIL_ASSERT(r.consumed <= piece.size());
      piece.remove_prefix(r.consumed);
      if (r.event == ReadEvent::need_more) {
        MAIL_ASSERT(piece.empty());
        break;
      }
      if (r.event == ReadEvent::literal_pending) {
        MAIL_ASSERT(reader.pending_literal_bytes() <= lim.literal_bytes_max);
        if (accept) reader.accept_literal();
        else reader.reject_literal();
      } else if (r.event == ReadEvent::error) {
        if (reader.error().fatal) return 0;
      } else if (r.event == ReadEvent::command) {
        const RawCommand cmd = reader.take_command();
        MAIL_ASSERT(cmd.text.size() <= lim.line_bytes_max);
        MAIL_ASSERT(cmd.literals.size() <= lim.literals_max);
        const ParseResult p = parse_command(cmd);
        MAIL_ASSERT(p.error.find_first_of("\r\n") == std::string::npos);
        MAIL_ASSERT(p.command.has_value() != !p.error.empty());
        if (p.command) {
          MAIL_ASSERT(p.command->tag == p.tag);
          MAIL_ASSERT(cmd.text.compare(0, p.tag.size(), p.tag) == 0);
        }
      } else {
        MAIL_UNREACHABLE();
      }
    }
  }
  return 0;
}
