// Privilege handling (see header). Must not: go on after a failed or partial drop, follow a
// symlink while giving files away, or change anything when not root.
#include "app/privileges.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/assert.h"
#include "core/ip_address.h"

namespace mail::app {
namespace {

// getpwnam_r / getgrnam_r with a buffer that grows on ERANGE.
template <class Entry, class Lookup>
std::optional<Entry> lookup(const std::string& name, Lookup fn, int& err) {
  std::vector<char> buf(4096);
  for (;;) {
    Entry entry{};
    Entry* found = nullptr;
    err = fn(name.c_str(), &entry, buf.data(), buf.size(), &found);
    if (err == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (err != 0 || found == nullptr) return std::nullopt;
    return entry;
  }
}

// lchown when the entry is not the account's; counts what changed.
Status give_entry(const std::string& path, const struct stat& st, const ServiceAccount& account, std::size_t& changed) {
  if (st.st_uid == account.uid && st.st_gid == account.gid) return {};
  if (::lchown(path.c_str(), account.uid, account.gid) != 0) return fail(error_from_errno(errno, "chown " + path));
  ++changed;
  return {};
}

// Checks the entries of `dir`: one that is someone else's is given, with all below it; a
// directory of the account's is entered while `levels` > 0. levels < 0: give everything.
Status walk(const std::string& dir, const ServiceAccount& account, int levels, std::size_t& changed) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return fail(error_from_errno(errno, "open " + dir));
  Status result;
  while (dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = dir + "/" + std::string(name);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;  // gone meanwhile
      result = fail(error_from_errno(errno, "stat " + path));
      break;
    }
    const bool foreign = st.st_uid != account.uid || st.st_gid != account.gid;
    int below = levels - 1;
    if (levels < 0 || foreign) {
      result = give_entry(path, st, account, changed);
      below = -1;
    } else if (levels == 0) {
      continue;
    }
    if (result.ok() && S_ISDIR(st.st_mode)) result = walk(path, account, below, changed);
    if (!result.ok()) break;
  }
  ::closedir(d);
  return result;
}

}  // namespace

Result<std::optional<ServiceAccount>> resolve_service_account(const AppConfig& config) {
  if (config.user.empty()) return std::optional<ServiceAccount>{};
  int err = 0;
  auto pw = lookup<struct passwd>(config.user, ::getpwnam_r, err);
  if (!pw) {
    if (err != 0) return fail(error_from_errno(err, "cannot look up user " + config.user));
    return fail(Errc::not_found, "[server] user: no user '" + config.user +
                                     "' on this system (create it: adduser --system --group " + config.user + ")");
  }
  ServiceAccount account;
  account.user = config.user;
  account.uid = pw->pw_uid;
  account.gid = pw->pw_gid;
  if (!config.group.empty()) {
    auto gr = lookup<struct group>(config.group, ::getgrnam_r, err);
    if (!gr) {
      if (err != 0) return fail(error_from_errno(err, "cannot look up group " + config.group));
      return fail(Errc::not_found, "[server] group: no group '" + config.group + "' on this system");
    }
    account.group = config.group;
    account.gid = gr->gr_gid;
  } else {
    auto gr = ::getgrgid(pw->pw_gid);
    account.group = gr != nullptr ? gr->gr_name : std::to_string(pw->pw_gid);
  }
  return std::optional<ServiceAccount>(std::move(account));
}

std::vector<rt::Endpoint> configured_listeners(const AppConfig& c) {
  std::vector<rt::Endpoint> all;
  for (const auto* list : {&c.smtp.listen, &c.smtp.listen_submission, &c.smtp.listen_submissions}) {
    all.insert(all.end(), list->begin(), list->end());
  }
  if (c.imap.enabled) {
    all.insert(all.end(), c.imap.listen.begin(), c.imap.listen.end());
    all.insert(all.end(), c.imap.tls_listen.begin(), c.imap.tls_listen.end());
  }
  if (c.pop3.enabled) {
    all.insert(all.end(), c.pop3.listen.begin(), c.pop3.listen.end());
    all.insert(all.end(), c.pop3.tls_listen.begin(), c.pop3.tls_listen.end());
  }
  if (c.http.enabled) {
    all.insert(all.end(), c.http.listen.begin(), c.http.listen.end());
    all.insert(all.end(), c.http.tls_listen.begin(), c.http.tls_listen.end());
  }
  return all;
}

