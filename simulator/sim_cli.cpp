// cloudsdial-sim: a stand-alone entry point for `cloudsdial sim` (same arguments), used by
// ctest and developers until the app wires the `sim` verb to mail::sim::sim_main.
#include "simulator/sim_main.h"

int main(int argc, char** argv) { return mail::sim::sim_main(argc, argv); }
