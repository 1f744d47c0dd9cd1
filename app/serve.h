// `cloudsdial serve`: wires the production Env (io::AsioEnv) to the node services and runs
// them until SIGTERM/SIGINT, then shuts down gracefully. The only app translation unit
// that includes io/ headers; no toml++ here, and no Asio type in this header.
#pragma once

#include "app/config.h"

namespace mail::app {

// Runs the server with `config`; returns the process exit code (0 after a graceful
// shutdown, 1 when startup fails). Diagnostics go to stderr.
int run_serve(const AppConfig& config);

}  // namespace mail::app
