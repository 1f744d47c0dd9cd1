// `cloudsdial user add|passwd|del|list NAME [--config FILE]`: edits the user database
// (store/user_db.h) in the configured data directory. Passwords come from a prompt
// without echo (asked twice) or, when stdin is not a terminal, from its first line —
// never from argv (visible in ps). Only SCRAM-SHA-256 credentials are stored.
#pragma once

#include <string_view>
#include <vector>

namespace mail::app {

// Returns the exit code: 0 done, 1 failure (e.g. the user exists), 2 usage.
int user_main(const std::vector<std::string_view>& args);

}  // namespace mail::app
