// ClientSession wire helpers, public for tests and the conformance runner: MAIL FROM and
// RCPT TO lines with only the parameters the server advertised (RFC 5321 §4.1.1.11, RFC
// 1870 §6, 6152, 3030, 6531 §3.4, 3461 §4, 4954 §5), and the bare CR/LF check that keeps
// content from ending DATA early (SMTP smuggling, outbound). No I/O.
#include "proto/smtp/client_session.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mail::smtp {

bool has_bare_cr_or_lf(std::string_view content) noexcept {
  // CRLF-only means: every LF right after a CR, and every CR right before an LF.
  const std::size_t n = content.size();
  std::size_t i = 0;
  bool prev_cr = false;  // content[i - 1] == '\r'
#if defined(__SSE2__)
  // 16 octets per step: the LF mask must be exactly the CR mask shifted by one octet.
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(content.data() + i));
    const auto crs = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, cr)));
    const auto lfs = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf)));
    if (lfs != (((crs << 1) | (prev_cr ? 1u : 0u)) & 0xffffu)) return true;
    prev_cr = (crs >> 15) != 0;
  }
#endif
  for (; i < n; ++i) {
    const char c = content[i];
    if (prev_cr != (c == '\n')) return true;  // a CR without its LF, or an LF without its CR
    prev_cr = c == '\r';
  }
  return prev_cr;  // a CR at the very end
}

std::string format_mail_from(const Path& from, const MailParams& params, std::uint64_t size,
                             const Capabilities& caps, bool smtputf8) {
  std::string line = "MAIL FROM:" + from.to_string();
  // Parameters only for extensions the server advertised (RFC 5321 §4.1.1.11: a server
  // must reject unknown ones with 555).
  if (caps.size) line += " SIZE=" + std::to_string(size);  // RFC 1870 §6
  if (params.body == BodyType::eight_bit_mime && caps.eight_bit_mime) line += " BODY=8BITMIME";
  if (params.body == BodyType::binary_mime && caps.binary_mime) line += " BODY=BINARYMIME";
  if (smtputf8 && caps.smtputf8) line += " SMTPUTF8";  // RFC 6531 §3.4
  if (caps.dsn) {  // RFC 3461 §4.3 / §4.4
    if (params.ret == DsnRet::full) line += " RET=FULL";
    if (params.ret == DsnRet::headers) line += " RET=HDRS";
    if (params.envid) line += " ENVID=" + xtext_encode(*params.envid);
  }
  if (params.auth && caps.has("AUTH")) line += " AUTH=" + xtext_encode(*params.auth);  // RFC 4954 §5
  return line;
}

std::string format_rcpt_to(const Recipient& rcpt, const Capabilities& caps) {
  std::string line = "RCPT TO:" + rcpt.path.to_string();
  if (caps.dsn) {  // RFC 3461 §4.1 / §4.2
    const DsnNotify& n = rcpt.params.notify;
    if (n.never) {
      line += " NOTIFY=NEVER";
    } else if (n.any()) {
      std::string v;
      if (n.success) v += "SUCCESS,";
      if (n.failure) v += "FAILURE,";
      if (n.delay) v += "DELAY,";
      v.pop_back();
      line += " NOTIFY=" + v;
    }
    if (rcpt.params.orcpt)
      line += " ORCPT=" + rcpt.params.orcpt_type.value_or("rfc822") + ";" + xtext_encode(*rcpt.params.orcpt);
  }
  return line;
}

}  // namespace mail::smtp
