// Targets the runner can drive: our smtp::ServerSession in-process (no sockets, no clock:
// the replies are all there the moment the bytes were fed), and any live server over
// plain TCP (POSIX sockets, blocking with poll() timeouts; loopback only unless allowed).
#pragma once

#include <memory>
#include <string>

#include "runner.h"

namespace mail::conformance {

// In-process SMTP: hostname "mx.example.test", default limits and extensions. Verdicts:
// MAIL 250 2.1.0; RCPT 250 2.1.5 for @example.test (local part "unknown": 550 5.1.1),
// any other domain 554 5.7.1 (relay denied) except postmaster@mx.example.test (what the
// session makes of a bare <Postmaster>, RFC 5321 §4.5.1); message 250 2.0.0.
// STARTTLS (a self-signed certificate made at start, RFC 3207) and AUTH (one user, SCRAM
// credentials derived from the password, so PLAIN, LOGIN and SCRAM-SHA-256 work; 235 or
// 535 on the session's Auth event) are optional.
struct InprocOptions {
  bool starttls = true;
  std::string user, password;  // empty: AUTH not offered
};
std::unique_ptr<Target> make_inproc_smtp_target(const InprocOptions& options = {});

// Our SMTP server (node::SmtpServer over store::MaildirStore, as `cloudsdial serve` wires
// it) on a simulated host of a deterministic sim::World: host mx.example.test, domain
// example.test, postmaster exists. Each connection is a SimNet stream from a client host;
// waiting for a reply runs the World in virtual time. nullptr with `error` on failure.
std::unique_ptr<Target> make_sim_smtp_target(std::string& error);

// Live TCP target "HOST:PORT" ("[::1]:25" for IPv6). Refuses non-loopback addresses
// unless `allow_remote`. Returns nullptr with `error` on a bad or refused address.
std::unique_ptr<Target> make_tcp_target(const std::string& host_port, bool allow_remote, std::string& error);

}  // namespace mail::conformance
