// "Received:" trace header builder: RFC 5321 §4.4 Stamp, RFC 3848 / RFC 6531 §3.7.3
// protocol names, RFC 5322 §3.3 date-time (UTC, pure calendar arithmetic, no libc time
// functions) and §2.2.3 folding. No clock, no I/O: the caller passes the time. The HELO
// name is peer input and is sanitised; our own strings are asserted clean.
#include "proto/smtp/received.h"

#include <vector>

#include "core/assert.h"
#include "proto/smtp/address.h"

namespace mail::smtp {

namespace {

constexpr std::size_t kLineBytesMax = 78;     // RFC 5322 §2.1.1 SHOULD, excluding CRLF
constexpr std::size_t kHardLineBytesMax = 998;  // RFC 5322 §2.1.1 MUST, excluding CRLF
constexpr std::size_t kHeloBytesMax = 255;    // RFC 5321 §4.5.3.1.2: no domain is longer
constexpr std::size_t kForPathBytesMax = 900;  // beyond this the optional "for" is dropped

static_assert(kHeloBytesMax + 1 < kHardLineBytesMax);
static_assert(kForPathBytesMax + 6 < kHardLineBytesMax);

// Text we generate ourselves must already be a clean header word.
bool clean_word(std::string_view s) noexcept {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F) return false;
    if (c == '(' || c == ')' || c == ';') return false;
  }
  return true;
}

// Peer text -> one header word: printable ASCII minus the characters that would end the
// clause or open a comment. '?' marks every replaced octet so the damage stays visible.
std::string sanitise_helo(std::string_view helo) {
  if (helo.size() > kHeloBytesMax) helo = helo.substr(0, kHeloBytesMax);
  std::string out;
  out.reserve(helo.size());
  for (char c : helo) {
    const auto u = static_cast<unsigned char>(c);
    const bool bad = u < 0x21 || u > 0x7E || c == '(' || c == ')' || c == ';' || c == '\\' || c == '"';
    out.push_back(bad ? '?' : c);
  }
  if (out.empty()) out = "unknown";
  MAIL_ASSERT(clean_word(out));
  return out;
}

// RFC 5321 §4.4 TCP-info = address-literal: "[192.0.2.1]" or "[IPv6:2001:db8::1]".
std::string tcp_info(std::string_view addr) {
  // Appended in place: `"[" + std::string(addr)` prepends, which GCC 12 at -O2 reports as
  // an overlapping memcpy (-Wrestrict, GCC bug 105329).
  const bool v6 = addr.find(':') != std::string_view::npos;
  std::string out = "(";
  out.append(v6 ? "[IPv6:" : "[").append(addr).append("]");
  if (!is_valid_address_literal(std::string_view(out).substr(1))) return "(unknown)";
  out.push_back(')');
  return out;
}

void append_2(std::string& out, unsigned v) {
  MAIL_ASSERT(v < 100);
  out.push_back(static_cast<char>('0' + v / 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

// Floor division, so times before 1970 still land on the right day.
std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

struct Civil {
  std::int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};

// Days since 1970-01-01 -> proleptic Gregorian date (H. Hinnant's civil_from_days: shift
// the year to start on 1 March so the leap day is last, then count 400-year eras).
Civil civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = floor_div(z, 146097);
  const auto doe = static_cast<std::uint64_t>(z - era * 146097);                // [0, 146096]
  const std::uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const std::uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);             // [0, 365]
  const std::uint64_t mp = (5 * doy + 2) / 153;                                   // [0, 11]
  const auto day = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  const auto month = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  const std::int64_t year = static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0);
  return Civil{year, month, day};
}

// Greedy folding: units are placed on the current line while it stays within 78 octets;
// a unit that fits no line is split at its spaces; a group always starts a new line.
class Folder {
 public:
  Folder() : line_("Received:") {}

  void group(const std::vector<std::string>& units) {
    if (!first_group_) break_line();
    first_group_ = false;
    for (const auto& u : units) add(u);
  }

  std::string finish() {
    out_.append(line_);
    out_.append("\r\n");
    return std::move(out_);
  }

 private:
  void break_line() {
    // Never leave a line that is only the field name or only whitespace.
    if (line_ == "Received:" || line_ == "\t") return;
    MAIL_ASSERT(line_.size() <= kHardLineBytesMax);
    out_.append(line_);
    out_.append("\r\n");
    line_.assign(1, '\t');  // not `= "\t"`: GCC 12 -Wrestrict false positive (bug 105329)
  }

  void put(std::string_view word) {
    if (line_ != "\t") line_.push_back(' ');
    line_.append(word);
    MAIL_ASSERT(line_.size() <= kHardLineBytesMax);
  }

  bool fits(std::string_view unit) const noexcept {
    const std::size_t sep = line_ == "\t" ? 0 : 1;
    return line_.size() + sep + unit.size() <= kLineBytesMax;
  }

  void add(std::string_view unit) {
    if (fits(unit)) return put(unit);
    // On a fresh continuation line the unit would have 77 octets. Right after the field
    // name there is no line to break (a line of just "Received:" is avoided), so split.
    if (line_ != "Received:" && 1 + unit.size() <= kLineBytesMax) {
      break_line();
      return put(unit);
    }
    // Too long for any line: place its words one by one; an over-long single word goes
    // alone on its own line.
    std::size_t start = 0;
    while (start <= unit.size()) {
      std::size_t sp = unit.find(' ', start);
      if (sp == std::string_view::npos) sp = unit.size();
      const std::string_view word = unit.substr(start, sp - start);
      if (!word.empty()) {
        if (!fits(word)) break_line();
        put(word);
      }
      start = sp + 1;
    }
  }

