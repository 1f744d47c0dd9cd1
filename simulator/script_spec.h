// What a scripted IMAP or POP3 client session (imap_script.h, pop3_script.h) is told and
// what it records, the parts both protocols share: ScriptTarget (where and as whom it
// connects, over implicit TLS, RFC 8314 §3) and ScriptStateBase<Reply> (the greeting, one
// Reply per command, why it stopped, its SessionStats). Plain data; ScriptSession
// (script_session.h) runs on them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/env.h"
#include "tls/context.h"
#include "workload.h"
#include "world.h"

namespace mail::sim {

struct ScriptTarget {
  std::uint32_t index = 0;  // "<kind>-script=<index>" in the log
  HostId client = 0;
  rt::Endpoint server;  // the imaps / pop3s listener
  Duration start{0};
  std::string user, password;
  bool login = true;  // log in first (LOGIN, RFC 9051 §6.2.3; USER/PASS, RFC 1939 §7)
  std::shared_ptr<tls::TlsContext> tls_client;
  Duration command_timeout = 2min;
};

template <class Reply>
struct ScriptStateBase {
  std::string greeting;
  std::vector<Reply> replies;  // one per command answered (or cut off), in order
  std::string error;           // why the script stopped early ("" when it ran to the end)
  SessionStats stats;
  bool done() const noexcept { return stats.finished > 0; }
};

}  // namespace mail::sim
