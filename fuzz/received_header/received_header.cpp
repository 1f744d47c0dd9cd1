// libFuzzer target: the Received: trace header builder (proto/smtp/received.h, RFC 5321
// §4.4), the content scanner that counts hops and polices line endings on DATA/BDAT
// (proto/smtp/content_scanner.h, RFC 5321 §2.3.8, §4.5.3.1.6, §6.3) and the RFC 5322 §2.1
// header field lister (proto/message/header.h), all on peer bytes.
// Input: byte 0 flags (esmtp, tls, auth, utf8, line_checks), bytes 1-4 a time, byte 5 the
// scanner's limits, then "helo\naddress\nrcpt-path\n" and the message content.
// Checks (beyond "never crash or assert"):
//  - build_received: CRLF-terminated, no bare CR/LF, starts "Received: ", continuation lines
//    start with TAB, lines <= 998 octets, all octets printable ASCII or SP/TAB (the HELO is
//    sanitised; a UTF-8 "for" clause only with utf8); the header's fields parse back as one
//    field named Received.
//  - ContentScanner: the verdict, hop count, byte count and stored bytes are the same
//    whether the content arrives in one piece or in fuzzer-chosen pieces, and agree with a
//    naive reference model (lines split at LF; hops = header lines /^received[ \t]*:/i).
//  - header.h: body_offset <= size; fields in order, in bounds, names non-empty without
//    ':' CR LF; values inside their field; unfold() leaves no CRLF/LF followed by WSP;
//    find_field finds the first case-insensitive match.
//  - submission_headers.h (RFC 6409 §8.2-8.3), a second header scanner: it agrees with
//    header.h on where the header ends and on whether Date:, Message-ID: and From: exist;
//    with the fix-up lines put in front, both fields exist, and no fix-up is made when both
//    were already there.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/assert.h"
#include "proto/message/header.h"
#include "proto/message/submission_headers.h"
#include "proto/smtp/address.h"
#include "proto/smtp/content_scanner.h"
#include "proto/smtp/received.h"

using namespace mail;

