// PosixDns: blocking resolver calls on the DNS worker pool, each raced against an Env
// timer for its deadline; whichever finishes first on the env thread answers, the other
// is dropped. A per-call res_state keeps res_nquery thread-safe; configured servers are
// written into it (IPv4 and IPv6, any port).
#include "io/dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>

#include "io/dns_wire.h"
#include "io/worker_pool.h"

namespace mail::io {
namespace {

template <class T>
struct Pending {
  rt::Completion<T> done;  // emptied by whichever answers first
  std::unique_ptr<rt::Timer> timer;
};

Result<std::vector<std::string>> lookup_addresses(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;  // one entry per address, not per socket type
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    const std::string what = "getaddrinfo " + host + ": ";
    switch (rc) {
      case EAI_NONAME:
#ifdef EAI_NODATA
      case EAI_NODATA:
#endif
        return fail(Errc::not_found, what + ::gai_strerror(rc));
      case EAI_AGAIN: return fail(Errc::unavailable, what + ::gai_strerror(rc));
      case EAI_SYSTEM: return fail(error_from_errno(errno, what));
      default: return fail(Errc::io, what + ::gai_strerror(rc));
    }
  }
  std::vector<std::string> out;
  for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    char text[NI_MAXHOST];
    if (::getnameinfo(ai->ai_addr, ai->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST) != 0) continue;
    if (std::find(out.begin(), out.end(), text) == out.end()) out.emplace_back(text);
  }
  ::freeaddrinfo(res);
  if (out.empty()) return fail(Errc::not_found, "getaddrinfo " + host + ": no addresses");
  return out;
}

