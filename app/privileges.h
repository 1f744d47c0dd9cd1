// Who the server runs as (issue 19). An MTA must never parse mail from the Internet as root
// (Postfix's master/smtpd split and Dovecot's login processes exist for that): started as
// root with [server] user set, `serve` binds its listeners, opens its pid file and TLS key,
// gives the data directory to the account, then drops to it for good (drop_privileges)
// before the first client byte is read. Started as that user already (systemd User= with
// AmbientCapabilities=CAP_NET_BIND_SERVICE) it runs the same. Root without `user` is
// refused when a listener is public, unless [server] allow_root = true.
// Process-level: the only app file that calls setuid(2) and friends. No Env, no Asio.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "app/config.h"
#include "core/result.h"
#include "runtime/env.h"

namespace mail::app {

// [server] user and group, looked up in the passwd and group databases.
struct ServiceAccount {
  std::string user;
  std::string group;  // the configured group, else the user's primary group
  uid_t uid = 0;
  gid_t gid = 0;
};

// The account named by [server] user/group: nullopt when no user is configured, an error
// naming the missing user or group.
Result<std::optional<ServiceAccount>> resolve_service_account(const AppConfig& config);

// Every TCP listener the configuration asks for (SMTP, submission, IMAP, POP3, HTTP).
std::vector<rt::Endpoint> configured_listeners(const AppConfig& config);
// True for an endpoint reachable from another machine: an IP that is not loopback
// (0.0.0.0 and :: included); a Unix socket or a name is not.
bool is_public_endpoint(const rt::Endpoint& endpoint);

// What `serve` (and the CLI verbs that write the data directory) do for a given start.
enum class StartAction : std::uint8_t {
  run,           // as is: not root, or root on loopback only (with a warning), or allow_root
  drop,          // root with an account: drop to it after binding
  refuse,        // a clear message, exit 2
};
struct StartDecision {
  StartAction action = StartAction::run;
  std::string message;  // refuse: why; run: a warning to print when non-empty
};
// Pure: `euid` the effective uid at start, `public_listener` the first public endpoint
// ("" when all are loopback).
StartDecision decide_start(uid_t euid, const std::optional<ServiceAccount>& account, const std::string& public_listener,
                           bool allow_root);

// Makes `path` and what lies below it belong to the account: a tree whose top is owned by
// someone else is given entirely (lchown, symlinks not followed); otherwise only the
// entries down to `check_depth` levels below the top are checked (a file an operator made as
// root in <data_dir>/queue is found without walking every Maildir). Root only. Returns the
// number of entries changed.
Result<std::size_t> give_to_account(const std::string& path, const ServiceAccount& account, int check_depth = 2);

// Root -> the account for good: supplementary groups (initgroups: the account's own, e.g.
// ssl-cert for keys under /etc/ssl/private), then setresgid, setresuid, then verified
// (real, effective and saved ids all the account's, in every thread: glibc applies set*id to
// all of them; setuid(0) must fail), then PR_SET_NO_NEW_PRIVS for the calling thread. Any
// failure is an error: the caller must not go on serving.
Status drop_privileges(const ServiceAccount& account);

// PR_SET_NO_NEW_PRIVS: nothing the process execs may gain privileges. Per thread, inherited
// by threads created later: call it before any thread starts. It does not restrict setuid().
Status forbid_new_privileges();

}  // namespace mail::app
