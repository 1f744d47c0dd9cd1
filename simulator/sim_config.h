// Plain configuration of the simulated world: latency distributions, disk, network and
// DNS fault knobs, BUGGIFY probabilities. Probabilities are parts per million (ppm) and
// are drawn from labelled forks of the world seed (never std::*_distribution).
#pragma once

#include <cstdint>
#include <string>

#include "core/prng.h"
#include "core/time.h"

namespace mail::sim {

// Uniform in [min, max]; with probability slow_ppm, uniform in (max, slow_max] instead
// (a long tail: a slow fsync, a congested link).
struct Latency {
  Duration min{0};
  Duration max{0};
  std::uint32_t slow_ppm = 0;
  Duration slow_max{0};

  Duration sample(Prng& rng) const noexcept {
    MAIL_ASSERT(min <= max);
    if (slow_ppm != 0 && slow_max > max && rng.chance_ppm(slow_ppm)) {
      return Duration(static_cast<std::int64_t>(
          rng.between(static_cast<std::uint64_t>(max.count()) + 1, static_cast<std::uint64_t>(slow_max.count()))));
    }
    if (min == max) return min;
    return Duration(static_cast<std::int64_t>(
        rng.between(static_cast<std::uint64_t>(min.count()), static_cast<std::uint64_t>(max.count()))));
  }
};

struct DiskConfig {
  Latency latency{10us, 100us, 0, Duration(0)};          // read/write/rename/link/remove/mkdir/list
  Latency sync_latency{500us, 3ms, 0, Duration(0)};      // sync_files / sync_dir
  std::uint32_t read_eio_ppm = 0;
  std::uint32_t write_eio_ppm = 0;                       // write, rename, link, remove, mkdir
  std::uint32_t sync_eio_ppm = 0;
  std::uint64_t quota_bytes = 0;                         // ENOSPC past this many file bytes; 0 = none
  std::uint32_t tear_ppm = 0;  // per unsynced file at a crash: keep a random prefix of the new data
  // A deliberately broken disk for checker self-tests: sync calls succeed and make nothing
  // durable (what "250 before fsync" looks like from the outside).
  bool lying_sync = false;
};

struct NetConfig {
  Latency latency{100us, 2ms, 0, Duration(0)};  // one way, per segment
  std::uint32_t segment_bytes_max = 1460;       // MSS
  std::uint32_t split_ppm = 300'000;            // a write is cut at random points
  std::uint32_t bytewise_ppm = 20'000;          // a short write (<= 256 B) goes out 1 byte at a time
  std::uint32_t stall_ppm = 0;                  // a segment is held back for `stall`
  Latency stall{50ms, 2s, 0, Duration(0)};
  std::uint32_t reset_ppm = 0;                  // a new connection is torn (RST) at a random offset
  std::uint64_t reset_offset_max = 16 * 1024;
  std::uint64_t window_bytes = 256 * 1024;      // per direction: in flight + unread
  std::uint32_t backlog_max = 128;              // accept queue; SYNs beyond it are dropped
  Duration syn_retry = 1s;                      // SYN retransmission while unanswered
  Duration retransmit = 200ms;                  // data retransmission while partitioned
  Duration give_up = 15min;                     // retransmitting longer than this resets
  bool crash_sends_reset = true;                // peers of a crashed host see RST (else silence)
};

struct DnsConfig {
  Latency latency{200us, 20ms, 0, Duration(0)};
  std::uint32_t servfail_ppm = 0;
  std::uint32_t timeout_ppm = 0;
  Duration default_timeout = 5s;  // used when the caller passes instant_max()
};

struct BuggifyConfig {
  bool enabled = false;
  std::uint32_t site_active_ppm = 250'000;  // FoundationDB: a quarter of the sites per seed
  std::uint32_t fire_ppm = 250'000;         // then each evaluation of an active site fires
};

}  // namespace mail::sim
