// Small out-of-line helpers of the Env vocabulary.
#include "runtime/env.h"

namespace mail::rt {

std::string Endpoint::to_string() const {
  std::string out;
  if (address.find(':') != std::string::npos) {
    out = "[" + address + "]";
  } else {
    out = address;
  }
  out += ":" + std::to_string(port);
  return out;
}

}  // namespace mail::rt