namespace {

std::string_view take_line(std::string_view& in) {
  const std::size_t nl = in.find('\n');
  const std::string_view line = in.substr(0, nl);
  in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  return line;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

void check_received(const std::string& h, bool utf8) {
  MAIL_ASSERT(h.rfind("Received: ", 0) == 0);
  MAIL_ASSERT(h.size() >= 2 && h.compare(h.size() - 2, 2, "\r\n") == 0);
  std::size_t start = 0;
  while (start < h.size()) {
    const std::size_t e = h.find("\r\n", start);
    MAIL_ASSERT(e != std::string::npos);
    const std::string_view line(h.data() + start, e - start);
    MAIL_ASSERT(line.size() <= 998);
    MAIL_ASSERT(!line.empty());
    if (start != 0) MAIL_ASSERT(line[0] == '\t');
    for (char c : line) {
      const auto u = static_cast<unsigned char>(c);
      MAIL_ASSERT(c != '\r' && c != '\n' && c != '\0');
      if (!utf8) MAIL_ASSERT(u < 0x80);
      MAIL_ASSERT(u >= 0x20 || c == '\t');
      MAIL_ASSERT(u != 0x7F);
    }
    start = e + 2;
  }
  const auto fields = message::parse_header_fields(h);
  MAIL_ASSERT(fields.fields.size() == 1);
  MAIL_ASSERT(fields.fields[0].name == "Received");
}

struct ScanResult {
  smtp::ContentDefect defect;
  std::uint32_t hops;
  std::uint64_t total;
  std::size_t stored;
  std::string content;
  bool operator==(const ScanResult&) const = default;
};

ScanResult scan(const smtp::SmtpLimits& lim, std::uint64_t size_limit, bool line_checks, std::string_view content,
                std::string_view cuts) {
  smtp::ContentScanner s(lim, size_limit, line_checks);
  std::size_t pos = 0;
  for (char c : cuts) {
    const std::size_t n = static_cast<unsigned char>(c) % 17;
    if (pos >= content.size()) break;
    s.append(content.substr(pos, n));
    pos += std::min(n, content.size() - pos);
  }
  if (pos < content.size()) s.append(content.substr(pos));
  s.finish();
  MAIL_ASSERT(s.stored_bytes() <= size_limit);
  ScanResult r{s.defect(), s.hops(), s.total_bytes(), s.stored_bytes(), {}};
  if (!s.too_big()) r.content = s.take_content();
  return r;
}

// The naive model of ContentScanner: what the verdict should be, computed line by line.
smtp::ContentDefect reference(const smtp::SmtpLimits& lim, std::uint64_t size_limit, bool line_checks,
                              std::string_view c, std::uint32_t& hops) {
  bool bare = false, nul = false, too_long = false;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (c[i] == '\0') nul = true;
    if (c[i] == '\r' && (i + 1 == c.size() || c[i + 1] != '\n')) bare = true;
    if (c[i] == '\n' && (i == 0 || c[i - 1] != '\r')) bare = true;
  }
  hops = 0;
  bool in_header = true;
  std::size_t start = 0;
  while (start < c.size()) {
    std::size_t e = c.find('\n', start);
    const std::size_t end = e == std::string_view::npos ? c.size() : e + 1;  // past the LF
    const std::string_view line = c.substr(start, end - start);
    if (line.size() > lim.text_line_bytes_max) too_long = true;
    if (in_header && start < lim.header_bytes_max) {
      if (line.size() >= 9 && iequal(line.substr(0, 8), "received")) {
        std::size_t k = 8;
        while (k < line.size() && (line[k] == ' ' || line[k] == '\t')) ++k;
        if (k < line.size() && line[k] == ':' && start + k < lim.header_bytes_max && hops <= lim.hops_max) ++hops;
      }
      if (line.size() <= 2 && e != std::string_view::npos) in_header = false;
    } else {
      in_header = false;
    }
    start = end;
  }
  if (line_checks && bare) return smtp::ContentDefect::bare_cr_lf;
  if (line_checks && nul) return smtp::ContentDefect::nul;
  if (line_checks && too_long) return smtp::ContentDefect::line_too_long;
  if (c.size() > size_limit) return smtp::ContentDefect::too_big;
  if (hops > lim.hops_max) return smtp::ContentDefect::too_many_hops;
  return smtp::ContentDefect::none;
}

void check_header(std::string_view msg, std::uint8_t knobs) {
  const std::size_t body = message::body_offset(msg);
  MAIL_ASSERT(body <= msg.size());
  message::HeaderLimits hl;
  hl.fields_max = 1u + (knobs & 15u);
  hl.header_block_bytes_max = 64u << (knobs >> 4);
  const std::string_view block = msg.substr(0, body);
  const auto hf = message::parse_header_fields(block, hl);
  MAIL_ASSERT(hf.fields.size() <= hl.fields_max);
  std::size_t prev_end = 0;
  for (const auto& f : hf.fields) {
    MAIL_ASSERT(!f.name.empty());
    MAIL_ASSERT(f.name.find_first_of(":\r\n") == std::string_view::npos);
    MAIL_ASSERT(f.begin >= prev_end && f.begin < f.end && f.end <= block.size());
    MAIL_ASSERT(f.name.data() >= block.data() + f.begin && f.name.data() + f.name.size() <= block.data() + f.end);
    MAIL_ASSERT(f.value.data() >= f.name.data() + f.name.size());
    MAIL_ASSERT(f.value.data() + f.value.size() <= block.data() + f.end);
    prev_end = f.end;
    const std::string u = message::unfold(f.value);
    MAIL_ASSERT(u.size() <= f.value.size());
    for (std::size_t i = 0; i + 1 < u.size(); ++i) {
      if (u[i] == '\n') MAIL_ASSERT(u[i + 1] != ' ' && u[i + 1] != '\t');
    }
    if (!u.empty()) {
      MAIL_ASSERT(u.front() != ' ' && u.front() != '\t');
      MAIL_ASSERT(u.back() != ' ' && u.back() != '\t');
    }
    const message::HeaderField* first = message::find_field(hf.fields, f.name);
    MAIL_ASSERT(first != nullptr && first <= &f && iequal(first->name, f.name));
    for (const message::HeaderField* p = hf.fields.data(); p < first; ++p) MAIL_ASSERT(!iequal(p->name, f.name));
  }
}

void check_submission(std::string_view msg, WallTime now) {
  const message::HeaderScan scan = message::scan_header_fields(msg);
  const std::size_t body = message::body_offset(msg);
  MAIL_ASSERT(scan.header_bytes == body);
  const auto all = message::parse_header_fields(msg.substr(0, body));
  if (!all.truncated) {
    MAIL_ASSERT(scan.has_date == (message::find_field(all.fields, "Date") != nullptr));
    MAIL_ASSERT(scan.has_message_id == (message::find_field(all.fields, "Message-ID") != nullptr));
    MAIL_ASSERT(scan.has_from == (message::find_field(all.fields, "From") != nullptr));
  }
  const std::string fix = message::submission_fixups(msg, now, "4F2A0001.x", "mx.example.test");
  if (scan.has_date && scan.has_message_id) MAIL_ASSERT(fix.empty());
  std::string fixed = fix;
  fixed.append(msg);
  const message::HeaderScan after = message::scan_header_fields(fixed);
  MAIL_ASSERT(after.has_date && after.has_message_id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 6) return 0;
  const std::uint8_t flags = data[0];
  const std::uint32_t t = static_cast<std::uint32_t>(data[1]) | static_cast<std::uint32_t>(data[2]) << 8 |
                          static_cast<std::uint32_t>(data[3]) << 16 | static_cast<std::uint32_t>(data[4]) << 24;
  const std::uint8_t knobs = data[5];
  std::string_view in(reinterpret_cast<const char*>(data + 6), size - 6);
  const std::string_view helo = take_line(in);
  const std::string_view addr = take_line(in);
  const std::string_view rcpt = take_line(in);
  const std::string_view content = in;

  // Received: from peer-chosen HELO, address and a recipient parsed as the session would.
  const bool esmtp = (flags & 1) != 0;
  const bool utf8 = esmtp && (flags & 8) != 0;
  smtp::SmtpLimits limits;
  std::vector<smtp::Recipient> rcpts;
  if (!rcpt.empty() && rcpt[0] == '<') {
    const smtp::PathParse p = smtp::parse_path(rcpt, limits, utf8, false);
    if (p.path) {
      smtp::Recipient r;
      r.path = *p.path;
      rcpts.assign(1 + ((flags >> 5) & 1), r);
    }
  }
  smtp::ReceivedInfo info;
  info.helo = helo;
  info.client_address = addr;
  info.hostname = "mx.example.test";
  info.esmtp = esmtp;
  info.tls = (flags & 2) != 0;
  info.auth = (flags & 4) != 0;
  info.utf8 = utf8;
  info.queue_id = (flags & 64) != 0 ? "" : "4F2A0001";
  info.recipients = rcpts;
  // Any instant from 1970 to about 2106, with sub-second digits.
  info.time = WallTime{static_cast<std::int64_t>(t) * 1'000'000 + knobs};
  check_received(smtp::build_received(info), utf8);

  // The content scanner with small limits chosen by `knobs`, so the fuzzer reaches them.
  smtp::SmtpLimits lim;
  lim.text_line_bytes_max = 3u + (knobs & 63u);
  lim.hops_max = (knobs >> 6) & 3u;
  lim.header_bytes_max = 16u + 8u * (knobs & 31u);
  lim.message_bytes_max = 4096;
  const std::uint64_t size_limit = 64u + 64u * ((knobs >> 2) & 63u);
  const bool line_checks = (flags & 16) == 0;
  const ScanResult whole = scan(lim, size_limit, line_checks, content, {});
  const ScanResult pieces = scan(lim, size_limit, line_checks, content, helo);
  MAIL_ASSERT(whole == pieces);
  MAIL_ASSERT(whole.total == content.size());
  if (content.size() <= size_limit) MAIL_ASSERT(whole.content == content);
  std::uint32_t ref_hops = 0;
  MAIL_ASSERT(whole.defect == reference(lim, size_limit, line_checks, content, ref_hops));
  MAIL_ASSERT(whole.hops == ref_hops);

  check_header(content, knobs);
  check_submission(content, info.time);
  return 0;
}
