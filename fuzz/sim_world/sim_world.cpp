// libFuzzer target: the whole deterministic simulator (docs/SIMULATOR.md). The input
// chooses a small scenario and a world seed (sim_input.h); the scenario runs twice. Oracles,
// each an abort() with the reason, so the input file is the reproducer:
//   - any violation of the scenario's checkers (lost-after-ack, duplicate, phantom, corrupt,
//     misdelivered, liveness, stuck-session, step-budget, the relay, IMAP UID/MODSEQ and
//     POP3 invariants, ...);
//   - the second run's trace hash differs from the first (the run does not replay);
//   - the generated scenario file does not parse (a bug of sim_input.h or the parser).
// Environment: SIM_WORLD_PRINT=1 prints the scenario file and seed of every input (to replay
// it with `cloudsdial sim --scenario FILE --seed N`) and the first run's summary line; SIM_WORLD_INJECT=lying-fsync turns
// on the checker self-test (fsync does nothing), which the oracles must catch.
// Must not: read the clock or real randomness (the simulator's own rule), write files.
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "sim_input.h"
#include "simulator/scenario.h"

namespace {

bool env_is(const char* name, const char* value) {
  const char* v = std::getenv(name);
  return v != nullptr && std::strcmp(v, value) == 0;
}

void print_scenario(const mail::fuzz::SimInput& in) {
  std::fprintf(stderr,
               "sim_world: scenario file (save as sim-world.toml, then run\n"
               "  cloudsdial sim --scenario sim-world.toml --seed 0x%" PRIx64 "%s):\n"
               "----8<----\n%s----8<----\n",
               in.seed, env_is("SIM_WORLD_INJECT", "lying-fsync") ? " --inject-bug lying-fsync" : "",
               in.toml.c_str());
}

[[noreturn]] void fail(const mail::fuzz::SimInput& in, const mail::sim::RunReport& r, const char* what) {
  std::fprintf(stderr, "sim_world: %s\n%s\n", what, mail::sim::summary_line(r).c_str());
  for (std::size_t i = 0; i < r.violations.size() && i < 20; ++i) {
    std::fprintf(stderr, "  violation %s: %s\n", r.violations[i].invariant.c_str(), r.violations[i].detail.c_str());
  }
  if (!r.trace_tail.empty()) std::fprintf(stderr, "  trace tail:\n%s\n", r.trace_tail.c_str());
  print_scenario(in);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mail;
  FuzzedDataProvider provider(data, size);
  const fuzz::SimInput in = fuzz::sim_input_from(provider);
  if (env_is("SIM_WORLD_PRINT", "1")) print_scenario(in);
  auto parsed = sim::parse_scenario_toml(in.toml, "sim_world");
  if (!parsed) {
    std::fprintf(stderr, "sim_world: the generated scenario does not parse: %s\n", parsed.error().detail.c_str());
    print_scenario(in);
    std::abort();
  }
  sim::RunOptions options;
  options.tail_records = 40;
  options.lying_sync = env_is("SIM_WORLD_INJECT", "lying-fsync");
  const sim::RunReport first = sim::run_scenario(*parsed, in.seed, options);
  if (env_is("SIM_WORLD_PRINT", "1")) std::fprintf(stderr, "%s\n", sim::summary_line(first).c_str());
  if (!first.ok()) fail(in, first, "an invariant was violated");
  const sim::RunReport second = sim::run_scenario(*parsed, in.seed, options);
  if (second.trace_hash != first.trace_hash) {
    std::fprintf(stderr, "sim_world: first run hash=%016" PRIx64 " steps=%" PRIu64 "\n", first.trace_hash,
                 first.steps);
    fail(in, second, "the same scenario and seed ran twice with different trace hashes (no replay)");
  }
  return 0;
}
