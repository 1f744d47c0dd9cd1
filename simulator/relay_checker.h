// Relay checkers (relay-* scenarios, issue 13). Two halves:
//   * RelayLog watches the MTAs' log records while the run goes (the queue manager's
//     "<id>: to=<r>, ..., status=deferred|sent|bounced|expired (<reply>)" lines) and checks,
//     per recipient, that no attempt came earlier than the RetryPolicy allows after the
//     previous deferral — min(previous + backoff, arrival + lifetime) — (not across a crash of that MTA, nor after a failed record append,
//     which legitimately retries at once / after a minute); that no DSN is ever about a DSN
//     (a DSN's sender is <>: an undeliverable one is dropped, RFC 3461 §6.2, never bounced
//     with another report); it counts the deferrals whose reply was
//     made up by the client mid-conversation ("451 4.4.2 connection closed by server",
//     "451 4.4.2 timeout waiting for", "451 4.5.0 protocol error", "451 4.4.0": the remote may have
//     stored the message) and the crashes, which explain duplicates.
//   * check_relay() at the end reads every user's Maildir on every MTA: each acknowledged
//     message reaches each accepted recipient delivered, or bounced to its sender (a DSN with
//     Action: failed), exactly once; extra copies are allowed only as far as explained, in
//     this order, by World::dropped_after_dot() (that message, that recipient's MTA), by
//     lost-reply deferrals of that recipient, and by crashes of the sending or receiving MTA
//     after the acknowledgement (each explains one copy); hop count bounded (no loop).
// No I/O beyond reading the simulated disks; never changes the World.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "checker.h"
#include "personality.h"
#include "proto/smtp/retry_schedule.h"
#include "workload.h"
#include "world.h"

namespace mail::sim {

inline constexpr std::size_t kRelayHopsMax = 4;  // Received: fields in any stored message

class RelayLog {
 public:
  // Each MTA's retry schedule; an MTA without one is not checked.
  void set_policy(HostId host, smtp::RetryPolicy retry) { policies_[host] = retry; }
  // A queued message's arrival (world time), read from the MTA while it logs: the schedule
  // moves a retry that would fall after arrival + lifetime onto it (retry_schedule.h).
  // Without it (or when it answers nothing) that last, earlier retry is not allowed for.
  using ArrivalFn = std::function<std::optional<Instant>(HostId host, const std::string& queue_id)>;
  void set_arrival_lookup(ArrivalFn fn) { arrival_ = std::move(fn); }

  // Every trace record of a server host (World observer). Appends retry/DSN violations.
  void observe(HostId host, Instant at, std::string_view kind, std::string_view detail);
  void crashed(HostId host, Instant at);

  // Deferrals of `rcpt` of queue id `qid` on `host` whose reply was made up locally.
  std::uint32_t lost_replies(HostId host, const std::string& qid, const std::string& rcpt) const;
  // Crashes of `host` at or after `since`.
  std::uint32_t crashes_since(HostId host, Instant since) const;
  const std::vector<Violation>& violations() const noexcept { return violations_; }
  std::uint64_t retries_checked() const noexcept { return retries_checked_; }

 private:
  struct Track {
    Instant last_deferral{};
    std::uint32_t deferrals = 0;
  };
  using Key = std::tuple<HostId, std::string, std::string>;  // host, queue id, recipient
  std::map<HostId, smtp::RetryPolicy> policies_;
  ArrivalFn arrival_;
  std::map<Key, Track> tracks_;
  std::map<Key, std::uint32_t> lost_;
  std::set<std::pair<HostId, std::string>> dsn_ids_;
  std::vector<std::pair<HostId, Instant>> crashes_;
  std::vector<Violation> violations_;
  std::uint64_t retries_checked_ = 0;
};

struct RelayMta {
  HostId host = 0;
  std::string domain;
  std::string host_name;  // "mx1"
  std::string address;  // where its clients connect (LedgerEntry::server)
  const MailServerConfig* config = nullptr;
  const DiskState* disk = nullptr;
  std::string label;  // "mx1 live"
};

struct RelayTotals {
  std::uint64_t delivered = 0, bounced = 0, dsns = 0, success_dsns = 0;
  std::uint64_t dup_dropped = 0, dup_crash = 0, dup_lost_reply = 0;
};

// The end-of-run relay invariants (see the file comment). `mtas` are one view of every
// MTA (live or after power loss); a ledger entry's sending MTA is the one whose address
// its session talked to.
void check_relay(const Ledger& ledger, const std::vector<RelayMta>& mtas, const RelayLog& log,
                 const std::vector<DroppedAfterDot>& drops, std::vector<Violation>& out, RelayTotals& totals);

}  // namespace mail::sim
