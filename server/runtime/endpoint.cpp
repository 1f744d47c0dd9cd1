// rt::Endpoint's text form and the "unix:" socket-path helpers (runtime/env.h). Pure string
// work, in a file of its own so that code which only names endpoints (app/config.cpp, and
// the config_toml fuzz target, which cannot build the runtime's coroutines) needs nothing
// else of the runtime.
#include <string>
#include <string_view>

#include "core/assert.h"
#include "runtime/env.h"

namespace mail::rt {

bool is_unix_endpoint(const Endpoint& ep) noexcept { return ep.address.starts_with(kUnixEndpointPrefix); }

std::string_view unix_path(const Endpoint& ep) noexcept {
  MAIL_ASSERT(is_unix_endpoint(ep));
  return std::string_view(ep.address).substr(kUnixEndpointPrefix.size());
}

std::string Endpoint::to_string() const {
  // A socket path may contain ':' and has no port: printed as is.
  if (is_unix_endpoint(*this)) return address;
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
