// conformance_cli: the `cloudsdial conformance` verb without the server's dependencies, so
// the ctest conformance_smtp_inproc builds and runs in seconds. Same arguments, from argv[1].
#include "conformance/conformance_main.h"

int main(int argc, char** argv) { return mail::conformance::conformance_main(argc - 1, argv + 1); }
