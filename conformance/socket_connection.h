// A connected POSIX stream socket as a conformance Connection (runner.h), for the live TCP
// target (targets.cpp, a non-blocking socket) and the smtp-client suite's scripted server
// (client_runner.cpp, a blocking accepted socket). Owns and closes the fd. No connect, no
// listen, no TLS here.
#pragma once

#include <memory>

#include "runner.h"

namespace mail::conformance {

// Writes with MSG_NOSIGNAL; a non-blocking socket whose buffer is full waits up to 5 s for
// room, then fails "write timed out". Reads poll() for up to the timeout first; EAGAIN
// after a wake-up is Recv::timeout. `fd` must be a connected stream socket.
std::unique_ptr<Connection> make_socket_connection(int fd);

}  // namespace mail::conformance
