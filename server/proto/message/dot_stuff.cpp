// Dot-stuffing for outbound SMTP DATA and its inverse (RFC 5321 §4.5.2). Pure: no I/O.
// A '.' at a line start is doubled, where a line starts at offset 0 or after any CR or
// LF (not only CRLF), so no receiver's idea of a line end can see a premature
// end-of-data (Dovecot CVE-2026-33604, SMTP smuggling); see dot_stuff.h.
#include "proto/message/dot_stuff.h"

#include "core/assert.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mail::message {

namespace {

bool ends_with_crlf(std::string_view s) noexcept {
  return s.size() >= 2 && s[s.size() - 2] == '\r' && s[s.size() - 1] == '\n';
}

bool is_eol_octet(char c) noexcept { return c == '\r' || c == '\n'; }

}  // namespace

std::string dot_stuff(std::string_view content) {
  std::string out;
  out.reserve(content.size() + content.size() / 64 + 8);
  // Copy runs between the dots to double, not octet by octet: content[0, copied) is out.
  std::size_t copied = 0;
  auto stuff_at = [&](std::size_t dot) {
    out.append(content.data() + copied, dot - copied);
    out.push_back('.');
    copied = dot;  // the content's own dot goes out with the next run
  };
  const std::size_t n = content.size();
  std::size_t i = 0;
  bool line_start = true;  // i == 0, or content[i - 1] is a CR or LF octet
#if defined(__SSE2__)
  // 16 octets per step: a dot is doubled where its predecessor is an EOL octet (the bit
  // below it in the EOL mask, or the carry from the previous block).
  const __m128i dot = _mm_set1_epi8('.');
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(content.data() + i));
    const auto dots = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, dot)));
    const auto eols =
        static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf))));
    unsigned hits = dots & ((eols << 1) | (line_start ? 1u : 0u));
    line_start = (eols >> 15) != 0;
    for (; hits != 0; hits &= hits - 1) stuff_at(i + static_cast<std::size_t>(__builtin_ctz(hits)));
  }
#endif
  for (; i < n; ++i) {
    const char c = content[i];
    if (c == '.' && line_start) stuff_at(i);
    line_start = is_eol_octet(c);
  }
  out.append(content.data() + copied, n - copied);
  // §4.5.2: the terminating "." must be on a line of its own, so the content must end
  // with CRLF. A trailing bare CR stays content: CRLF is added after it, not merged.
  if (!content.empty() && !ends_with_crlf(content)) out.append("\r\n");
  out.append(".\r\n");
  MAIL_ASSERT(out.size() <= 2 * content.size() + 5);
  MAIL_ASSERT(ends_with_crlf(out));
  return out;
}

std::optional<std::string> dot_unstuff(std::string_view stuffed) {
  // The terminator: ".\r\n" at the end, starting the input or preceded by CRLF.
  if (stuffed.size() < 3 || stuffed.substr(stuffed.size() - 3) != ".\r\n") return std::nullopt;
  const std::size_t body_end = stuffed.size() - 3;
  if (body_end != 0 && !ends_with_crlf(stuffed.substr(0, body_end))) return std::nullopt;

  std::string out;
  out.reserve(body_end);
  std::size_t i = 0;
  while (i < body_end) {
    const char c = stuffed[i];
    const bool line_start = i == 0 || is_eol_octet(stuffed[i - 1]);
    if (c == '.' && line_start) {
      // A "." line of its own (CRLF-delimited) before the end is a premature terminator:
      // the input is not one stuffed body.
      const bool crlf_delimited = i == 0 || (i >= 2 && stuffed[i - 2] == '\r' && stuffed[i - 1] == '\n');
      if (crlf_delimited && stuffed.substr(i + 1, 2) == "\r\n") return std::nullopt;
      ++i;  // the stuffing dot: drop it and copy what follows verbatim
      if (i < body_end) out.push_back(stuffed[i++]);
      continue;
    }
    out.push_back(c);
    ++i;
  }
  MAIL_ASSERT(out.size() <= body_end);
  return out;
}

}  // namespace mail::message
