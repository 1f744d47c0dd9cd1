// `cloudsdial sim`: the simulator's command line, as a library function the app wires to
// the `sim` verb. argv[0] is the verb's program name; options follow.
//   --scenario NAME|FILE   built-in (smtp-basic, smtp-faults, smtp-crash) or a TOML file
//   --seed N               one run (decimal or 0x-hex); prints the trace hash and a summary
//   --seeds A..B           many runs (inclusive), in parallel with --jobs J
//   --json                 a JSON summary on stdout
//   --trace FILE           the full trace of a single run
//   --inject-bug lying-fsync   checker self-test: sync makes nothing durable
// Exit status: 0 no violation, 1 some seed violated an invariant, 2 usage error.
// Every failing seed prints the one command that replays it with the full trace.
// A usage error prints one line naming the option and what is wrong with its value.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "scenario.h"

namespace mail::sim {

int sim_main(int argc, char** argv);

// What --scenario names: a built-in, else a TOML file (load_scenario_file's errors, with
// FILE:LINE). A bare word that is neither is a mistyped name: Errc::not_found with
// "unknown scenario 'X': did you mean 'Y'? (...)". A path (with '/' or ending in .toml)
// that cannot be read says so, with the reason.
Result<Scenario> find_scenario(const std::string& name_or_path);

// One entry of a sweep's "warned_seeds" (--seeds --json): the seed, how many warnings of
// each kind it had, and its replay command:
// {"seed":5,"kinds":{"refused-but-delivered":2},"replay":"cloudsdial sim ..."}.
std::string warned_seed_json(const RunReport& r, std::string_view replay);

}  // namespace mail::sim
