// `cloudsdial status [--json] [--config FILE]`: what a running server is doing, asked over
// its control socket (<data_dir>/control.sock): pid, uptime, listeners, sessions per
// protocol, logins, outbound queue depth. Exit codes as systemctl's: 0 running, 3 not
// running, 1 a server holds the data dir but does not answer, 2 usage or configuration.
#pragma once

#include <string_view>
#include <vector>

namespace mail::app {

int status_main(const std::vector<std::string_view>& args);

}  // namespace mail::app
