// The scripted POP3 client session (see pop3_script.h).
#include "pop3_script.h"

#include <span>

#include "pop3_client.h"
#include "runtime/await.h"
#include "script_session.h"

namespace mail::sim {

bool pop3_multiline(std::string_view line) {
  std::string verb(line.substr(0, line.find(' ')));
  for (char& c : verb) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  const bool has_arg = line.find_first_not_of(' ', verb.size()) != std::string_view::npos;
  if (verb == "CAPA" || verb == "RETR" || verb == "TOP") return true;
  if (verb == "LIST" || verb == "UIDL") return !has_arg;
  return false;
}

namespace {

struct Script : ScriptSession<Pop3Script, Pop3ScriptState> {
  Script(rt::Env& e, const Pop3Script& sc, Pop3ScriptState& st) : ScriptSession(e, sc, st, "pop3") {}
  Pop3Client client;
};

// The next response; nullopt when the connection is gone or the command timed out (the
// script stops).
rt::Task<std::optional<Pop3Response>> next_response(Script& s) {
  const Instant deadline = s.now() + s.script.command_timeout;
  for (;;) {
    if (auto r = s.client.poll()) co_return r;
    if (!s.client.error().empty()) {
      s.stop("protocol: " + s.client.error());
      co_return std::nullopt;
    }
    if (s.dead) co_return std::nullopt;
    auto n = co_await rt::read_some(*s.stream, std::span<std::byte>(s.buf), deadline);
    if (!n) {
      s.stop("read: " + std::string(to_string(n.code())));
      co_return std::nullopt;
    }
    if (*n == 0) {
      s.stop("the server closed the connection");
      co_return std::nullopt;
    }
    s.client.feed(std::string_view(reinterpret_cast<const char*>(s.buf.data()), *n));
  }
}

// Sends `line` and reads its answer into a reply recorded as `shown`.
rt::Task<Pop3ScriptReply> exchange(Script& s, const std::string& line, std::string shown) {
  Pop3ScriptReply reply;
  reply.command = std::move(shown);
  reply.sent = s.now();
  std::string bytes = s.client.command(line, pop3_multiline(line));
  if (!co_await script_send(s, std::move(bytes))) co_return reply;
  auto r = co_await next_response(s);
  if (!r) {
    if (s.state.error.empty() || s.state.error.starts_with("read: ")) {
      s.state.error = "no answer to " + reply.command.substr(0, 40) + " (" + s.state.error + ")";
    }
    co_return reply;
  }
  reply.complete = true;
  reply.ok = r->ok;
  reply.text = std::move(r->text);
  reply.multiline = r->multiline;
  reply.body = std::move(r->body);
  reply.received = s.now();
  co_return reply;
}

rt::Task<Pop3ScriptReply> pause(Script& s, Duration d) {
  Pop3ScriptReply reply;
  reply.command = "PAUSE " + std::to_string(d.count()) + "us";
  reply.sent = s.now();
  auto timer = s.env.clock().make_timer();
  auto slept = co_await rt::sleep_until(*timer, s.now() + d);
  (void)slept;
  reply.complete = true;
  reply.ok = true;
  reply.received = s.now();
  co_return reply;
}

rt::Task<bool> open(Script& s) {
  if (!co_await script_connect_tls(s)) co_return false;
  auto greeting = co_await next_response(s);
  if (!greeting) co_return false;
  s.state.greeting = (greeting->ok ? "+OK " : "-ERR ") + greeting->text;
  if (!greeting->ok) {
    s.stop("greeting: " + s.state.greeting.substr(0, 80));
    co_return false;
  }
  co_return true;
}

}  // namespace

rt::Task<void> run_pop3_script(rt::Env& env, Pop3Script script, Pop3ScriptState& state) {
  ++state.stats.started;
  Script s(env, script, state);
  if (co_await open(s)) {
    bool go = true;
    if (script.login) {
      // The password never reaches the log or the recorded command.
      Pop3ScriptReply u = co_await exchange(s, "USER " + script.user, "USER " + script.user);
      go = u.complete && u.ok;
      state.user = std::move(u);
      if (go) {
        Pop3ScriptReply p = co_await exchange(s, "PASS " + script.password, "PASS ***");
        go = p.complete && p.ok;
        state.pass = std::move(p);
      }
      if (go) ++state.stats.authenticated_sessions;
      if (!go && state.error.empty()) {
        const auto& last = state.pass ? *state.pass : *state.user;
        state.error = last.complete ? "login refused: -ERR " + last.text : "no answer to " + last.command;
      }
    }
    for (std::size_t i = 0; go && i < script.commands.size() && !s.dead; ++i) {
      const Pop3ScriptCommand& c = script.commands[i];
      if (c.kind == Pop3ScriptCommand::Kind::pause) {
        Pop3ScriptReply reply = co_await pause(s, c.pause);
        state.replies.push_back(std::move(reply));
      } else {
        Pop3ScriptReply reply = co_await exchange(s, c.text, c.text);
        state.replies.push_back(std::move(reply));
      }
    }
    if (go && script.quit && !s.dead) {
      Pop3ScriptReply reply = co_await exchange(s, "QUIT", "QUIT");
      state.quit = std::move(reply);
    }
  }
  script_finish(s);
}

void launch_pop3_script(World& world, Pop3Script script, Pop3ScriptState& state) {
  launch_script(world, std::move(script), state, &run_pop3_script);
}

}  // namespace mail::sim
