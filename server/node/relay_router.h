// Router: where the relay sends mail for a remote domain (RFC 5321 §5.1): a static route
// from the config, an address literal, or the domain's MX hosts (preference order, ties
// shuffled from the Env's seeded Prng, implicit MX, RFC 7505 null MX, loop detection
// against our own names and addresses) resolved to addresses. Node layer: only env.dns(),
// env.rng() and env.clock(); no sockets, no Asio, no retries (the queue decides when to
// ask again). Everything it returns is a value: a Route, or a RouteError carrying the
// reply the queue records (4xx: defer, 5xx: bounce).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/prng.h"
#include "core/time.h"
#include "proto/smtp/reply.h"
#include "runtime/env.h"
#include "runtime/task.h"

namespace mail::node {

enum class TlsPolicy : std::uint8_t { none, opportunistic, required };

struct StaticRoute {
  std::string domain;           // lower-case domain, or "*" (smarthost: every remote domain without its own route)
  std::string host;             // IP literal or host name (resolved with A/AAAA)
  std::uint16_t port = 25;
  TlsPolicy tls = TlsPolicy::opportunistic;
  std::string auth_user;        // empty: no AUTH
  std::string auth_password_file;  // read by the caller (app), not here
};

struct NextHop {
  std::string host;             // MX exchange or route host (logs, SNI, DSN Remote-MTA)
  std::string address;          // IP to connect to
  std::uint16_t port = 25;
  std::uint16_t preference = 0;
  friend bool operator==(const NextHop&, const NextHop&) = default;
};

struct Route {
  std::vector<NextHop> hops;    // in the order to try (RFC 5321 §5.1); never empty on success
  TlsPolicy tls = TlsPolicy::opportunistic;
  const StaticRoute* static_route = nullptr;  // the route used, if any (auth settings); points into the Router's config
};

struct RouteError {
  bool permanent = false;       // bounce now (true) or defer (false)
  smtp::Reply reply;            // 451 4.4.3 DNS temporary failure / 550 5.1.2 domain does not exist (NXDOMAIN) / 556 5.1.10 null MX (RFC 7505 §3) / 550 5.4.4 no address / 554 5.4.6 MX points to us (loop)
};

struct RouterConfig {
  std::vector<StaticRoute> routes;
  std::vector<std::string> own_names;     // our host names (lower-case): an MX pointing to one is a loop (RFC 5321 §5.1: discard it and every MX of lower preference (higher number); none left -> 554 5.4.6)
  std::vector<std::string> own_addresses; // our IPs: the same for a resolved address
  std::size_t max_mx_hosts = 10;          // at most this many MX hosts are tried
  std::size_t max_addresses_per_host = 4;
  Duration lookup_timeout = 30s;          // budget of one resolve(): every query shares this deadline
};

class Router {
 public:
  // `env` must outlive the Router and every resolve() task. The Router owns a fork of
  // env.rng() ("mx"), so its shuffles are reproducible per seed and perturb nothing else.
  Router(rt::Env& env, RouterConfig config);

  // Where mail for `domain` (canonical: lower-case, no trailing dot; or an address literal
  // "[192.0.2.1]" / "[IPv6:2001:db8::1]" -> that address, port 25) goes: an exact static
  // route, else "*", else MX lookup: sorted by preference, random order among equal
  // preferences (env.rng().fork("mx")), each MX host's A/AAAA addresses (in the resolver's
  // order); no MX records -> implicit MX, the domain's own A/AAAA (RFC 5321 §5.1); a single
  // MX "." (or empty exchange) -> null MX, permanent (RFC 7505). MX hosts whose address
  // lookup fails are skipped (transient error only if all fail transiently).
  //
  // Details of the contract:
  // * Every query of one call shares one deadline, now + lookup_timeout.
  // * A static route's host that does not resolve is a transient error (451 4.4.3): a
  //   configuration mistake must not bounce mail. Static routes are not loop-checked (the
  //   port may be another instance on this host, as in the loopback tests).
  // * MX: the set is sorted, ties shuffled, then a host named in own_names cuts the list at
  //   its preference (that level and every higher number go, RFC 5321 §5.1), then at most
  //   max_mx_hosts remain. Their lookups run one after another in that order; a host whose
  //   addresses include one of own_addresses cuts the list the same way (hops already taken
  //   at that preference are dropped too). Each host contributes at most
  //   max_addresses_per_host addresses; an address already listed is not repeated.
  // * No hop at all: any MX host failed transiently -> 451 4.4.3 (defer rather than bounce
  //   while part of the answer is unknown); else the loop cut everything -> 554 5.4.6; else
  //   550 5.4.4. Null MX mixed with real MX records: the "." record is ignored.
  // * Address literals: an invalid one -> 550 5.1.2; one of own_addresses -> 554 5.4.6.
  //   The hop's host is the address itself.
  rt::Task<std::variant<Route, RouteError>> resolve(std::string domain);

  const RouterConfig& config() const noexcept { return config_; }

 private:
  rt::Task<std::variant<Route, RouteError>> route_static(const StaticRoute& route, Instant deadline);
  rt::Task<std::variant<Route, RouteError>> route_mx(const std::string& domain, Instant deadline);
  bool own_address(const std::string& address) const;

  rt::Env& env_;
  RouterConfig config_;
  std::vector<std::string> own_addresses_;  // canonical text (inet_ntop of inet_pton)
  Prng rng_;
};

// Canonical text of an IPv4 or IPv6 address ("2001:DB8:0::1" -> "2001:db8::1"); other
// text (a simulated host address that is not an IP) comes back lower-cased.
std::string canonical_address(std::string_view address);

}  // namespace mail::node
