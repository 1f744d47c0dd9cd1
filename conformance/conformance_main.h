// `cloudsdial conformance`: the CLI of the conformance runner (docs/CONFORMANCE.md).
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mail::conformance {

// The command line, parsed and checked: the options every suite run shares.
struct ConformanceArgs {
  std::string suite, target;
  std::string only, junit, json, dir, user, password, ca, sni;
  bool allow_remote = false, quiet = false, implicit_tls = false, starttls = false, list = false;
  bool help = false;  // --help: print the usage and nothing else
  long timeout_ms = 5000;
  std::string client_command;  // --suite smtp-client: the client under test (default: ours)
};

// args are the options after "conformance". Errc::invalid with one line that names the
// option missing, unknown (with the nearest known one) or malformed, and what it wants,
// e.g. "--target is missing (inproc, sim, or HOST:PORT; see `cloudsdial conformance
// --help`)". --suite-dir left empty means the caller's default.
Result<ConformanceArgs> parse_conformance_args(const std::vector<std::string_view>& args);

struct CaseResult;

// The results table every suite prints (print_table of runner.h); with `failures_only`
// (--quiet) only the FAIL and ERROR rows.
void print_results_table(std::ostream& out, const std::vector<CaseResult>& results, bool failures_only);

// Writes --junit (suite "conformance.<suite_name>") and --json (target `described`) when
// the command line asks for them; a file that cannot be written is named on stderr and
// fails nothing.
void write_reports(const ConformanceArgs& cli, const std::vector<CaseResult>& results, const std::string& suite_name,
                   const std::string& described);

// argv[0] is "conformance". Exit codes: 0 every MUST passed, 1 a MUST failed (or a case
// could not run), 2 usage error or a transcript that does not load.
int conformance_main(int argc, char** argv);

}  // namespace mail::conformance
