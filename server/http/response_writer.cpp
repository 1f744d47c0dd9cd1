// Response serialisation (see header). Must not: read a clock, emit a field twice that we
// own (Date, Content-Length, Connection), or let a CR/LF of a handler's value through.
#include "http/response_writer.h"

#include <cstdio>

#include "core/ascii.h"

namespace mail::http {

namespace {

// Howard Hinnant's civil_from_days.
void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0));
}

bool owned(std::string_view name) {
  return iequals(name, "Date") || iequals(name, "Content-Length") || iequals(name, "Connection") ||
         iequals(name, "Transfer-Encoding");
}

bool clean(std::string_view s) { return s.find_first_of("\r\n") == std::string_view::npos; }

}  // namespace

std::string imf_fixdate(WallTime at) {
  static constexpr const char* kDays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};  // day 0 = Thursday
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::int64_t secs = at.unix_seconds();
  std::int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  const std::int64_t rem = secs - days * 86400;
  int y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(days, y, m, d);
  const auto wd = static_cast<std::size_t>(((days % 7) + 7) % 7);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d GMT", kDays[wd], d, kMonths[m - 1], y,
                static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60));
  return buf;
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::string serialize(const Response& response, WallTime date, const WriteOptions& options) {
  const int status = response.status;
  const bool no_body = (status >= 100 && status < 200) || status == 204 || status == 304;
  std::string out;
  out.reserve(160 + response.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += reason_phrase(status);
  out += "\r\nDate: ";
  out += imf_fixdate(date);
  out += "\r\nServer: Cloudsdial\r\n";
  bool has_type = false;
  for (const auto& h : response.headers) {
    if (owned(h.name) || !clean(h.name) || !clean(h.value) || h.name.empty()) continue;
    if (iequals(h.name, "Content-Type")) has_type = true;
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  if (!no_body && response.streamed) {
    if (!has_type) out += "Content-Type: text/plain; charset=utf-8\r\n";
  } else if (!no_body) {
    if (!has_type && !response.body.empty()) out += "Content-Type: text/plain; charset=utf-8\r\n";
    out += "Content-Length: ";
    out += std::to_string(response.body.size());
    out += "\r\n";
  }
  if (!options.keep_alive || response.streamed) {
    out += "Connection: close\r\n";
  } else if (options.request_version == 10) {
    out += "Connection: keep-alive\r\n";  // RFC 9112 §9.3: HTTP/1.0 persistence is opt-in
  }
  out += "\r\n";
  if (!no_body && !options.head && !response.streamed) out += response.body;
  return out;
}

}  // namespace mail::http
