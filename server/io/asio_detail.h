// Internal to mail::io (includes Boost.Asio; never include it from a public header): the
// factories AsioEnv wires together, and the conversions they share — asio error codes to
// core Errc, core Instant to steady_clock, asio endpoints (TCP and Unix domain) to
// rt::Endpoint.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <memory>
#include <string_view>

#include "core/error.h"
#include "core/time.h"
#include "runtime/env.h"

namespace mail::io::detail {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using unix_stream = asio::local::stream_protocol;

// eof -> Errc::eof, operation_aborted -> canceled, errno values via error_from_errno
// (plus ECONNABORTED -> reset, ENETUNREACH/EHOSTUNREACH -> unavailable).
Error error_from_asio(const error_code& ec, std::string_view what);

Instant instant_from_steady(std::chrono::steady_clock::time_point t) noexcept;
// Saturates: instants past steady_clock's range map to time_point::max().
std::chrono::steady_clock::time_point steady_from_instant(Instant t) noexcept;

// IPv4-mapped IPv6 peers (::ffff:a.b.c.d on a dual-stack socket) come out as a.b.c.d.
rt::Endpoint endpoint_from_asio(const tcp::endpoint& ep);
// {"unix:<path>", 0}; an unnamed end (a client that never bound) is {"unix:", 0}.
rt::Endpoint endpoint_from_asio(const unix_stream::endpoint& ep);

std::unique_ptr<rt::Clock> make_asio_clock(asio::io_context& io);
std::unique_ptr<rt::Net> make_asio_net(asio::io_context& io);
// Takes a connected socket: sets TCP_NODELAY and close-on-exec, caches both endpoints.
std::unique_ptr<rt::Stream> make_asio_stream(tcp::socket socket);
// Takes a connected Unix domain socket: sets close-on-exec. The endpoints come from the
// caller, because a listener binds a temporary name and renames it (asio_unix_net.cpp), so
// the kernel's name for the server end is stale.
std::unique_ptr<rt::Stream> make_asio_stream(unix_stream::socket socket, rt::Endpoint local, rt::Endpoint remote);
// AsioNet's listen and connect for "unix:<path>" endpoints (asio_unix_net.cpp).
Result<std::unique_ptr<rt::Listener>> listen_unix(asio::io_context& io, const rt::Endpoint& at);
void connect_unix(asio::io_context& io, const rt::Endpoint& to, Instant deadline,
                  rt::Completion<std::unique_ptr<rt::Stream>> done);
// Completes `done` with `e` from the loop, never inside the calling initiation (the rt::Env
// contract): a connect error found before anything started (asio_net.cpp, asio_unix_net.cpp).
void post_failure(asio::io_context& io, Error e, rt::Completion<std::unique_ptr<rt::Stream>> done);
// Sets FD_CLOEXEC: asio opens sockets without SOCK_CLOEXEC.
void set_cloexec(int fd) noexcept;

}  // namespace mail::io::detail
