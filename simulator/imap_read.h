// Reading an ImapClient's responses off a stream, shared by the scripted IMAP session
// (imap_script.cpp) and the IMAP workload's sessions (imap_workload.cpp): the next
// response the client has parsed, else reads (by `deadline`) fed to it until there is one.
// What a failure means (stop the script, record a problem, an expected timeout) is the
// caller's; ImapRead only says which it was.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/time.h"
#include "imap_client.h"
#include "runtime/env.h"
#include "runtime/task.h"

namespace mail::sim {

// Exactly one of: a response; a protocol error (the client's parse error); a read error
// (Errc::timeout: `deadline` passed); none of them: `dead` was set, nothing was read.
struct ImapRead {
  std::optional<ImapResponse> response;
  std::string protocol_error;
  Errc read_error = Errc::ok;
};

// `stream` and `dead` are looked at before each read: `stream` is used only while `dead`
// is false (another coroutine may close the session meanwhile).
rt::Task<ImapRead> read_response(ImapClient& client, const std::unique_ptr<rt::Stream>& stream,
                                 std::vector<std::byte>& buf, const bool& dead, Instant deadline);

}  // namespace mail::sim
