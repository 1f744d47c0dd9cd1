// ESMTP parameters of MAIL and RCPT (RFC 5321 §4.1.2 Mail-parameters / Rcpt-parameters):
// SIZE (RFC 1870), BODY (RFC 6152, RFC 3030 BINARYMIME), SMTPUTF8 (RFC 6531),
// RET / ENVID / NOTIFY / ORCPT (RFC 3461, values in xtext §4), AUTH (RFC 4954 §5).
// Pure parsing; the session decides which extensions are enabled.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/smtp/reply.h"

namespace mail::smtp {

enum class BodyType : std::uint8_t { seven_bit, eight_bit_mime, binary_mime };
enum class DsnRet : std::uint8_t { unspecified, full, headers };

struct MailParams {
  std::optional<std::uint64_t> size;  // declared SIZE
  BodyType body = BodyType::seven_bit;
  bool smtputf8 = false;
  DsnRet ret = DsnRet::unspecified;
  std::optional<std::string> envid;  // decoded xtext
  std::optional<std::string> auth;   // decoded xtext, "<>" allowed
  bool operator==(const MailParams&) const = default;
};

struct DsnNotify {
  bool never = false, success = false, failure = false, delay = false;
  bool any() const noexcept { return never || success || failure || delay; }
  bool operator==(const DsnNotify&) const = default;
};

struct RcptParams {
  DsnNotify notify;                     // none set = not given
  std::optional<std::string> orcpt_type;  // "rfc822"
  std::optional<std::string> orcpt;       // decoded xtext
  bool operator==(const RcptParams&) const = default;
};

struct ParamError {
  std::uint16_t code = 501;  // 501 syntax, 555 unrecognised/unsupported, 552 size
  std::uint8_t enh_subject = 5, enh_detail = 4;  // 5.5.4 by default
  std::string text;
  // The reply to send (class from the code's first digit, RFC 3463 §2).
  Reply reply() const {
    return Reply::make(code, EnhancedCode{static_cast<std::uint8_t>(code / 100), enh_subject, enh_detail}, text);
  }
};

struct Extensions {  // which extensions the session advertised (and so accepts)
  bool size = true, eight_bit_mime = true, binary_mime = true, smtputf8 = true, dsn = true, auth = false;
  std::uint64_t message_bytes_max = 0;
};

// Parse the text after the path, e.g. " SIZE=1000 BODY=8BITMIME". Keywords are
// case-insensitive; a repeated keyword, an unknown keyword, a value for a valueless
// keyword (SMTPUTF8), a value with CTL/space, more than 16 parameters or a value over
// 1024 bytes is an error (Postfix "501 5.5.4 Error: attribute value too long").
// Contract: leading, trailing and repeated SPs are skipped (the session checks that SP
// separates the path from the first parameter); empty input gives default params.
// Codes: 555 5.5.4 unknown keyword or extension not advertised (incl. BODY=8BITMIME /
// BINARYMIME when that one is off); 501 5.5.4 any syntax or value error and duplicates
// (RFC 3461 §4.5); 552 5.3.4 SIZE over ext.message_bytes_max (0 = no limit), reported
// only when everything else parsed. The first error in parameter order wins.
// ENVID is capped at 100 characters of xtext (RFC 3461 §4.4) and must decode to
// printable ASCII; ORCPT at 500 (§4.2), addr-type an atom, decoded value non-empty
// without controls; AUTH must decode to "<>" or a valid Mailbox (RFC 4954 §5).
struct MailParamsParse { std::optional<MailParams> params; ParamError error; };
struct RcptParamsParse { std::optional<RcptParams> params; ParamError error; };
MailParamsParse parse_mail_params(std::string_view in, const Extensions& ext);
RcptParamsParse parse_rcpt_params(std::string_view in, const Extensions& ext);

// RFC 3461 §4 xtext: "+" HEXCHAR HEXCHAR for octets outside 33..126 and "+" / "=".
// decode fails on bad hex, lower-case hex, or a decoded CR/LF/NUL (injection guard).
std::optional<std::string> xtext_decode(std::string_view in);
std::string xtext_encode(std::string_view in);

}  // namespace mail::smtp
