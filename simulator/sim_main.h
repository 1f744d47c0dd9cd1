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
#pragma once

namespace mail::sim {

int sim_main(int argc, char** argv);

}  // namespace mail::sim
