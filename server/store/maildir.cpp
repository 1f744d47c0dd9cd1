// MaildirStore: mailbox creation, the delivery path (unique name -> tmp/ write -> group
// commit) and the read side. All file access through Env::Disk, time and randomness from
// Env (clock().wall_now(), rng().fork("maildir"), hostname()); nothing else.
// Maildir: https://cr.yp.to/proto/maildir.html; ",S=" size hint as in Dovecot.
#include "store/maildir.h"

#include <algorithm>
#include <memory>
#include <set>
#include <utility>

#include "runtime/await.h"
#include "store/group_commit.h"
#include "store/maildir_name.h"
#include "store/when_all.h"

namespace mail::store {
namespace {

std::string mail_root_of(std::string data_dir) {
  if (data_dir.empty()) data_dir = ".";
  while (data_dir.size() > 1 && data_dir.back() == '/') data_dir.pop_back();
  if (data_dir == "/") return "/mail";
  return data_dir + "/mail";
}

// Tries to create the tmp file this many times when the name is taken (a leftover from a
// previous run whose clock and random draws repeated, e.g. a replayed simulation).
constexpr int name_attempts_max = 4;

}  // namespace

std::vector<std::string> ancestor_dirs(std::string_view path) {
  std::string p(path);
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  std::vector<std::string> out;
  while (!p.empty() && p != "/" && p != ".") {
    const auto slash = p.rfind('/');
    if (slash == std::string::npos) {
      p = ".";
    } else if (slash == 0) {
      p = "/";
    } else {
      p.resize(slash);
      while (p.size() > 1 && p.back() == '/') p.pop_back();
    }
    out.push_back(p);
  }
  return out;
}

bool is_valid_mailbox_user(std::string_view user) noexcept {
  if (user.empty() || user.size() > 255) return false;
  if (user.front() == '.') return false;
  return user.find('/') == std::string_view::npos && user.find('\0') == std::string_view::npos;
}

struct MaildirStore::Impl {
  Impl(rt::Env& e, MaildirConfig c)
      : env(e),
        data_dir(c.data_dir.empty() ? std::string(".") : c.data_dir),
        mail_root(mail_root_of(std::move(c.data_dir))),
        namer(e.rng().fork("maildir"), e.hostname()),
        committer(e) {}

