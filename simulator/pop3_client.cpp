// The simulator's sans-IO POP3 client (see pop3_client.h).
#include "pop3_client.h"

#include <vector>

namespace mail::sim {

std::string Pop3Client::command(std::string_view line, bool multiline) {
  pending_.push_back(multiline);
  std::string out(line);
  out += "\r\n";
  return out;
}

std::optional<Pop3Response> Pop3Client::poll() {
  if (!error_.empty()) return std::nullopt;
  if (!head_) {
    const std::size_t eol = in_.find("\r\n");
    if (eol == std::string::npos) {
      if (in_.size() > kResponseBytesMax) error_ = "status line over " + std::to_string(kResponseBytesMax) + " bytes";
      return std::nullopt;
    }
    const std::string_view line(in_.data(), eol);
    if (pending_.empty()) {
      error_ = "unsolicited response: " + std::string(line.substr(0, 80));
      return std::nullopt;
    }
    Pop3Response r;
    if (line == "+OK" || line.starts_with("+OK ")) {
      r.ok = true;
      r.text = std::string(line.substr(line.size() > 3 ? 4 : 3));
    } else if (line == "-ERR" || line.starts_with("-ERR ")) {
      r.text = std::string(line.substr(line.size() > 4 ? 5 : 4));
    } else {
      error_ = "not a status line: " + std::string(line.substr(0, 80));
      return std::nullopt;
    }
    r.multiline = r.ok && pending_.front();
    pending_.pop_front();
    in_.erase(0, eol + 2);
    scan_ = 0;
    if (!r.multiline) return r;
    head_ = std::move(r);
  }
  // Body: lines until ".\r\n"; scan_ marks the lines already seen (no rescans).
  for (;;) {
    const std::size_t eol = in_.find("\r\n", scan_);
    if (eol == std::string::npos) break;
    if (eol == scan_ + 1 && in_[scan_] == '.') {
      Pop3Response r = std::move(*head_);
      head_.reset();
      std::string_view raw(in_.data(), scan_);
      r.body.reserve(raw.size());
      std::size_t i = 0;
      while (i < raw.size()) {
        const std::size_t e = raw.find("\r\n", i) + 2;  // every line of raw ends with CRLF
        std::string_view l = raw.substr(i, e - i);
        if (l.starts_with('.')) l.remove_prefix(1);  // RFC 1939 §3 byte-stuffing
        r.body += l;
        i = e;
      }
      in_.erase(0, eol + 2);
      scan_ = 0;
      return r;
    }
    scan_ = eol + 2;
  }
  if (in_.size() > kResponseBytesMax) error_ = "response over " + std::to_string(kResponseBytesMax) + " bytes";
  return std::nullopt;
}

std::optional<std::vector<Pop3Listing>> parse_pop3_listing(std::string_view body) {
  std::vector<Pop3Listing> out;
  std::size_t i = 0;
  while (i < body.size()) {
    std::size_t e = body.find("\r\n", i);
    if (e == std::string_view::npos) return std::nullopt;
    const std::string_view line = body.substr(i, e - i);
    i = e + 2;
    const std::size_t sp = line.find(' ');
    if (sp == 0 || sp == std::string_view::npos || sp + 1 >= line.size()) return std::nullopt;
    Pop3Listing l;
    for (char c : line.substr(0, sp)) {
      if (c < '0' || c > '9' || l.msg > 100'000'000) return std::nullopt;
      l.msg = l.msg * 10 + static_cast<std::uint32_t>(c - '0');
    }
    l.value = std::string(line.substr(sp + 1));
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace mail::sim
