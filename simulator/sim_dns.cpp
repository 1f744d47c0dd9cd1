// SimDns implementation (see sim_dns.h).
#include "sim_dns.h"

#include <algorithm>
#include <utility>

#include "core/ascii.h"

namespace mail::sim {

std::string DnsZones::canonical(std::string_view name) {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return ascii_lower(name);
}

void DnsZones::add_a(std::string_view name, std::string address) { names_[canonical(name)].a.push_back(std::move(address)); }
void DnsZones::add_aaaa(std::string_view name, std::string address) {
  names_[canonical(name)].aaaa.push_back(std::move(address));
}
void DnsZones::add_mx(std::string_view domain, std::uint16_t preference, std::string exchange) {
  names_[canonical(domain)].mx.push_back(rt::MxRecord{preference, canonical(exchange)});
}
void DnsZones::add_txt(std::string_view name, std::string text) { names_[canonical(name)].txt.push_back(std::move(text)); }
void DnsZones::remove_name(std::string_view name) { names_.erase(canonical(name)); }

void DnsZones::set_fault(std::string_view name, DnsFault fault) {
  if (fault == DnsFault::none) {
    faults_.erase(canonical(name));
  } else {
    faults_[canonical(name)] = fault;
  }
}

DnsFault DnsZones::fault(std::string_view name) const {
  auto it = faults_.find(canonical(name));
  return it == faults_.end() ? DnsFault::none : it->second;
}

DnsZones::Answer DnsZones::lookup(std::string_view name, Type type) const {
  Answer out;
  const std::string key = canonical(name);
  out.fault = fault(key);
  if (out.fault != DnsFault::none) return out;
  auto it = names_.find(key);
  if (it == names_.end()) {
    out.fault = DnsFault::nxdomain;
    return out;
  }
  const Records& r = it->second;
  switch (type) {
    case Type::a_aaaa:
      out.strings = r.a;
      out.strings.insert(out.strings.end(), r.aaaa.begin(), r.aaaa.end());
      break;
    case Type::mx: out.mx = r.mx; break;
    case Type::txt: out.strings = r.txt; break;
  }
  return out;
}

namespace {
template <class V>
void shuffle(V& v, Prng& rng) {  // Fisher-Yates with our own draws (never std::shuffle)
  for (std::size_t i = v.size(); i > 1; --i) {
    const auto j = static_cast<std::size_t>(rng.below(i));
    std::swap(v[i - 1], v[j]);
  }
}
std::string_view type_name(DnsZones::Type t) {
  switch (t) {
    case DnsZones::Type::a_aaaa: return "A/AAAA";
    case DnsZones::Type::mx: return "MX";
    case DnsZones::Type::txt: return "TXT";
  }
  return "?";
}
}  // namespace

template <class T>
void HostDns::answer(std::string name, DnsZones::Type type, Instant deadline, rt::Completion<T> done) {
  MAIL_ASSERT(done);
  DnsZones::Answer a = zones_.lookup(name, type);
  const DnsConfig& cfg = zones_.config();
  if (a.fault == DnsFault::none || a.fault == DnsFault::nxdomain) {
    if (cfg.servfail_ppm != 0 && rng_.chance_ppm(cfg.servfail_ppm)) {
      a.fault = DnsFault::servfail;
    } else if (cfg.timeout_ppm != 0 && rng_.chance_ppm(cfg.timeout_ppm)) {
      a.fault = DnsFault::timeout;
    }
  }
  const std::string detail = std::string(type_name(type)) + " " + DnsZones::canonical(name);
  if (a.fault == DnsFault::timeout) {
    const Instant at = deadline == instant_max() ? world_.now() + cfg.default_timeout : world_.to_world_time(host_, deadline);
    world_.schedule_at(at, host_, [this, detail, done = std::move(done)]() mutable {
      world_.record(host_, "dns.timeout", detail);
      done(fail(Errc::timeout, "dns timeout"));
    });
    return;
  }
  const Duration delay = cfg.latency.sample(rng_);
  Result<T> result = fail(Errc::io, "unset");
  std::string outcome;
  if (a.fault == DnsFault::servfail) {
    result = fail(Errc::unavailable, "SERVFAIL");
    outcome = "SERVFAIL";
  } else if (a.fault == DnsFault::nxdomain) {
    result = fail(Errc::not_found, "NXDOMAIN");
    outcome = "NXDOMAIN";
  } else if constexpr (std::is_same_v<T, std::vector<rt::MxRecord>>) {
    shuffle(a.mx, rng_);
    outcome = std::to_string(a.mx.size()) + " MX";
    result = std::move(a.mx);
  } else {
    shuffle(a.strings, rng_);
    outcome = std::to_string(a.strings.size()) + " records";
    result = std::move(a.strings);
  }
  // A deadline earlier than the answer: the caller sees a timeout.
  if (deadline != instant_max() && world_.now() + delay > world_.to_world_time(host_, deadline)) {
    world_.schedule_at(world_.to_world_time(host_, deadline), host_, [this, detail, done = std::move(done)]() mutable {
      world_.record(host_, "dns.timeout", detail);
      done(fail(Errc::timeout, "dns timeout"));
    });
    return;
  }
  world_.schedule_after(delay, host_,
                        [this, detail = detail + " -> " + outcome, done = std::move(done), r = std::move(result)]() mutable {
                          world_.record(host_, "dns.answer", detail);
                          done(std::move(r));
                        });
}

void HostDns::async_mx(std::string domain, Instant deadline, rt::Completion<std::vector<rt::MxRecord>> done) {
  answer<std::vector<rt::MxRecord>>(std::move(domain), DnsZones::Type::mx, deadline, std::move(done));
}

void HostDns::async_addresses(std::string host, Instant deadline, rt::Completion<std::vector<std::string>> done) {
  answer<std::vector<std::string>>(std::move(host), DnsZones::Type::a_aaaa, deadline, std::move(done));
}

void HostDns::async_txt(std::string name, Instant deadline, rt::Completion<std::vector<std::string>> done) {
  answer<std::vector<std::string>>(std::move(name), DnsZones::Type::txt, deadline, std::move(done));
}

}  // namespace mail::sim