  std::string out_;
  std::string line_;
  bool first_group_ = true;
};

}  // namespace

std::string_view received_protocol(bool esmtp, bool tls, bool auth, bool utf8) noexcept {
  // SMTPUTF8 is an ESMTP extension: a HELO session cannot have requested it.
  MAIL_ASSERT(!utf8 || esmtp);
  if (!esmtp) return "SMTP";
  if (utf8) {
    // RFC 6531 §4.3 (IANA "with" registrations).
    if (tls && auth) return "UTF8SMTPSA";
    if (tls) return "UTF8SMTPS";
    if (auth) return "UTF8SMTPA";
    return "UTF8SMTP";
  }
  // RFC 3848 §1: ESMTPA (AUTH), ESMTPS (STARTTLS), ESMTPSA (both).
  if (tls && auth) return "ESMTPSA";
  if (tls) return "ESMTPS";
  if (auth) return "ESMTPA";
  return "ESMTP";
}

std::string format_date_time(WallTime t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::int64_t secs = floor_div(t.unix_us, 1'000'000);
  const std::int64_t days = floor_div(secs, 86'400);
  const auto sod = static_cast<unsigned>(secs - days * 86'400);  // [0, 86399]
  const Civil c = civil_from_days(days);
  // RFC 5322 §3.3 year = 4*DIGIT; RFC 5321 §4.4 forbids the obsolete 2-digit forms.
  MAIL_ASSERT(c.year >= 0);
  MAIL_ASSERT(c.year <= 9999);
  // 1970-01-01 was a Thursday (index 4 with Sunday = 0).
  const auto wday = static_cast<unsigned>(days - floor_div(days + 4, 7) * 7 + 4);

  std::string out;
  out.reserve(32);
  out.append(kDays[wday % 7]);
  out.append(", ");
  out.append(std::to_string(c.day));  // day = 1*2DIGIT
  out.push_back(' ');
  out.append(kMonths[c.month - 1]);
  out.push_back(' ');
  const auto y = static_cast<unsigned>(c.year);
  append_2(out, y / 100);
  append_2(out, y % 100);
  out.push_back(' ');
  append_2(out, sod / 3600);
  out.push_back(':');
  append_2(out, sod / 60 % 60);
  out.push_back(':');
  append_2(out, sod % 60);
  out.append(" +0000");  // zone: UTC, never the "-0000" of unknown local offset
  return out;
}

std::string build_received(const ReceivedInfo& info) {
  MAIL_ASSERT(!info.hostname.empty());
  MAIL_ASSERT(info.hostname.size() <= kHeloBytesMax);
  MAIL_ASSERT(clean_word(info.hostname));
  MAIL_ASSERT(clean_word(info.queue_id));

  // RFC 5321 §4.4 From-domain: "FROM" FWS Extended-Domain, Extended-Domain = Domain FWS
  // "(" TCP-info ")" where TCP-info comes from the connection, not from EHLO.
  std::vector<std::string> from = {"from " + sanitise_helo(info.helo), tcp_info(info.client_address)};
  // By-domain and Opt-info: "BY" our name, "WITH" protocol, "ID" queue id.
  std::vector<std::string> by = {"by " + std::string(info.hostname),
                                 "with " + std::string(received_protocol(info.esmtp, info.tls, info.auth, info.utf8))};
  if (!info.queue_id.empty()) by.push_back("id " + std::string(info.queue_id));

  // "FOR" only with exactly one recipient: with several, naming one would be wrong for
  // the other copies and naming all would disclose Bcc recipients (RFC 5321 §7.2).
  std::vector<std::string> tail;
  if (info.recipients.size() == 1) {
    const Path& p = info.recipients[0].path;
    MAIL_ASSERT(!p.is_null());
    std::string path = p.to_string();
    // A UTF-8 address in a non-SMTPUTF8 transaction would make the header non-ASCII
    // (RFC 6531 §3.7.3); the clause is optional, so leave it out rather than abort.
    const bool ascii_ok = info.utf8 || !p.mailbox->needs_smtputf8();
    if (ascii_ok && path.size() <= kForPathBytesMax && path.find_first_of("\r\n") == std::string::npos)
      tail.push_back("for " + path);
  }
  // Stamp = ... [CFWS] ";" FWS date-time.
  if (!tail.empty()) {
    tail.back().push_back(';');
  } else {
    by.back().push_back(';');
  }
  tail.push_back(format_date_time(info.time));

  Folder f;
  f.group(from);
  f.group(by);
  f.group(tail);
  std::string out = f.finish();
  MAIL_ASSERT(out.size() >= 2);
  MAIL_ASSERT(out.compare(out.size() - 2, 2, "\r\n") == 0);
  return out;
}

std::string build_received(const Envelope& env, std::string_view hostname, std::string_view queue_id,
                           WallTime time) {
  ReceivedInfo info;
  info.helo = env.helo;
  info.client_address = env.client_address;
  info.hostname = hostname;
  info.esmtp = env.extended_hello;
  info.tls = env.tls;
  info.auth = !env.auth_identity.empty();
  info.utf8 = env.mail_params.smtputf8 && env.extended_hello;
  info.queue_id = queue_id;
  info.recipients = env.recipients;
  info.time = time;
  return build_received(info);
}

}  // namespace mail::smtp
