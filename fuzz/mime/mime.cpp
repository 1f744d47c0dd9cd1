// libFuzzer target: the MIME tree parser (proto/message/mime.h), section extraction
// (section.h), search text (search_text.h) and the IMAP ENVELOPE / BODYSTRUCTURE renderings
// (proto/imap/). Byte 0 picks the depth limit (bits 0-2) and part limit (bits 3-7); the rest
// is the message. Checks: offsets nested and in bounds, children after their parent, search
// text within budget, and every BODY[n] a substring of the message.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "proto/imap/bodystructure.h"
#include "proto/imap/envelope.h"
#include "proto/message/search_text.h"
#include "proto/message/section.h"

using namespace mail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  message::MimeLimits limits;
  limits.depth_max = data[0] & 7u;
  limits.parts_max = 1u + (data[0] >> 3);
  const std::string_view msg(reinterpret_cast<const char*>(data + 1), size - 1);
  const message::MimeTree t = message::parse_mime(msg, limits);
  MAIL_ASSERT(!t.parts.empty());
  MAIL_ASSERT(t.parts.size() <= limits.parts_max);
  for (std::size_t i = 0; i < t.parts.size(); ++i) {
    const message::MimePart& p = t.parts[i];
    MAIL_ASSERT(p.header_begin <= p.body_begin);
    MAIL_ASSERT(p.body_begin <= p.end);
    MAIL_ASSERT(p.end <= msg.size());
    for (std::size_t c : p.children) {
      MAIL_ASSERT(c > i);
      MAIL_ASSERT(t.parts[c].header_begin >= p.body_begin);
      MAIL_ASSERT(t.parts[c].end <= p.end);
    }
  }
  (void)imap::bodystructure(msg, t, true);
  (void)imap::bodystructure(msg, t, false);
  (void)imap::envelope(msg.substr(0, t.parts[0].body_begin));
  const message::SearchText st = message::searchable_text(msg, t, 4096);
  MAIL_ASSERT(st.headers.size() <= 4096);
  MAIL_ASSERT(st.body.size() <= 4096);
  for (const char* spec : {"1", "1.2", "2.1.1", "1.MIME", "HEADER", "1.TEXT", "HEADER.FIELDS (From To)"}) {
    const auto sec = message::parse_section(spec);
    MAIL_ASSERT(sec.has_value());
    const auto out = message::extract_section(msg, t, *sec);
    if (out && sec->text == message::SectionText::none) MAIL_ASSERT(msg.find(*out) != std::string_view::npos);
    (void)message::extract_binary(msg, t, sec->part);
  }
  return 0;
}
