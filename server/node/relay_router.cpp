// Router (relay_router.h): static routes, address literals and MX resolution (RFC 5321
// §5.1, RFC 7505) over env.dns(). Lookups run one at a time under one deadline; the
// only randomness is the shuffle of equal preferences, from the Router's own Prng fork.
#include "node/relay_router.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include "core/ascii.h"
#include "core/assert.h"
#include "runtime/await.h"

namespace mail::node {
namespace {

using Outcome = std::variant<Route, RouteError>;

// RFC 3463 codes: X.4.3 directory server failure, X.1.2 bad destination system address,
// X.1.10 null MX (RFC 7505 §4.2), X.4.4 unable to route, X.4.6 routing loop detected.
RouteError transient_dns(const std::string& domain, const std::string& detail) {
  std::string text = "DNS temporary failure for " + domain;
  if (!detail.empty()) {
    // The resolver's detail is our own text, but keep the reply line short and clean.
    std::string clean = detail.substr(0, 160);
    for (char& c : clean) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    }
    text.append(": ").append(clean);
  }
  return RouteError{false, smtp::Reply::make(451, {4, 4, 3}, std::move(text))};
}
RouteError no_such_domain(const std::string& domain) {
  return RouteError{true, smtp::Reply::make(550, {5, 1, 2}, "domain " + domain + " does not exist")};
}
RouteError null_mx(const std::string& domain) {
  return RouteError{true, smtp::Reply::make(556, {5, 1, 10}, "domain " + domain + " does not accept mail (null MX)")};
}
RouteError no_address(const std::string& domain) {
  return RouteError{true, smtp::Reply::make(550, {5, 4, 4}, "no address to deliver mail for " + domain)};
}
RouteError loop(const std::string& domain) {
  return RouteError{true, smtp::Reply::make(554, {5, 4, 6}, "mail for " + domain + " loops back to myself")};
}

// A DNS name as returned by a resolver, as we compare it: lower case, no trailing dot.
std::string canonical_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return ascii_lower(name);
}

bool is_ip(const std::string& text) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, text.c_str(), buf) == 1 || ::inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

rt::Task<Result<std::vector<std::string>>> addresses_of(rt::Dns& dns, std::string host, Instant deadline) {
  co_return co_await rt::async_op<std::vector<std::string>>([&dns, &host, deadline](rt::Completion<std::vector<std::string>> c) {
    dns.async_addresses(host, deadline, std::move(c));
  });
}

}  // namespace

std::string canonical_address(std::string_view address) {
  const std::string text(address);
  in_addr a4{};
  in6_addr a6{};
  char out[INET6_ADDRSTRLEN];
  if (::inet_pton(AF_INET, text.c_str(), &a4) == 1 && ::inet_ntop(AF_INET, &a4, out, sizeof out) != nullptr) return out;
  if (::inet_pton(AF_INET6, text.c_str(), &a6) == 1 && ::inet_ntop(AF_INET6, &a6, out, sizeof out) != nullptr) return out;
  return ascii_lower(text);
}

Router::Router(rt::Env& env, RouterConfig config) : env_(env), config_(std::move(config)), rng_(env.rng().fork("mx")) {
  MAIL_ASSERT(config_.max_mx_hosts >= 1);
  MAIL_ASSERT(config_.max_addresses_per_host >= 1);
  for (auto& name : config_.own_names) name = canonical_name(name);
  for (const auto& a : config_.own_addresses) own_addresses_.push_back(canonical_address(a));
  for (auto& r : config_.routes) {
    MAIL_ASSERT(!r.domain.empty());
    MAIL_ASSERT(!r.host.empty());
    r.domain = canonical_name(r.domain);  // "B.Test." matches "b.test"; "*" stays "*"
  }
}

bool Router::own_address(const std::string& address) const {
  return std::find(own_addresses_.begin(), own_addresses_.end(), canonical_address(address)) != own_addresses_.end();
}

rt::Task<Outcome> Router::resolve(std::string domain) {
  domain = canonical_name(domain);
  const Instant deadline = env_.clock().now() + config_.lookup_timeout;

  // An address literal (RFC 5321 §4.1.3): that address, no DNS.
  if (!domain.empty() && domain.front() == '[') {
    if (domain.size() < 3 || domain.back() != ']') co_return no_such_domain(domain);
    std::string address = domain.substr(1, domain.size() - 2);
    const bool tagged = istarts_with(address, "ipv6:");
    if (tagged) address.erase(0, 5);
    unsigned char buf[sizeof(in6_addr)];
    if (::inet_pton(tagged ? AF_INET6 : AF_INET, address.c_str(), buf) != 1) co_return no_such_domain(domain);
    address = canonical_address(address);
    if (own_address(address)) co_return loop(domain);
    Route route;
    route.hops.push_back(NextHop{address, address, 25, 0});
    co_return route;
  }

  const StaticRoute* wildcard = nullptr;
  for (const auto& r : config_.routes) {
    if (r.domain == domain) co_return co_await route_static(r, deadline);
    if (r.domain == "*" && wildcard == nullptr) wildcard = &r;
  }
  if (wildcard != nullptr) co_return co_await route_static(*wildcard, deadline);
  co_return co_await route_mx(domain, deadline);
}

