// SimDns: authoritative data for the simulated world (A, AAAA, MX, TXT per name) plus
// faults: a name can be made to answer SERVFAIL (Errc::unavailable), time out
// (Errc::timeout at the caller's deadline) or NXDOMAIN (Errc::not_found), permanently or
// with a per-query probability. Names are case-insensitive, a trailing dot is ignored.
// A name with records of other types answers an empty list (NODATA), a name with none at
// all answers NXDOMAIN. Answers come back in a seeded random order, like a real resolver.
// DnsZones is world-wide; HostDns is one SimEnv's rt::Dns (its own latency stream).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/prng.h"
#include "runtime/env.h"
#include "sim_config.h"
#include "world.h"

namespace mail::sim {

enum class DnsFault : std::uint8_t { none, servfail, timeout, nxdomain };

class DnsZones {
 public:
  explicit DnsZones(DnsConfig config) : config_(std::move(config)) {}

  void add_a(std::string_view name, std::string address);
  void add_aaaa(std::string_view name, std::string address);
  void add_mx(std::string_view domain, std::uint16_t preference, std::string exchange);
  void add_txt(std::string_view name, std::string text);
  void remove_name(std::string_view name);
  // A sticky fault for `name` (none clears it).
  void set_fault(std::string_view name, DnsFault fault);
  DnsFault fault(std::string_view name) const;

  DnsConfig& config() noexcept { return config_; }

  enum class Type : std::uint8_t { a_aaaa, mx, txt };
  struct Answer {
    DnsFault fault = DnsFault::none;
    std::vector<std::string> strings;  // addresses / TXT strings
    std::vector<rt::MxRecord> mx;
  };
  // The answer the zones give right now, before per-query random faults.
  Answer lookup(std::string_view name, Type type) const;

  static std::string canonical(std::string_view name);

 private:
  struct Records {
    std::vector<std::string> a;
    std::vector<std::string> aaaa;
    std::vector<rt::MxRecord> mx;
    std::vector<std::string> txt;
  };
  DnsConfig config_;
  std::map<std::string, Records, std::less<>> names_;
  std::map<std::string, DnsFault, std::less<>> faults_;
};

class HostDns final : public rt::Dns {
 public:
  HostDns(World& world, HostId host, DnsZones& zones, Prng rng) : world_(world), host_(host), zones_(zones), rng_(rng) {}
  void async_mx(std::string domain, Instant deadline, rt::Completion<std::vector<rt::MxRecord>> done) override;
  void async_addresses(std::string host, Instant deadline, rt::Completion<std::vector<std::string>> done) override;
  void async_txt(std::string name, Instant deadline, rt::Completion<std::vector<std::string>> done) override;

 private:
  template <class T>
  void answer(std::string name, DnsZones::Type type, Instant deadline, rt::Completion<T> done);

  World& world_;
  HostId host_;
  DnsZones& zones_;
  Prng rng_;
};

}  // namespace mail::sim
