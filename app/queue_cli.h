// `cloudsdial queue list|show|flush|hold|release|delete [ID] [--json] [--config FILE]`:
// the outbound queue of the configured data directory. With the server running, the
// request goes through its control socket (<data_dir>/control.sock, node/control_server.h),
// so the server's own state changes; with it stopped, the queue files are read and changed
// directly (store/outbound_queue.h). Output: a table (or a message's details), or the JSON
// document itself with --json.
#pragma once

#include <string_view>
#include <vector>

namespace mail::app {

// Returns the exit code: 0 done, 1 failure (unknown id, unreachable queue), 2 usage.
int queue_main(const std::vector<std::string_view>& args);

}  // namespace mail::app
