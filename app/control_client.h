// The client side of a running server's control socket (node/control_server.h), shared by
// `cloudsdial queue` and `cloudsdial status`: one request line, one JSON answer. Includes
// io/ headers only in the .cpp; no toml++.
#pragma once

#include <optional>
#include <string>

#include "runtime/env.h"
#include "runtime/task.h"

namespace mail::app {

// One request over the control socket at `at` ("unix:<data_dir>/control.sock"): the raw
// answer, or nullopt when no server listens there.
rt::Task<std::optional<std::string>> ask_server(rt::Env& env, rt::Endpoint at, std::string request);

// True when a server holds the data directory's pid-file lock (serve takes it with flock).
bool server_holds_lock(const std::string& pid_path);

// The pid written in the pid file, or 0 when it cannot be read.
long read_pid_file(const std::string& pid_path);

}  // namespace mail::app
