// A scripted POP3 client session (issue 15, for the Python bindings' World.pop3_session):
// connects from a client host to a server's implicit-TLS POP3 listener (RFC 8314, port 995
// in the scenarios), reads the greeting, optionally logs in (USER/PASS, RFC 1939 §7), then
// sends the caller's commands one at a time — each waits for its answer — and records every
// answer (the status line and, for a multi-line "+OK" answer, the body un-stuffed), then
// optionally QUITs (RFC 1939 §6: the UPDATE state). A command may also be a pause of virtual
// time (the session holds the maildrop meanwhile). Which commands are multi-line follows RFC
// 1939 §5/§7 and RFC 2449 §5 (pop3_multiline). An -ERR does not stop the script; a broken
// connection or a command timeout does (the rest stay unanswered). Built on the workload's
// sans-IO Pop3Client (pop3_client.h). Deterministic: no randomness of its own, time from
// the host's Env.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/env.h"
#include "runtime/task.h"
#include "script_spec.h"
#include "tls/context.h"
#include "workload.h"
#include "world.h"

namespace mail::sim {

struct Pop3ScriptCommand {
  enum class Kind : std::uint8_t { text, pause };
  Kind kind = Kind::text;
  std::string text;    // text: the command line without CRLF ("DELE 1")
  Duration pause{0};   // pause: how long to wait before the next command
};

struct Pop3ScriptReply {
  std::string command;    // what was sent ("PASS ***" for the password; "PAUSE <us>us" for a pause)
  bool complete = false;  // the answer arrived (a pause: it ran out)
  bool ok = false;        // "+OK"
  std::string text;       // the status line after "+OK " / "-ERR ", without CRLF
  bool multiline = false;
  std::string body;       // multi-line "+OK" only: the lines (each with CRLF), un-stuffed
  Instant sent{}, received{};  // host clock
};

struct Pop3Script : ScriptTarget {
  bool quit = true;  // QUIT at the end (RFC 1939 §6)
  std::vector<Pop3ScriptCommand> commands;
};

// greeting: the greeting's status line ("+OK ...").
struct Pop3ScriptState : ScriptStateBase<Pop3ScriptReply> {
  std::optional<Pop3ScriptReply> user, pass, quit;
};

// Whether a "+OK" answer to `line` is multi-line: CAPA, RETR, TOP; LIST and UIDL without an
// argument (RFC 1939 §5, §7; RFC 2449 §5).
bool pop3_multiline(std::string_view line);

rt::Task<void> run_pop3_script(rt::Env& env, Pop3Script script, Pop3ScriptState& state);

// Starts the script at now + script.start on its client host; `state` must outlive the World.
void launch_pop3_script(World& world, Pop3Script script, Pop3ScriptState& state);

}  // namespace mail::sim
