// libFuzzer target: the SMTP server's command-line layer — CRLF framing with bounded
// discarding (line_reader), verb/argument split and the command table (command.h), BDAT
// arguments and EHLO names (RFC 5321 §2.3.8, §4.1.1, §4.5.3.1.4; RFC 3030 §2).
// Must never crash, assert, or keep more than one line's worth of bytes.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "proto/smtp/command.h"
#include "proto/smtp/line_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mail::smtp;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  CommandLineReader reader(64, 256);
  std::string buf;
  // Feed in pieces of 7 octets so the resume paths run as well as the one-shot ones.
  for (std::size_t pos = 0; pos < in.size(); pos += 7) {
    buf.append(in.substr(pos, 7));
    for (;;) {
      const LineResult r = reader.next(buf);
      if (r.status == LineStatus::line) {
        const Command c = parse_command(r.line);
        (void)line_defect(r.line);
        if (c.spec != nullptr && c.spec->id == Verb::bdat) (void)parse_bdat_args(c.arg);
        if (c.spec != nullptr && c.spec->id == Verb::ehlo) (void)is_acceptable_helo(c.arg);
      }
      buf.erase(0, r.consumed);
      MAIL_ASSERT(buf.size() <= 64);
      if (r.status == LineStatus::need_more && r.consumed == 0) break;
      if (r.status == LineStatus::bare_lf || r.status == LineStatus::bare_cr ||
          r.status == LineStatus::too_long_fatal) return 0;
    }
  }
  return 0;
}
