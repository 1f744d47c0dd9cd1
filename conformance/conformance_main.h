// `cloudsdial conformance`: the CLI of the conformance runner (docs/CONFORMANCE.md).
#pragma once

namespace mail::conformance {

// argv[0] is "conformance". Exit codes: 0 every MUST passed, 1 a MUST failed (or a case
// could not run), 2 usage error or a transcript that does not load.
int conformance_main(int argc, char** argv);

}  // namespace mail::conformance
