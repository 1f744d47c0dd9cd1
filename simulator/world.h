// World: the simulator's single-threaded scheduler and the owner of every simulated host.
// Virtual time (core Instant, µs) jumps to the next event when nothing is runnable; the
// event queue is ordered by (time, sequence number) — never by pointer — so a seed fixes
// the whole run. Each host gets its own SimEnv; a crash drops the host's pending events
// uncalled, destroys its tasks and services, resets its connections and discards the
// volatile disk layer; a restart boots a fresh SimEnv over the surviving durable disk.
// Nothing here reads a real clock, a real socket or OS randomness.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/function.h"
#include "core/prng.h"
#include "core/time.h"
#include "sim_config.h"
#include "trace.h"

namespace mail::sim {

class SimEnv;
class DiskState;
class Network;
class DnsZones;
class Buggify;
struct Personality;
class PersonalityState;
struct DroppedAfterDot;

using HostId = std::uint32_t;
inline constexpr HostId kWorldHost = UINT32_MAX;  // events owned by no host (network internals)

// Identifies a scheduled event: its queue key (at, seq) and where the World keeps it.
struct EventHandle {
  Instant at{};
  std::uint64_t seq = 0;
  std::uint32_t slot = 0;
  explicit operator bool() const noexcept { return seq != 0; }
};

// 2026-01-01T00:00:00Z: wall time = this epoch + virtual time + host skew.
inline constexpr std::int64_t kWallEpochUnixSeconds = 1'767'225'600;

struct HostConfig {
  std::string name;     // "mx1"; the Rng is the world seed forked by this name
  std::string address;  // "10.0.0.1": what other hosts connect to
  Duration clock_skew{0};  // added to both monotonic and wall time of this host
  DiskConfig disk;
};

struct WorldConfig {
  NetConfig net;
  DnsConfig dns;
  BuggifyConfig buggify;
  TraceOptions trace;
  std::uint64_t max_steps = 200'000'000;  // hard bound over the World's life
};

enum class RunStatus : std::uint8_t {
  idle,              // no event left
  predicate,         // run_until's predicate became true
  time_limit,        // the requested virtual duration / deadline was reached
  budget_exhausted,  // the step budget ran out: a livelock or a runaway workload
};
std::string_view to_string(RunStatus) noexcept;

class World {
 public:
  // The boot function re-creates a host's services on a fresh SimEnv (first boot and every
  // restart); what it returns is owned by the host and destroyed at a crash, after the
  // host's tasks.
  using BootFn = std::function<std::shared_ptr<void>(SimEnv&)>;

  explicit World(std::uint64_t seed, WorldConfig config = {});
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  std::uint64_t seed() const noexcept { return seed_; }
  const WorldConfig& config() const noexcept { return config_; }
  Instant now() const noexcept { return now_; }
  Trace& trace() noexcept { return trace_; }
  Network& net() noexcept { return *net_; }
  DnsZones& dns() noexcept { return *dns_; }
  Buggify& buggify() noexcept { return *buggify_; }
  // An independent stream of the world seed (labels never collide with host forks).
  Prng fork(std::string_view label) const noexcept { return Prng(seed_).fork(label); }

  // ------------------------------------------------------------------ hosts
  HostId add_host(HostConfig config, BootFn boot = {});
  std::size_t host_count() const noexcept { return hosts_.size(); }
  HostId host_by_name(std::string_view name) const;  // asserts it exists
  const HostConfig& host_config(HostId id) const;
  std::string_view host_name(HostId id) const;  // "" for kWorldHost
  bool host_up(HostId id) const;
  std::uint32_t incarnation(HostId id) const;  // boots so far
  SimEnv& env(HostId id);                      // asserts the host is up
  DiskState& disk_state(HostId id);            // the disk survives crashes
  std::shared_ptr<void> services(HostId id) const;  // what the boot function returned (null when down)
  void set_boot(HostId id, BootFn boot);
  void set_clock_skew(HostId id, Duration skew);
  void boot(HostId id);     // asserts it is down
  void crash(HostId id);    // asserts it is up
  void restart(HostId id);  // crash if up, then boot
  // Converts a deadline read off host `id`'s monotonic clock to world time.
  Instant to_world_time(HostId id, Instant host_time) const noexcept;
  Instant host_now(HostId id) const noexcept;

