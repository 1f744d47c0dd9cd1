// A tiny sans-IO POP3 client for the simulator's POP3 workload (pop3_workload.h): it frames
// commands and splits the server's bytes into responses — a status line ("+OK ..." /
// "-ERR ...", RFC 1939 §3) and, for a command the caller marked multi-line and answered
// "+OK", the lines up to the terminating "." line with the byte-stuffing undone (a leading
// "." removed from every line that starts with one, RFC 1939 §3). Responses arrive in the
// order the commands were framed (the greeting first); any chunking of the input gives the
// same responses. No sockets, no clock: the caller feeds bytes and writes what command()
// returns.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mail::sim {

struct Pop3Response {
  bool ok = false;    // "+OK" (else "-ERR")
  std::string text;   // the status line after "+OK " / "-ERR ", without CRLF
  bool multiline = false;
  std::string body;   // multi-line only: the lines (each with its CRLF), unstuffed
};

class Pop3Client {
 public:
  // A response (status line plus body) larger than this is a protocol error.
  static constexpr std::size_t kResponseBytesMax = 4u << 20;

  Pop3Client() { pending_.push_back(false); }  // the greeting: one status line
  // "<line>\r\n"; `multiline`: a "+OK" answer is followed by lines and "." (LIST, UIDL, RETR, TOP, CAPA).
  std::string command(std::string_view line, bool multiline);

  void feed(std::string_view bytes) { in_ += bytes; }
  // The next complete response; nullopt: more bytes needed (or error() set).
  std::optional<Pop3Response> poll();
  const std::string& error() const noexcept { return error_; }
  std::size_t buffered_bytes() const noexcept { return in_.size(); }
  std::size_t pending() const noexcept { return pending_.size(); }

 private:
  std::string in_;
  std::size_t scan_ = 0;              // body lines already checked (resume point)
  std::deque<bool> pending_;          // the answers still due: multi-line or not
  std::optional<Pop3Response> head_;  // status line read, body still coming
  std::string error_;
};

// Number-list helpers for LIST / UIDL bodies ("<n> <word>" per line). nullopt: malformed.
struct Pop3Listing {
  std::uint32_t msg = 0;
  std::string value;
};
std::optional<std::vector<Pop3Listing>> parse_pop3_listing(std::string_view body);

}  // namespace mail::sim
