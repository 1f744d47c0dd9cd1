// ScriptSession: what the scripted IMAP and POP3 client sessions (imap_script.h,
// pop3_script.h) share, written once. A Script type is a ScriptTarget (script_spec.h) with
// commands; a State type a ScriptStateBase (its `error` and `stats` are used here).
//  - ScriptSession<Script, State>: the connection (stream, read buffer, dead flag), the
//    "<kind>-script=<index>" log tag, and stop(why) (the first reason is kept in state.error);
//  - script_send: writes bytes before command_timeout, stops the script on a failure;
//  - script_connect_tls: connect, then the client TLS handshake (implicit TLS, RFC 8314 §3.3),
//    each before command_timeout; counts connect_failures / tls_sessions;
//  - script_finish: closes the stream, logs "finished[: error]", counts finished;
//  - launch_script: runs `run` at now + script.start on the client host (or records that the
//    host is down). `state` must outlive the World.
// Deterministic: no randomness of its own, time from the host's Env.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/assert.h"
#include "node/smtp_client_connection.h"
#include "runtime/await.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "sim_env.h"
#include "sim_tls.h"
#include "world.h"

namespace mail::sim {

template <class ScriptT, class StateT>
struct ScriptSession {
  ScriptSession(rt::Env& e, const ScriptT& sc, StateT& st, std::string_view kind)
      : env(e), script(sc), state(st), tag(std::string(kind) + "-script=" + std::to_string(sc.index)),
        buf(16 * 1024) {}
  rt::Env& env;
  const ScriptT& script;
  StateT& state;
  std::string tag;
  std::vector<std::byte> buf;
  std::unique_ptr<rt::Stream> stream;
  bool dead = false;

  Instant now() const { return env.clock().now(); }
  void log(const std::string& what) { env.log().write(rt::LogLevel::info, tag + " " + what); }
  void stop(const std::string& why) {
    if (state.error.empty()) state.error = why;
    if (stream) stream->close();
    dead = true;
  }
};

template <class S>
rt::Task<bool> script_send(S& s, std::string bytes) {
  if (s.dead) co_return false;
  const std::span<const std::byte> out = std::as_bytes(std::span<const char>(bytes.data(), bytes.size()));
  const Instant deadline = s.now() + s.script.command_timeout;
  auto written = co_await rt::write_all(*s.stream, out, deadline);
  if (!written) {
    s.stop("write failed: " + std::string(to_string(written.code())));
    co_return false;
  }
  co_return true;
}

template <class S>
rt::Task<bool> script_connect_tls(S& s) {
  auto conn = co_await rt::connect(s.env.net(), s.script.server, s.now() + s.script.command_timeout);
  if (!conn) {
    ++s.state.stats.connect_failures;
    s.stop("connect failed: " + std::string(to_string(conn.code())));
    co_return false;
  }
  s.stream = std::move(*conn);
  MAIL_ASSERT(s.script.tls_client != nullptr);
  auto up = co_await node::client_tls_handshake(s.env, s.stream, *s.script.tls_client, kSimTlsHostname,
                                                s.now() + s.script.command_timeout);
  if (!up) {
    s.state.error = "TLS handshake failed";
    s.dead = true;
    co_return false;
  }
  ++s.state.stats.tls_sessions;
  co_return true;
}

template <class S>
void script_finish(S& s) {
  if (s.stream) s.stream->close();
  s.log("finished" + (s.state.error.empty() ? std::string() : ": " + s.state.error));
  ++s.state.stats.finished;
}

template <class ScriptT, class StateT>
void launch_script(World& world, ScriptT script, StateT& state,
                   rt::Task<void> (*run)(rt::Env&, ScriptT, StateT&)) {
  const HostId client = script.client;
  const Duration start = script.start;
  world.schedule_after(start, client, [&world, client, script = std::move(script), &state, run]() mutable {
    if (!world.host_up(client)) {
      state.error = "the client host is down";
      ++state.stats.finished;
      return;
    }
    SimEnv& env = world.env(client);
    env.tasks().spawn(run(env, std::move(script), state));
  });
}

}  // namespace mail::sim