rt::Task<Outcome> Router::route_static(const StaticRoute& r, Instant deadline) {
  Route route;
  route.tls = r.tls;
  route.static_route = &r;
  if (is_ip(r.host)) {
    route.hops.push_back(NextHop{r.host, canonical_address(r.host), r.port, 0});
    co_return route;
  }
  auto addresses = co_await addresses_of(env_.dns(), r.host, deadline);
  if (!addresses) co_return transient_dns(r.host, addresses.error().detail);
  for (const auto& a : *addresses) {
    if (route.hops.size() == config_.max_addresses_per_host) break;
    route.hops.push_back(NextHop{r.host, a, r.port, 0});
  }
  if (route.hops.empty()) co_return transient_dns(r.host, "no address for the route's host");
  co_return route;
}

rt::Task<Outcome> Router::route_mx(const std::string& domain, Instant deadline) {
  rt::Dns& dns = env_.dns();
  auto mx = co_await rt::async_op<std::vector<rt::MxRecord>>(
      [&dns, &domain, deadline](rt::Completion<std::vector<rt::MxRecord>> c) { dns.async_mx(domain, deadline, std::move(c)); });
  if (!mx) {
    // NXDOMAIN must be reported as an error, a temporary failure queued (RFC 5321 §5.1).
    if (mx.code() == Errc::not_found || mx.code() == Errc::invalid) co_return no_such_domain(domain);
    co_return transient_dns(domain, mx.error().detail);
  }

  std::vector<rt::MxRecord> hosts;
  const bool implicit = mx->empty();
  if (implicit) {
    hosts.push_back(rt::MxRecord{0, domain});  // RFC 5321 §5.1 implicit MX, preference 0
  } else {
    // RFC 7505 §3: a null MX is the only MX record, exchange the root.
    if (mx->size() == 1 && canonical_name((*mx)[0].exchange).empty()) co_return null_mx(domain);
    for (auto& r : *mx) {
      std::string name = canonical_name(r.exchange);
      if (!name.empty()) hosts.push_back(rt::MxRecord{r.preference, std::move(name)});
    }
    if (hosts.empty()) co_return null_mx(domain);  // several "." records: the same intent
    std::stable_sort(hosts.begin(), hosts.end(), [](const auto& a, const auto& b) { return a.preference < b.preference; });
    // RFC 5321 §5.1: equal preferences MUST be randomised. Fisher-Yates per run of equals
    // with our own draws (never std::shuffle, whose draws differ between libraries).
    for (std::size_t begin = 0; begin < hosts.size();) {
      std::size_t end = begin + 1;
      while (end < hosts.size() && hosts[end].preference == hosts[begin].preference) ++end;
      for (std::size_t i = end - begin; i > 1; --i) {
        const auto j = static_cast<std::size_t>(rng_.below(i));
        std::swap(hosts[begin + i - 1], hosts[begin + j]);
      }
      begin = end;
    }
  }

  // RFC 5321 §5.1: a record naming us discards its preference level and every higher one.
  bool looped = false;
  const auto cut_at = [&hosts, &looped](std::uint16_t preference) {
    looped = true;
    std::erase_if(hosts, [preference](const rt::MxRecord& r) { return r.preference >= preference; });
  };
  for (const auto& h : hosts) {
    if (std::find(config_.own_names.begin(), config_.own_names.end(), h.exchange) != config_.own_names.end()) {
      cut_at(h.preference);
      break;  // sorted: the first match has the lowest preference
    }
  }
  if (hosts.size() > config_.max_mx_hosts) hosts.resize(config_.max_mx_hosts);

  Route route;
  std::size_t transient = 0;
  std::string transient_detail;
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    const rt::MxRecord host = hosts[i];  // a copy: cut_at below erases from `hosts`
    auto addresses = co_await addresses_of(dns, host.exchange, deadline);
    if (!addresses) {
      if (addresses.code() != Errc::not_found && addresses.code() != Errc::invalid) {
        ++transient;
        if (transient_detail.empty()) transient_detail = addresses.error().detail;
      }
      continue;
    }
    if (std::any_of(addresses->begin(), addresses->end(), [this](const std::string& a) { return own_address(a); })) {
      cut_at(host.preference);
      std::erase_if(route.hops, [&host](const NextHop& h) { return h.preference >= host.preference; });
      break;  // every host after this one has the same or a higher preference
    }
    std::size_t taken = 0;
    for (const auto& a : *addresses) {
      if (taken == config_.max_addresses_per_host) break;
      const std::string address = canonical_address(a);
      if (std::any_of(route.hops.begin(), route.hops.end(), [&address](const NextHop& h) { return h.address == address; })) continue;
      route.hops.push_back(NextHop{host.exchange, address, 25, host.preference});
      ++taken;
    }
  }
  if (!route.hops.empty()) co_return route;
  if (transient > 0) co_return transient_dns(domain, transient_detail);
  if (looped) co_return loop(domain);
  co_return no_address(domain);
}

}  // namespace mail::node
