// PosixDns: rt::Dns over the system resolver on its own worker pool (a stuck query must
// never hold up disk work): getaddrinfo for addresses, res_nquery + dns_wire.h parsing
// for MX and TXT. Completions are posted to the executor. Deadlines are best effort: the
// completion comes with Errc::timeout at the deadline, the blocked lookup is abandoned.
#pragma once

#include <string>
#include <vector>

#include "runtime/env.h"

namespace mail::io {

class WorkerPool;

class PosixDns final : public rt::Dns {
 public:
  // `pool`, `executor` and `clock` must outlive every completion; timers come from `clock`.
  PosixDns(WorkerPool& pool, rt::Executor& executor, rt::Clock& clock) : pool_(pool), executor_(executor), clock_(clock) {}

  // MX records in answer order (the caller sorts by preference and shuffles ties).
  // NXDOMAIN -> Errc::not_found; no MX records -> ok(empty); SERVFAIL, network
  // failure -> Errc::unavailable; a malformed name -> Errc::invalid.
  void async_mx(std::string domain, Instant deadline, rt::Completion<std::vector<rt::MxRecord>> done) override;
  // Textual IPv6 and IPv4 addresses (the system's preference order, duplicates removed).
  // Numeric input is returned as is, without a query. Unknown host -> Errc::not_found.
  void async_addresses(std::string host, Instant deadline, rt::Completion<std::vector<std::string>> done) override;
  // One string per TXT record, character-strings concatenated (see dns_wire.h).
  void async_txt(std::string name, Instant deadline, rt::Completion<std::vector<std::string>> done) override;

 private:
  template <class T, class Fn>
  void run(Instant deadline, Fn fn, rt::Completion<T> done);

  WorkerPool& pool_;
  rt::Executor& executor_;
  rt::Clock& clock_;
};

}  // namespace mail::io