bool is_numeric_address(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// A private resolver state for one query: res_ninit reads /etc/resolv.conf (options and
// name servers); configured servers then replace its name servers. Never shared between
// threads, so res_nquery needs no lock.
class ResState {
 public:
  explicit ResState(const PosixDnsConfig& config) {
    std::memset(&st_, 0, sizeof st_);
    ok_ = ::res_ninit(&st_) == 0;
    if (ok_ && !config.servers.empty()) ok_ = use_servers(config);
  }
  ~ResState() {
    if (ok_) ::res_nclose(&st_);
  }
  ResState(const ResState&) = delete;
  ResState& operator=(const ResState&) = delete;

  bool ok() const noexcept { return ok_; }
  res_state get() noexcept { return &st_; }

 private:
  // glibc's layout (resolv/res_get_nsaddr.c, res_send.c): name server n is nsaddr_list[n],
  // an IPv4 sockaddr_in; an IPv6 server is a malloc'd sockaddr_in6 in _u._ext.nsaddrs[n]
  // with nsaddr_list[n].sin_family 0. res_nclose frees nsaddrs[] and closes nssocks[]
  // (-1: none), and res_send rebuilds its copies when _u._ext.nscount is 0.
  bool use_servers(const PosixDnsConfig& config) {
    MAIL_ASSERT(config.servers.size() <= dns_servers_max);
    static_assert(dns_servers_max == MAXNS);
    for (int i = 0; i < MAXNS; ++i) {
      std::free(st_._u._ext.nsaddrs[i]);  // resolv.conf's IPv6 servers, if any
      st_._u._ext.nsaddrs[i] = nullptr;
      st_._u._ext.nssocks[i] = -1;
      std::memset(&st_.nsaddr_list[i], 0, sizeof st_.nsaddr_list[i]);
    }
    st_._u._ext.nscount = 0;
    st_.nscount = 0;
    for (const rt::Endpoint& server : config.servers) {
      const int n = st_.nscount;
      in_addr a4{};
      in6_addr a6{};
      if (::inet_pton(AF_INET, server.address.c_str(), &a4) == 1) {
        st_.nsaddr_list[n].sin_family = AF_INET;
        st_.nsaddr_list[n].sin_port = htons(server.port);
        st_.nsaddr_list[n].sin_addr = a4;
      } else {
        MAIL_ASSERT(::inet_pton(AF_INET6, server.address.c_str(), &a6) == 1);
        auto* s6 = static_cast<sockaddr_in6*>(std::calloc(1, sizeof(sockaddr_in6)));
        if (s6 == nullptr) return false;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(server.port);
        s6->sin6_addr = a6;
        st_._u._ext.nsaddrs[n] = s6;
      }
      st_.nscount = n + 1;
    }
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(config.timeout).count();
    st_.retrans = static_cast<int>(std::clamp<std::int64_t>(seconds, 1, 300));
    st_.retry = std::clamp(config.attempts, 1, 5);
    return true;
  }

  struct __res_state st_;
  bool ok_ = false;
};

// The raw answer to `name`/`type`; an empty buffer means "name exists, no such records".
Result<std::vector<unsigned char>> query(const std::string& name, int type, const PosixDnsConfig& config) {
  ResState st(config);
  if (!st.ok()) return fail(Errc::unavailable, "res_ninit failed");
  std::vector<unsigned char> answer(65536);
  const int n = ::res_nquery(st.get(), name.c_str(), ns_c_in, type, answer.data(), static_cast<int>(answer.size()));
  const int herr = st.get()->res_h_errno;
  if (n >= 0) {
    answer.resize(static_cast<std::size_t>(std::min<int>(n, static_cast<int>(answer.size()))));
    return answer;
  }
  const std::string what = "dns " + name + ": ";
  switch (herr) {
    case HOST_NOT_FOUND: return fail(Errc::not_found, what + "NXDOMAIN");
    case NO_DATA: return std::vector<unsigned char>{};
    // SERVFAIL or REFUSED from every server, no answer within the tries, or no server
    // reachable: glibc's res_send does not tell these apart (errno is ETIMEDOUT for the first
    // two), and all are worth a retry later. Errc::timeout is kept for the caller's deadline.
    case TRY_AGAIN: return fail(Errc::unavailable, what + "SERVFAIL, REFUSED, no answer or unreachable");
    case NO_RECOVERY: return fail(Errc::unavailable, what + "FORMERR, REFUSED or NOTIMP");
    default: return fail(Errc::unavailable, what + "resolver failure");
  }
}

// A and AAAA through the configured servers: AAAA first (see dns.h), one answer is enough.
Result<std::vector<std::string>> query_addresses(const std::string& host, const PosixDnsConfig& config) {
  std::vector<std::string> out;
  std::optional<Error> transient;
  for (const int type : {ns_t_aaaa, ns_t_a}) {
    auto answer = query(host, type, config);
    if (!answer) {
      if (answer.code() == Errc::not_found) return fail(answer.error());
      if (!transient) transient = answer.error();
      continue;
    }
    if (answer->empty()) continue;  // NODATA for this type
    auto parsed = type == ns_t_a ? parse_a_answer(*answer) : parse_aaaa_answer(*answer);
    if (!parsed) return fail(parsed.error());
    for (auto& a : *parsed) {
      if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(std::move(a));
    }
  }
  if (out.empty() && transient) return fail(*transient);
  return out;
}

}  // namespace

PosixDns::PosixDns(WorkerPool& pool, rt::Executor& executor, rt::Clock& clock, PosixDnsConfig config)
    : pool_(pool), executor_(executor), clock_(clock), config_(std::move(config)) {
  MAIL_ASSERT(config_problem(config_).empty());
}

std::string PosixDns::config_problem(const PosixDnsConfig& config) {
  if (config.servers.size() > dns_servers_max) return "at most " + std::to_string(dns_servers_max) + " servers";
  for (const auto& s : config.servers) {
    unsigned char buf[sizeof(in6_addr)];
    if (::inet_pton(AF_INET, s.address.c_str(), buf) != 1 && ::inet_pton(AF_INET6, s.address.c_str(), buf) != 1) {
      return "server '" + s.address + "' is not an IP address";
    }
    if (s.port == 0) return "server " + s.to_string() + ": port 0";
  }
  if (config.timeout < 1s || config.timeout > 300s) return "timeout must be between 1s and 300s";
  if (config.attempts < 1 || config.attempts > 5) return "attempts must be between 1 and 5";
  return {};
}

