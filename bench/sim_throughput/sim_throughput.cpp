// sim_throughput: simulated SMTP transactions per wall-second (1 RCPT, 4 KiB, fsync) and
// the virtual/wall time ratio for a busy and an idle-heavy scenario. Prints figures; never
// asserts on timing (DESIGN.md: benchmarks are separate programs). Build in release.
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>

#include "simulator/scenario.h"

using namespace mail;
using namespace mail::sim;

namespace {

Scenario busy(std::uint32_t sessions, std::uint32_t per_session) {
  Scenario s = *builtin_scenario("smtp-basic");
  s.name = "bench-busy";
  s.client_hosts = 4;
  s.workload.sessions = sessions;
  s.workload.liveness_sessions = 0;
  s.workload.session_start = DurationRange{0s, 10min};
  s.workload.transactions_per_session = Range{per_session, per_session};
  s.workload.recipients = Range{1, 1};
  s.workload.message_bytes = Range{4096, 4096};
  s.workload.unknown_recipient_ppm = 0;
  s.workload.abrupt_disconnect_ppm = 0;
  s.workload.dot_line_ppm = 0;
  s.workload.pipelining_ppm = 1'000'000;
  s.workload.chunking_ppm = 0;
  s.fault_phase = 10min;
  s.max_steps = 500'000'000;
  return s;
}

Scenario idle(std::uint32_t sessions) {
  Scenario s = busy(sessions, 1);
  s.name = "bench-idle";
  s.workload.session_start = DurationRange{0s, std::chrono::hours(24)};
  s.fault_phase = std::chrono::hours(24);
  return s;
}

// Wall time depends on what else the machine runs; process CPU time does not, so both
// are printed (std::clock: CPU time of this process, which runs one World at a time).
void run(const char* what, const Scenario& s, std::uint64_t seed) {
  const std::clock_t c0 = std::clock();
  const RunReport r = run_scenario(s, seed);
  const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  const double virtual_s = static_cast<double>(r.virtual_us) / 1e6;
  std::printf("%-5s seed=%llu acked=%llu steps=%llu virtual=%.0fs wall=%.3fs cpu=%.3fs  tx/wall-s=%.0f tx/cpu-s=%.0f"
              "  virtual:wall=%.0f:1 virtual:cpu=%.0f:1 %s\n",
              what, static_cast<unsigned long long>(r.seed), static_cast<unsigned long long>(r.acked),
              static_cast<unsigned long long>(r.steps), virtual_s, r.wall_seconds, cpu,
              static_cast<double>(r.acked) / r.wall_seconds, static_cast<double>(r.acked) / cpu,
              virtual_s / r.wall_seconds, virtual_s / cpu, r.ok() ? "ok" : "VIOLATION");
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint32_t scale = argc > 1 ? static_cast<std::uint32_t>(std::atoi(argv[1])) : 1;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) run("busy", busy(100 * scale, 50), seed);
  for (std::uint64_t seed = 1; seed <= 3; ++seed) run("idle", idle(20 * scale), seed);
  return 0;
}
