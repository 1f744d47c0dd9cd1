// PosixDns: blocking resolver calls on the DNS worker pool, each raced against an Env
// timer for its deadline; whichever finishes first on the env thread answers, the other
// is dropped. A per-call res_state keeps res_nquery thread-safe.
#include "io/dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
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

// The raw answer to `name`/`type`; an empty buffer means "name exists, no such records".
Result<std::vector<unsigned char>> query(const std::string& name, int type) {
  struct __res_state st;
  std::memset(&st, 0, sizeof st);
  if (::res_ninit(&st) != 0) return fail(Errc::unavailable, "res_ninit failed");
  std::vector<unsigned char> answer(65536);
  const int n = ::res_nquery(&st, name.c_str(), ns_c_in, type, answer.data(), static_cast<int>(answer.size()));
  const int herr = st.res_h_errno;
  ::res_nclose(&st);
  if (n >= 0) {
    answer.resize(static_cast<std::size_t>(std::min<int>(n, static_cast<int>(answer.size()))));
    return answer;
  }
  const std::string what = "dns " + name + ": ";
  switch (herr) {
    case HOST_NOT_FOUND: return fail(Errc::not_found, what + "NXDOMAIN");
    case NO_DATA: return std::vector<unsigned char>{};
    case TRY_AGAIN: return fail(Errc::unavailable, what + "SERVFAIL or no answer");
    case NO_RECOVERY: return fail(Errc::unavailable, what + "FORMERR, REFUSED or NOTIMP");
    default: return fail(Errc::unavailable, what + "resolver failure");
  }
}

}  // namespace

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
  run<std::vector<std::string>>(deadline, [host = std::move(host)] { return lookup_addresses(host); }, std::move(done));
}

void PosixDns::async_mx(std::string domain, Instant deadline, rt::Completion<std::vector<rt::MxRecord>> done) {
  if (!valid_dns_name(domain)) {
    executor_.post([done = std::move(done), domain]() mutable { done(fail(Errc::invalid, "dns: not a domain name: " + domain)); });
    return;
  }
  run<std::vector<rt::MxRecord>>(
      deadline,
      [domain = std::move(domain)]() -> Result<std::vector<rt::MxRecord>> {
        auto answer = query(domain, ns_t_mx);
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
      [name = std::move(name)]() -> Result<std::vector<std::string>> {
        auto answer = query(name, ns_t_txt);
        if (!answer) return fail(answer.error());
        if (answer->empty()) return std::vector<std::string>{};
        return parse_txt_answer(*answer);
      },
      std::move(done));
}

}  // namespace mail::io