template <class T, class Fn>
void PosixDns::run(Instant deadline, Fn fn, rt::Completion<T> done) {
  MAIL_ASSERT(static_cast<bool>(done));
  auto pending = std::make_shared<Pending<T>>();
  pending->done = std::move(done);
  // A deadline already past answers without starting a lookup (and deterministically).
  if (deadline <= clock_.now()) {
    executor_.post([p = std::move(pending)]() mutable { p->done(fail(Errc::timeout, "dns: deadline passed")); });
    return;
  }
  if (deadline != instant_max()) {
    pending->timer = clock_.make_timer();
    pending->timer->async_wait_until(deadline, [w = std::weak_ptr<Pending<T>>(pending)](Result<void> r) {
      auto p = w.lock();
      if (!r || !p || !p->done) return;
      auto d = std::move(p->done);
      d(fail(Errc::timeout, "dns: deadline passed"));
    });
  }
  pool_.submit([fn = std::move(fn), pending = std::move(pending), exec = &executor_]() mutable {
    Result<T> r = fn();
    // `pending` moves on to the env thread: its timer may only be touched (and
    // destroyed) there.
    exec->post([r = std::move(r), p = std::move(pending)]() mutable {
      if (!p->done) return;  // the deadline answered first
      if (p->timer) p->timer->cancel();
      auto d = std::move(p->done);
      d(std::move(r));
    });
  });
}

void PosixDns::async_addresses(std::string host, Instant deadline, rt::Completion<std::vector<std::string>> done) {
  if (!is_numeric_address(host) && !valid_dns_name(host)) {
    executor_.post([done = std::move(done), host]() mutable { done(fail(Errc::invalid, "dns: not a host name: " + host)); });
    return;
  }
  if (is_numeric_address(host)) {
    executor_.post([done = std::move(done), host = std::move(host)]() mutable { done(std::vector<std::string>{host}); });
    return;
  }
  if (config_.servers.empty()) {
    run<std::vector<std::string>>(deadline, [host = std::move(host)] { return lookup_addresses(host); }, std::move(done));
  } else {
    run<std::vector<std::string>>(
        deadline, [host = std::move(host), c = config_] { return query_addresses(host, c); }, std::move(done));
  }
}

void PosixDns::async_mx(std::string domain, Instant deadline, rt::Completion<std::vector<rt::MxRecord>> done) {
  if (!valid_dns_name(domain)) {
    executor_.post([done = std::move(done), domain]() mutable { done(fail(Errc::invalid, "dns: not a domain name: " + domain)); });
    return;
  }
  run<std::vector<rt::MxRecord>>(
      deadline,
      [domain = std::move(domain), c = config_]() -> Result<std::vector<rt::MxRecord>> {
        auto answer = query(domain, ns_t_mx, c);
        if (!answer) return fail(answer.error());
        if (answer->empty()) return std::vector<rt::MxRecord>{};
        return parse_mx_answer(*answer);
      },
      std::move(done));
}

void PosixDns::async_txt(std::string name, Instant deadline, rt::Completion<std::vector<std::string>> done) {
  if (!valid_dns_name(name)) {
    executor_.post([done = std::move(done), name]() mutable { done(fail(Errc::invalid, "dns: not a domain name: " + name)); });
    return;
  }
  run<std::vector<std::string>>(
      deadline,
      [name = std::move(name), c = config_]() -> Result<std::vector<std::string>> {
        auto answer = query(name, ns_t_txt, c);
        if (!answer) return fail(answer.error());
        if (answer->empty()) return std::vector<std::string>{};
        return parse_txt_answer(*answer);
      },
      std::move(done));
}

}  // namespace mail::io
