// A scripted IMAP client session (issue 14, for the Python bindings' World.imap_session):
// connects from a client host to a server's implicit-TLS IMAP listener (RFC 8314), reads the
// greeting, optionally LOGINs, then sends the caller's commands one at a time — each waits
// for its tagged completion — and records every answer (untagged responses with their
// literals, then the tagged line), optionally LOGOUTs. Built on the workload's sans-IO
// ImapClient (imap_client.h); APPEND uses a LITERAL+ literal (RFC 7888), IDLE (RFC 2177)
// waits a given virtual time then sends DONE. A NO or BAD does not stop the script; a broken
// connection or a command timeout does (the rest stay unanswered). Deterministic: no
// randomness of its own, time from the host's Env.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "imap_client.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "script_spec.h"
#include "tls/context.h"
#include "workload.h"
#include "world.h"

namespace mail::sim {

struct ImapScriptCommand {
  enum class Kind : std::uint8_t { text, append, idle };
  Kind kind = Kind::text;
  std::string text;     // text: the command without tag and CRLF ("SELECT INBOX")
  std::string folder;   // append: the target folder (an IMAP astring as written)
  std::string flags;    // append: the flag list's contents ("\\Seen $Label"), may be empty
  std::string message;  // append: the message octets
  Duration idle{0};     // idle: how long to idle before DONE
};

struct ImapScriptReply {
  std::string command;  // what was sent, without the tag (an APPEND's literal left out)
  bool complete = false;  // the tagged completion arrived
  std::string status;     // "OK" / "NO" / "BAD"; "" when incomplete
  std::string text;       // the tagged line without CRLF ("A3 OK [APPENDUID 7 1] done")
  std::vector<ImapResponse> untagged;  // untagged and continuation responses, in order
  Instant sent{}, received{};          // host clock
};

struct ImapScript : ScriptTarget {
  bool logout = true;  // LOGOUT at the end (RFC 9051 §6.1.3)
  std::vector<ImapScriptCommand> commands;
};

// greeting: the server's greeting line.
struct ImapScriptState : ScriptStateBase<ImapScriptReply> {
  std::optional<ImapScriptReply> login, logout;
};

// "..." with \ and " escaped (RFC 9051 §4.3 quoted); nullopt when `s` holds CR, LF or NUL.
std::optional<std::string> imap_quoted(std::string_view s);

rt::Task<void> run_imap_script(rt::Env& env, ImapScript script, ImapScriptState& state);

// Starts the script at now + script.start on its client host; `state` must outlive the World.
void launch_imap_script(World& world, ImapScript script, ImapScriptState& state);

}  // namespace mail::sim
