// The users file on disk (see user_db.h): load, the durable replace-by-rename, and one
// load-modify-save edit, all through Env::Disk. Parsing and serialization stay in
// user_db.cpp (pure); this file holds only the coroutines.
#include <string>
#include <utility>
#include <vector>

#include "core/assert.h"
#include "runtime/await.h"
#include "store/user_db.h"

namespace mail::store {

rt::Task<Result<UserDb>> load_user_db(rt::Disk& disk, std::string path) {
  MAIL_ASSERT(!path.empty());
  auto text = co_await rt::read_file(disk, path);
  if (!text.ok()) {
    if (text.code() == Errc::not_found) co_return UserDb{};
    co_return fail(text.error().code, path + ": " + text.error().detail);
  }
  auto db = UserDb::parse(*text);
  if (!db.ok()) co_return fail(Errc::invalid, path + ": " + db.error().detail);
  co_return std::move(db).value();
}

rt::Task<Status> save_user_db(rt::Disk& disk, std::string path, const UserDb& db) {
  const std::string tmp = path + ".tmp";
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? std::string(".") : path.substr(0, slash == 0 ? 1 : slash);
  // users_path() is never empty; the replacement is written beside it.
  MAIL_ASSERT(!path.empty());
  MAIL_ASSERT(!dir.empty());
  auto written = co_await rt::write_file(disk, tmp, db.serialize(), rt::WriteMode::truncate);
  if (!written.ok()) co_return written;
  std::vector<std::string> files{tmp};
  auto synced = co_await rt::sync_files(disk, std::move(files));
  if (!synced.ok()) co_return synced;
  auto renamed = co_await rt::rename(disk, tmp, path);
  if (!renamed.ok()) co_return renamed;
  co_return co_await rt::sync_dir(disk, dir);
}

rt::Task<Status> apply_user_edit(rt::Disk& disk, sasl::Crypto& crypto, std::string path, UserEdit edit) {
  if (!storable_user_name(edit.name)) {
    co_return fail(Errc::invalid,
                   "'" + edit.name + "' is not a usable name (1-255 octets, no / \\ % space tab CR LF NUL, no leading #)");
  }
  if (edit.verb != UserEdit::Verb::del && edit.password.empty()) co_return fail(Errc::invalid, "no password given");
  auto loaded = co_await load_user_db(disk, path);
  if (!loaded.ok()) co_return fail(loaded.error().code, loaded.error().detail);
  UserDb db = std::move(loaded).value();
  Status changed;
  if (edit.verb == UserEdit::Verb::del) {
    changed = db.remove(edit.name);
  } else {
    std::string salt(16, '\0');
    crypto.random_bytes({reinterpret_cast<std::uint8_t*>(salt.data()), salt.size()});
    auto creds = sasl::derive_scram_credentials(crypto, edit.password, salt, edit.iterations);
    changed = edit.verb == UserEdit::Verb::add ? db.add(edit.name, std::move(creds))
                                               : db.replace(edit.name, std::move(creds));
  }
  if (!changed.ok()) co_return changed;
  Status saved = co_await save_user_db(disk, path, db);
  if (!saved.ok()) co_return fail(saved.error().code, "cannot write " + path + ": " + saved.error().detail);
  co_return Status{};
}

}  // namespace mail::store
