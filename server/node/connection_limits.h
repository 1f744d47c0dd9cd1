// ConnectionLimits: the admission decision for new SMTP connections — a global cap and a
// per-client-IP cap (Postfix smtpd_client_connection_count_limit = 50, default_process_limit
// analogue 1000). Pure bookkeeping: no I/O, no clock, no allocation beyond one map entry per
// distinct connected address. The caller pairs every admitted acquire() with one release().
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace mail::node {

struct ConnectionLimitsConfig {
  std::uint32_t connections_max = 1000;      // all clients together (0 = refuse everything)
  std::uint32_t connections_per_ip_max = 50;  // Postfix smtpd_client_connection_count_limit
};

enum class Admission : std::uint8_t {
  admitted,
  too_many_total,   // the global cap is reached
  too_many_from_ip, // this client address already holds connections_per_ip_max
};

std::string_view to_string(Admission) noexcept;

class ConnectionLimits {
 public:
  explicit ConnectionLimits(ConnectionLimitsConfig config) : config_(config) {}

  // Counts the connection when admitted; otherwise changes nothing.
  [[nodiscard]] Admission acquire(std::string_view client_address);
  // Forgets one admitted connection of `client_address` (must have been admitted).
  void release(std::string_view client_address);

  std::uint32_t total() const noexcept { return total_; }
  std::uint32_t from(std::string_view client_address) const;
  const ConnectionLimitsConfig& config() const noexcept { return config_; }

  // The key connections are counted under: IPv4-mapped IPv6 ("::ffff:1.2.3.4") counts as
  // the IPv4 address, IPv6 letters are lower-cased, so one client cannot dodge the cap by
  // arriving over both stacks.
  static std::string canonical_address(std::string_view client_address);

 private:
  ConnectionLimitsConfig config_;
  std::uint32_t total_ = 0;
  std::map<std::string, std::uint32_t, std::less<>> per_ip_;
};

}  // namespace mail::node
