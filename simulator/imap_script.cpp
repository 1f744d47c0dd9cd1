// The scripted IMAP client session (see imap_script.h).
#include "imap_script.h"

#include <span>

#include "imap_read.h"
#include "runtime/await.h"
#include "script_session.h"

namespace mail::sim {

std::optional<std::string> imap_quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return std::nullopt;
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

namespace {

struct Script : ScriptSession<ImapScript, ImapScriptState> {
  Script(rt::Env& e, const ImapScript& sc, ImapScriptState& st) : ScriptSession(e, sc, st, "imap") {}
  ImapClient client;
};

// The next response by `deadline`; nullopt when the connection is gone, or on a timeout
// (then `*timed_out` is set when asked for, else the script stops).
rt::Task<std::optional<ImapResponse>> next_response(Script& s, Instant deadline, bool* timed_out) {
  ImapRead r = co_await read_response(s.client, s.stream, s.buf, s.dead, deadline);
  if (r.response) co_return std::move(r.response);
  if (!r.protocol_error.empty()) {
    s.stop("protocol: " + r.protocol_error);
  } else if (r.read_error == Errc::timeout && timed_out != nullptr) {
    *timed_out = true;
  } else if (r.read_error != Errc::ok) {
    s.stop("read: " + std::string(to_string(r.read_error)));
  }
  co_return std::nullopt;
}

// Reads until the tagged completion of the command last framed by s.client.
rt::Task<void> read_answer(Script& s, ImapScriptReply& reply) {
  const std::string tag = s.client.last_tag();
  const Instant deadline = s.now() + s.script.command_timeout;
  for (;;) {
    auto r = co_await next_response(s, deadline, nullptr);
    if (!r) co_return;
    if (r->kind == ImapResponse::Kind::tagged && r->tag == tag) {
      reply.complete = true;
      reply.status = r->status;
      reply.text = r->text;
      reply.received = s.now();
      co_return;
    }
    reply.untagged.push_back(std::move(*r));
  }
}

// One command: frames it, sends it, reads its answer (IDLE: "+", the idle time, DONE).
rt::Task<ImapScriptReply> run_command(Script& s, const ImapScriptCommand& c) {
  ImapScriptReply reply;
  std::string bytes;
  switch (c.kind) {
    case ImapScriptCommand::Kind::text:
      bytes = s.client.command(c.text);
      reply.command = c.text;
      break;
    case ImapScriptCommand::Kind::append:
      bytes = s.client.append(c.folder, c.flags, c.message);
      reply.command = "APPEND " + c.folder + " (" + c.flags + ") {" + std::to_string(c.message.size()) + "+}";
      break;
    case ImapScriptCommand::Kind::idle:
      bytes = s.client.command("IDLE");
      reply.command = "IDLE";
      break;
  }
  reply.sent = s.now();
  if (!co_await script_send(s, std::move(bytes))) co_return reply;
  if (c.kind == ImapScriptCommand::Kind::idle) {
    // RFC 2177 §3: "+ idling", then untagged updates until the client sends DONE.
    const Instant deadline = s.now() + s.script.command_timeout;
    for (;;) {
      auto r = co_await next_response(s, deadline, nullptr);
      if (!r) co_return reply;
      const bool refused = r->kind == ImapResponse::Kind::tagged && r->tag == s.client.last_tag();
      if (refused) {
        reply.complete = true;
        reply.status = r->status;
        reply.text = r->text;
        reply.received = s.now();
        co_return reply;
      }
      const bool go_on = r->kind == ImapResponse::Kind::continuation;
      reply.untagged.push_back(std::move(*r));
      if (go_on) break;
    }
    const Instant until = s.now() + c.idle;
    for (;;) {
      bool timed_out = false;
      auto r = co_await next_response(s, until, &timed_out);
      if (timed_out) break;
      if (!r) co_return reply;
      reply.untagged.push_back(std::move(*r));
    }
    std::string done = "DONE\r\n";
    if (!co_await script_send(s, std::move(done))) co_return reply;
  }
  co_await read_answer(s, reply);
  if (!reply.complete && !s.dead) s.stop("no answer to " + reply.command.substr(0, 40));
  co_return reply;
}

rt::Task<bool> open(Script& s) {
  if (!co_await script_connect_tls(s)) co_return false;
  auto greeting = co_await next_response(s, s.now() + s.script.command_timeout, nullptr);
  if (!greeting) co_return false;
  s.state.greeting = greeting->text;
  if (greeting->kind != ImapResponse::Kind::untagged || greeting->status != "OK") {
    s.stop("greeting: " + greeting->text.substr(0, 80));
    co_return false;
  }
  co_return true;
}

}  // namespace

rt::Task<void> run_imap_script(rt::Env& env, ImapScript script, ImapScriptState& state) {
  ++state.stats.started;
  Script s(env, script, state);
  if (co_await open(s)) {
    bool go = true;
    if (script.login) {
      // The password never reaches the log or the recorded command.
      const std::string line = "LOGIN " + *imap_quoted(script.user) + " " + *imap_quoted(script.password);
      ImapScriptReply reply;
      reply.command = "LOGIN " + *imap_quoted(script.user) + " \"***\"";
      reply.sent = s.now();
      std::string bytes = s.client.command(line);
      if (co_await script_send(s, std::move(bytes))) co_await read_answer(s, reply);
      go = reply.complete && reply.status == "OK";
      if (go) ++state.stats.authenticated_sessions;
      if (!go && state.error.empty()) state.error = reply.complete ? "LOGIN refused: " + reply.text : "no answer to LOGIN";
      state.login = std::move(reply);
    }
    for (std::size_t i = 0; go && i < script.commands.size() && !s.dead; ++i) {
      ImapScriptReply reply = co_await run_command(s, script.commands[i]);
      state.replies.push_back(std::move(reply));
    }
    if (go && script.logout && !s.dead) {
      ImapScriptCommand bye;
      bye.text = "LOGOUT";
      ImapScriptReply reply = co_await run_command(s, bye);
      state.logout = std::move(reply);
    }
  }
  script_finish(s);
}

void launch_imap_script(World& world, ImapScript script, ImapScriptState& state) {
  launch_script(world, std::move(script), state, &run_imap_script);
}

}  // namespace mail::sim
