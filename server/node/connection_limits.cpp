// ConnectionLimits: global and per-client-IP connection counting (see the header).
// Pure logic, unit-tested in connection_limits_test.cpp; no I/O and no clock.
#include "node/connection_limits.h"

#include "core/ascii.h"
#include "core/assert.h"

namespace mail::node {

std::string_view to_string(Admission a) noexcept {
  switch (a) {
    case Admission::admitted: return "admitted";
    case Admission::too_many_total: return "too_many_total";
    case Admission::too_many_from_ip: return "too_many_from_ip";
  }
  return "?";
}

std::string ConnectionLimits::canonical_address(std::string_view client_address) {
  std::string out = ascii_lower(client_address);
  constexpr std::string_view mapped = "::ffff:";
  // Only the dotted form is a mapped IPv4 address; "::ffff:abcd" is plain IPv6.
  if (out.size() > mapped.size() && out.compare(0, mapped.size(), mapped) == 0 &&
      out.find('.', mapped.size()) != std::string::npos) {
    out.erase(0, mapped.size());
  }
  return out;
}

Admission ConnectionLimits::acquire(std::string_view client_address) {
  if (total_ >= config_.connections_max) return Admission::too_many_total;
  std::string key = canonical_address(client_address);
  auto it = per_ip_.find(key);
  const std::uint32_t held = it == per_ip_.end() ? 0 : it->second;
  if (held >= config_.connections_per_ip_max) return Admission::too_many_from_ip;
  if (it == per_ip_.end()) {
    per_ip_.emplace(std::move(key), 1);
  } else {
    ++it->second;
  }
  ++total_;
  MAIL_ASSERT(total_ <= config_.connections_max);
  return Admission::admitted;
}

void ConnectionLimits::release(std::string_view client_address) {
  const std::string key = canonical_address(client_address);
  auto it = per_ip_.find(key);
  MAIL_ASSERT(it != per_ip_.end());
  MAIL_ASSERT(it->second > 0);
  MAIL_ASSERT(total_ > 0);
  --total_;
  // Erase at zero so the map holds only addresses with live connections (bounded memory).
  if (--it->second == 0) per_ip_.erase(it);
}

std::uint32_t ConnectionLimits::from(std::string_view client_address) const {
  auto it = per_ip_.find(canonical_address(client_address));
  return it == per_ip_.end() ? 0 : it->second;
}

}  // namespace mail::node