bool is_public_endpoint(const rt::Endpoint& endpoint) {
  if (rt::is_unix_endpoint(endpoint)) return false;
  const auto ip = parse_ip(endpoint.address);
  return ip.has_value() && !ip->is_loopback();
}

StartDecision decide_start(uid_t euid, const std::optional<ServiceAccount>& account, const std::string& public_listener,
                           bool allow_root) {
  if (euid != 0) {
    if (account && account->uid != euid) {
      return {StartAction::refuse, "[server] user = \"" + account->user + "\" (uid " + std::to_string(account->uid) +
                                       "), but started as uid " + std::to_string(euid) + ": start as root (it drops to " +
                                       account->user + " after binding its ports) or as " + account->user};
    }
    return {StartAction::run, ""};
  }
  if (account && account->uid != 0) return {StartAction::drop, ""};
  if (public_listener.empty()) {
    return {StartAction::run, "running as root (no [server] user): acceptable on loopback only; set [server] user to "
                              "drop privileges after binding"};
  }
  if (allow_root) {
    return {StartAction::run, "running as root with a public listener (" + public_listener +
                                  ") because [server] allow_root = true: mail from the Internet is parsed as root"};
  }
  return {StartAction::refuse, "refusing to run as root with a public listener (" + public_listener +
                                   "): set [server] user = \"cloudsdial\" (an unprivileged account; the ports are bound "
                                   "before the drop), or [server] allow_root = true"};
}

Result<std::size_t> give_to_account(const std::string& path, const ServiceAccount& account, int check_depth) {
  MAIL_ASSERT(::geteuid() == 0);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return fail(error_from_errno(errno, "stat " + path));
  std::size_t changed = 0;
  const bool foreign = st.st_uid != account.uid || st.st_gid != account.gid;
  if (Status s = give_entry(path, st, account, changed); !s.ok()) return fail(s.error());
  if (S_ISDIR(st.st_mode) && (foreign || check_depth > 0)) {
    if (Status s = walk(path, account, foreign ? -1 : check_depth - 1, changed); !s.ok()) return fail(s.error());
  }
  return changed;
}

Status forbid_new_privileges() {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return fail(error_from_errno(errno, "prctl(PR_SET_NO_NEW_PRIVS)"));
  return {};
}

Status drop_privileges(const ServiceAccount& account) {
  MAIL_ASSERT(account.uid != 0);
  if (::initgroups(account.user.c_str(), account.gid) != 0) {
    return fail(error_from_errno(errno, "initgroups(" + account.user + ")"));
  }
  if (::setresgid(account.gid, account.gid, account.gid) != 0) return fail(error_from_errno(errno, "setresgid"));
  if (::setresuid(account.uid, account.uid, account.uid) != 0) return fail(error_from_errno(errno, "setresuid"));
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  if (::getresuid(&ruid, &euid, &suid) != 0 || ::getresgid(&rgid, &egid, &sgid) != 0) {
    return fail(error_from_errno(errno, "getresuid"));
  }
  if (ruid != account.uid || euid != account.uid || suid != account.uid || rgid != account.gid || egid != account.gid ||
      sgid != account.gid) {
    return fail(Errc::io, "privilege drop did not take: uids " + std::to_string(ruid) + "/" + std::to_string(euid) + "/" +
                              std::to_string(suid));
  }
  // The way back must be closed: a process that can become root again has not dropped.
  if (::setuid(0) == 0 || ::seteuid(0) == 0) return fail(Errc::io, "privilege drop did not take: setuid(0) succeeded");
  return forbid_new_privileges();
}

}  // namespace mail::app
