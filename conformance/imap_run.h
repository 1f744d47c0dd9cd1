// IMAP and POP3 pieces of the runner that tests and the CLI use directly: response framing
// (IMAP literals, RFC 9051 §4.3; POP3 multi-line, RFC 1939 §3) and the capability probes
// (IMAP CAPABILITY, RFC 9051 §6.1.1; POP3 CAPA, RFC 2449 §5).
#pragma once

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "runner.h"

namespace mail::conformance {

struct ImapResponse {
  enum class Kind : std::uint8_t { tagged, untagged, continuation };
  Kind kind = Kind::untagged;
  std::string tag;   // Kind::tagged
  std::string text;  // the whole response, literals included, without the final CRLF
};

// Takes one complete response off the front of `buf`: 1 = `out` filled, 0 = need more,
// -1 = malformed (`error` says why: bare LF, no tag).
int take_imap_response(std::string& buf, ImapResponse& out, std::string& error);

struct Pop3Response {
  std::string status;              // the first line, without CRLF
  std::vector<std::string> lines;  // multi-line body, dot-unstuffed, without the final "."
};

// Takes one status line (multi = false) or a status line plus its dot-terminated body
// (multi = true and the status is +OK): 1 = `out` filled, 0 = need more, -1 = malformed.
int take_pop3_response(std::string& buf, bool multi, Pop3Response& out, std::string& error);

// IMAP: the greeting's and CAPABILITY's atoms (upper case); after LOGIN as well when
// `user` is given. POP3: CAPA tags, plus SASL=MECH per mechanism. false with `error`.
bool probe_imap_capabilities(Target& target, const RunOptions& o, std::set<std::string>& caps, std::string& error);
bool probe_pop3_capabilities(Target& target, const RunOptions& o, std::set<std::string>& caps, std::string& error);

}  // namespace mail::conformance
