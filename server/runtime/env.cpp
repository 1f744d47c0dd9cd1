// Small out-of-line helpers of the Env vocabulary.
#include "runtime/env.h"

namespace mail::rt {

std::string Endpoint::to_string() const {
  const bool v6 = address.find(':') != std::string::npos;
  std::string out;
  out.reserve(address.size() + 8);
  if (v6) out.push_back('[');
  out.append(address);
  if (v6) out.push_back(']');
  out.push_back(':');
  out.append(std::to_string(port));
  return out;
}

}  // namespace mail::rt
