// --target sim: placeholder until the simulator target lands.
#include "targets.h"

namespace mail::conformance {
std::unique_ptr<Target> make_sim_smtp_target(std::string& error) {
  error = "--target sim is not built yet";
  return nullptr;
}
}  // namespace mail::conformance
