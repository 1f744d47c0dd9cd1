// Conversions shared by the Asio-backed parts of AsioEnv: error codes to core Errc, time
// points, endpoints. Pure functions; no I/O.
#include <fcntl.h>

#include <cerrno>
#include <string>

#include <boost/asio/error.hpp>

#include "io/asio_detail.h"

namespace mail::io::detail {

Error error_from_asio(const error_code& ec, std::string_view what) {
  std::string detail(what);
  if (ec == asio::error::eof) return Error{Errc::eof, detail + ": end of stream"};
  if (ec == asio::error::operation_aborted) return Error{Errc::canceled, detail + ": canceled"};
  if (ec.category() == boost::system::system_category() || ec.category() == boost::system::generic_category()) {
    switch (ec.value()) {
      case ECONNABORTED: return Error{Errc::reset, detail + ": " + ec.message()};
      case ENETUNREACH:
      case EHOSTUNREACH:
      case ENETDOWN: return Error{Errc::unavailable, detail + ": " + ec.message()};
      default: return error_from_errno(ec.value(), what);
    }
  }
  return Error{Errc::io, detail + ": " + ec.message()};
}

Instant instant_from_steady(std::chrono::steady_clock::time_point t) noexcept {
  return Instant(std::chrono::duration_cast<Duration>(t.time_since_epoch()));
}

std::chrono::steady_clock::time_point steady_from_instant(Instant t) noexcept {
  using Steady = std::chrono::steady_clock;
  constexpr auto max_us = std::chrono::duration_cast<Duration>(Steady::duration::max()).count();
  const auto us = t.time_since_epoch().count();
  if (us >= max_us) return Steady::time_point::max();
  if (us <= -max_us) return Steady::time_point::min();
  return Steady::time_point(std::chrono::duration_cast<Steady::duration>(Duration(us)));
}

rt::Endpoint endpoint_from_asio(const tcp::endpoint& ep) {
  auto addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
    addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  }
  return rt::Endpoint{addr.to_string(), ep.port()};
}

rt::Endpoint endpoint_from_asio(const unix_stream::endpoint& ep) {
  rt::Endpoint out;
  out.address.append(rt::kUnixEndpointPrefix);  // appended, not "unix:" + path (GCC 12 -Wrestrict)
  out.address.append(ep.path());
  return out;
}

void set_cloexec(int fd) noexcept {
  const int flags = ::fcntl(fd, F_GETFD);
  if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

}  // namespace mail::io::detail