  rt::Env& env;
  std::string data_dir;
  std::string mail_root;  // <data_dir>/mail
  MaildirNamer namer;
  GroupCommitter committer;
  std::set<std::string> known;  // users whose Maildir is known to exist durably
  MaildirStats stats;
};

MaildirStore::MaildirStore(rt::Env& env, MaildirConfig config) : impl_(std::make_unique<Impl>(env, std::move(config))) {}
MaildirStore::~MaildirStore() = default;

std::string MaildirStore::maildir_path(std::string_view user) const {
  std::string p = impl_->mail_root;
  p += '/';
  p += user;
  p += "/Maildir";
  return p;
}

MaildirStats MaildirStore::stats() const noexcept {
  MaildirStats s = impl_->stats;
  const GroupCommitStats& g = impl_->committer.stats();
  s.commit_rounds = g.rounds;
  s.largest_round = g.largest_round;
  s.link_copies = g.copies;
  return s;
}

rt::Task<Status> MaildirStore::ensure_mailbox(std::string user) {
  if (!is_valid_mailbox_user(user)) co_return fail(Errc::invalid, "invalid mailbox user name");
  if (impl_->known.contains(user)) co_return Status{};
  rt::Disk& disk = impl_->env.disk();
  const std::string md = maildir_path(user);
  {
    std::vector<StartOp> ops;
    for (const char* sub : {"/tmp", "/new", "/cur"}) {
      ops.push_back([&disk, path = md + sub](rt::Completion<void> c) mutable { disk.async_make_dirs(std::move(path), std::move(c)); });
    }
    for (Status& s : co_await when_all(std::move(ops))) {
      if (!s.ok()) co_return s;
    }
  }
  // mkdir -p made entries in every level, possibly above <data_dir> too (a fresh
  // /var/lib/cloudsdial); each level's entry is durable only after its parent directory is
  // synced, so sync every ancestor as well (the simulator's fresh-data-dir scenario lost
  // acknowledged mail without this). Once per new mailbox, never on the hot path.
  {
    std::vector<StartOp> ops;
    std::vector<std::string> dirs = ancestor_dirs(impl_->data_dir);
    for (std::string d : {impl_->data_dir, impl_->mail_root, impl_->mail_root + "/" + user, md}) dirs.push_back(std::move(d));
    for (std::string dir : dirs) {
      ops.push_back([&disk, dir = std::move(dir)](rt::Completion<void> c) mutable { disk.async_sync_dir(std::move(dir), std::move(c)); });
    }
    for (Status& s : co_await when_all(std::move(ops))) {
      if (!s.ok()) co_return s;
    }
  }
  impl_->known.insert(std::move(user));
  ++impl_->stats.mailboxes_created;
  co_return Status{};
}

rt::Task<Result<std::string>> MaildirStore::deliver(std::vector<std::string> users, std::string content) {
  std::vector<std::string> parts;
  parts.push_back(std::move(content));
  co_return co_await deliver_parts(std::move(users), std::move(parts));
}

rt::Task<Result<std::string>> MaildirStore::deliver_parts(std::vector<std::string> users, std::vector<std::string> parts) {
  // Distinct users in first-seen order: the first one gets the tmp file.
  std::vector<std::string> distinct;
  for (auto& u : users) {
    if (std::find(distinct.begin(), distinct.end(), u) == distinct.end()) distinct.push_back(std::move(u));
  }
  if (distinct.empty()) co_return fail(Errc::invalid, "no recipients");
  for (const auto& u : distinct) {
    Status s = co_await ensure_mailbox(u);
    if (!s.ok()) co_return fail(s.error());
  }

  rt::Disk& disk = impl_->env.disk();
  std::uint64_t size_bytes = 0;
  for (const auto& p : parts) size_bytes += p.size();
  // Shared, not copied: a retry under another name still needs the bytes.
  auto shared = std::make_shared<const std::vector<std::string>>(std::move(parts));
  const std::string first_md = maildir_path(distinct.front());
  std::string name;
  std::string tmp_path;
  bool written = false;
  bool recreated = false;
  for (int attempt = 0; attempt < name_attempts_max && !written; ++attempt) {
    name = impl_->namer.next(impl_->env.clock().wall_now(), size_bytes);
    tmp_path = first_md + "/tmp/" + name;
    Status s = co_await rt::write_parts(disk, tmp_path, shared, rt::WriteMode::create_new);
    if (s.ok()) {
      written = true;
      shared.reset();  // the file has them now; do not hold them through the commit
    } else if (s.code() == Errc::exists) {
      continue;  // somebody else's file: draw another name
    } else if (s.code() == Errc::not_found && !recreated) {
      // The cached Maildir vanished (an administrator removed it): recreate once.
      recreated = true;
      impl_->known.erase(distinct.front());
      Status e = co_await ensure_mailbox(distinct.front());
      if (!e.ok()) co_return fail(e.error());
    } else {
      (void)co_await rt::remove(disk, tmp_path);  // a partial file (ENOSPC mid-write)
      co_return fail(s.error());
    }
  }
  if (!written) co_return fail(Errc::exists, "no unique maildir name after retries");

  CommitItem item;
  item.tmp_path = std::move(tmp_path);
  for (std::size_t k = 0; k < distinct.size(); ++k) {
    const std::string md = k == 0 ? first_md : maildir_path(distinct[k]);
    item.new_paths.push_back(md + "/new/" + name);
    item.copy_paths.push_back(k == 0 ? std::string() : md + "/tmp/" + name);
  }
  ++impl_->stats.deliveries;
  Status s = co_await impl_->committer.commit(std::move(item));
  if (!s.ok()) {
    // A missing directory means the cache lies; forget it so the next delivery recreates.
    if (s.code() == Errc::not_found) {
      for (const auto& u : distinct) impl_->known.erase(u);
    }
    co_return fail(s.error());
  }
  co_return name;
}

rt::Task<Result<std::vector<MaildirEntry>>> MaildirStore::list_messages(std::string user) {
  if (!is_valid_mailbox_user(user)) co_return fail(Errc::invalid, "invalid mailbox user name");
  rt::Disk& disk = impl_->env.disk();
  const std::string md = maildir_path(user);
  std::vector<MaildirEntry> out;
  for (const char* sub : {"new", "cur"}) {
    auto listed = co_await rt::list_dir(disk, md + "/" + sub);
    if (!listed.ok()) co_return fail(listed.error());
    std::vector<std::string> names;
    for (auto& e : *listed) {
      if (e.is_dir || e.name.empty() || e.name.front() == '.') continue;
      names.push_back(std::move(e.name));
    }
    std::sort(names.begin(), names.end());
    for (auto& n : names) out.push_back(MaildirEntry{sub, std::move(n)});
  }
  co_return out;
}

rt::Task<Result<std::string>> MaildirStore::read_message(std::string user, MaildirEntry entry) {
  if (!is_valid_mailbox_user(user)) co_return fail(Errc::invalid, "invalid mailbox user name");
  if (entry.subdir != "new" && entry.subdir != "cur") co_return fail(Errc::invalid, "not a message folder");
  if (entry.name.empty() || entry.name.front() == '.' || entry.name.find('/') != std::string::npos) {
    co_return fail(Errc::invalid, "invalid message file name");
  }
  co_return co_await rt::read_file(impl_->env.disk(), maildir_path(user) + "/" + entry.relative_path());
}

}  // namespace mail::store
