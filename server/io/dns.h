// PosixDns: rt::Dns over libresolv on its own worker pool (a stuck query must never hold up
// disk work). Without configured servers: the system resolver — getaddrinfo for addresses
// (so /etc/hosts counts), res_nquery + dns_wire.h parsing for MX and TXT. With servers
// ([dns] servers): every query, addresses included (A and AAAA, parsed by dns_wire.h), goes
// to exactly those servers through a private res_state per query; /etc/hosts and
// /etc/resolv.conf's name servers are not consulted. Completions are posted to the
// executor. Deadlines are best effort: the completion comes with Errc::timeout at the
// deadline, the blocked lookup is abandoned. Must not: block the env thread, keep state
// shared between worker threads.
#pragma once

#include <string>
#include <vector>

#include "core/time.h"
#include "runtime/env.h"

namespace mail::io {

class WorkerPool;

// Where PosixDns sends its queries.
struct PosixDnsConfig {
  // Empty: the system resolver. Otherwise at most dns_servers_max IPv4 or IPv6 literals with
  // their port (port != 0), tried in order (RES_ROTATE is left as resolv.conf says).
  std::vector<rt::Endpoint> servers;
  Duration timeout = 5s;  // per try and server (res_state retrans: whole seconds, at least 1)
  int attempts = 2;       // tries of each server (res_state retry), 1..5
};
// libresolv's limit on name servers per res_state (MAXNS).
inline constexpr std::size_t dns_servers_max = 3;

class PosixDns final : public rt::Dns {
 public:
  // `pool`, `executor` and `clock` must outlive every completion; timers come from `clock`.
  // `config` must be valid (config_problem() empty; the app checks it when it reads the file).
  PosixDns(WorkerPool& pool, rt::Executor& executor, rt::Clock& clock, PosixDnsConfig config = {});

  // Empty when `config` is usable, else what is wrong with it.
  static std::string config_problem(const PosixDnsConfig& config);

  // MX records in answer order (the caller sorts by preference and shuffles ties).
  // NXDOMAIN -> Errc::not_found; no MX records (NODATA) -> ok(empty); SERVFAIL or REFUSED
  // from every server, no answer within the resolver's tries (timeout x attempts per
  // server), no server reachable -> Errc::unavailable (glibc does not tell them apart);
  // `deadline` passed first -> Errc::timeout; a malformed name or answer -> Errc::invalid.
  void async_mx(std::string domain, Instant deadline, rt::Completion<std::vector<rt::MxRecord>> done) override;
  // Textual IPv6 and IPv4 addresses, duplicates removed. Numeric input is returned as is,
  // without a query. System resolver: getaddrinfo's order (RFC 6724); unknown host and a
  // host without addresses -> Errc::not_found (getaddrinfo cannot tell them apart).
  // Configured servers: the AAAA answer's addresses, then the A answer's (RFC 6724 §2.1's
  // default policy prefers IPv6), each in answer order; NXDOMAIN -> Errc::not_found; a name
  // with neither -> ok(empty); no answer to either query -> Errc::unavailable (an answer
  // to one of them is enough).
  void async_addresses(std::string host, Instant deadline, rt::Completion<std::vector<std::string>> done) override;
  // One string per TXT record, character-strings concatenated (see dns_wire.h).
  void async_txt(std::string name, Instant deadline, rt::Completion<std::vector<std::string>> done) override;

 private:
  template <class T, class Fn>
  void run(Instant deadline, Fn fn, rt::Completion<T> done);

  WorkerPool& pool_;
  rt::Executor& executor_;
  rt::Clock& clock_;
  PosixDnsConfig config_;
};

}  // namespace mail::io