  // ------------------------------------------------------------------ scheduler
  // Schedules `fn` at `at` (clamped to now) for `host`. Events of a host that is down are
  // destroyed uncalled at once; a crash destroys the host's queued events uncalled.
  EventHandle schedule_at(Instant at, HostId host, UniqueFunction<void()> fn);
  EventHandle schedule_after(Duration d, HostId host, UniqueFunction<void()> fn) {
    return schedule_at(now_ + d, host, std::move(fn));
  }
  // Destroys the event uncalled; false when it already ran or was canceled. Clears `h`.
  bool cancel(EventHandle& h);

  bool step();  // runs the next event (advancing time); false when idle
  [[nodiscard]] RunStatus run_until_idle(std::uint64_t max_steps = UINT64_MAX);
  [[nodiscard]] RunStatus run_for(Duration d, std::uint64_t max_steps = UINT64_MAX);
  [[nodiscard]] RunStatus run_until(const std::function<bool()>& done, Duration max_duration,
                                    std::uint64_t max_steps = UINT64_MAX);
  std::size_t pending_events() const noexcept { return heap_.size(); }
  std::optional<Instant> next_event_time() const noexcept;
  std::uint64_t steps() const noexcept { return steps_; }

  // Records into the trace with the current time and `host`'s name, then tells the
  // observer (fault injectors watch for durability points this way). The observer must
  // not crash hosts inline: it schedules.
  void record(HostId host, std::string_view kind, std::string_view detail);
  using Observer = std::function<void(HostId host, std::string_view kind, std::string_view detail)>;
  void set_observer(Observer observer) { observer_ = std::move(observer); }
  // A second, read-only observer for tools (the Python bindings' event callbacks), called
  // after the observer; it may schedule but must not change the world inline either.
  void set_tap(Observer tap) { tap_ = std::move(tap); }

  // Replaces a host's disk configuration (faults on/off): for the running SimDisk and for
  // the ones later boots create.
  void set_disk_config(HostId id, DiskConfig config);

  // ------------------------------------------------------------------ personalities
  // A remote-MX personality for a mail server host (personality.h; defined in
  // personality.cpp). It applies to connections accepted from now on and to the deliveries
  // they start; the state (greylist, drops) survives crashes, and a new set_personality
  // starts afresh (with its own decision streams). Hosts without one are untouched.
  void set_personality(HostId id, const Personality& personality);
  void clear_personality(HostId id);
  std::shared_ptr<PersonalityState> personality(HostId id) const;  // null when none
  // Every drop after the final dot so far, of every host, in host order then time order,
  // including those of personalities since cleared (heal) or replaced.
  std::vector<DroppedAfterDot> dropped_after_dot() const;

 private:
  // The event queue: a binary min-heap of keys ordered by (time, sequence number) — a
  // total order, so the run order never depends on the heap's layout — over a slab of
  // slots that hold the callbacks. A slot knows its heap position, so cancel() removes
  // in O(log n) without a search; slots are reused (a handle names its seq too).
  struct HeapEntry {
    std::int64_t at_us;
    std::uint64_t seq;
    std::uint32_t slot;
    bool operator<(const HeapEntry& o) const noexcept { return at_us != o.at_us ? at_us < o.at_us : seq < o.seq; }
  };
  struct Slot {
    std::uint64_t seq = 0;  // 0: free
    HostId host = 0;
    std::uint32_t heap_pos = 0;
    UniqueFunction<void()> fn;
  };
  struct Host;

  Host& host(HostId id);
  const Host& host(HostId id) const;
  void drop_host_events(HostId id);
  void heap_place(std::size_t pos, const HeapEntry& e) noexcept;
  void heap_sift_up(std::size_t pos) noexcept;
  void heap_sift_down(std::size_t pos) noexcept;
  // Removes the entry at heap position `pos`, frees its slot and hands back its callback.
  UniqueFunction<void()> heap_remove(std::size_t pos) noexcept;
  bool budget_left(std::uint64_t start, std::uint64_t max_steps) const noexcept;

  std::uint64_t seed_;
  WorldConfig config_;
  Trace trace_;
  Instant now_{};
  std::uint64_t next_seq_ = 1;
  std::uint64_t steps_ = 0;
  std::vector<HeapEntry> heap_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<std::unique_ptr<Host>> hosts_;
  std::unique_ptr<Network> net_;
  std::unique_ptr<DnsZones> dns_;
  std::unique_ptr<Buggify> buggify_;
  bool tearing_down_ = false;
  Observer observer_;
  Observer tap_;
  std::map<HostId, std::shared_ptr<PersonalityState>> personalities_;
  // Cleared or replaced personalities, kept for dropped_after_dot().
  std::vector<std::pair<HostId, std::shared_ptr<PersonalityState>>> retired_personalities_;
  std::uint32_t personality_sets_ = 0;
};

}  // namespace mail::sim
