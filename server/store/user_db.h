// The user database: login names with SCRAM-SHA-256 credentials only (RFC 5802 §3, RFC
// 7677: salt, iterations, StoredKey, ServerKey — never a password), one text file in the
// data directory, replaced atomically and durably (write, sync, rename, sync dir) through
// Env::Disk. `cloudsdial user add|passwd|del|list` edits it; the server reads it and
// answers CredentialStore lookups from the last good copy (LiveUserDb).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "proto/sasl/credentials.h"
#include "proto/sasl/crypto.h"
#include "store/directory.h"
#include "runtime/env.h"
#include "runtime/task.h"

namespace mail::store {

// File format (UTF-8 text, one user per line, '#' comments):
//   <name> SCRAM-SHA-256 <iterations> <salt base64> <StoredKey base64> <ServerKey base64>
class UserDb final : public sasl::CredentialStore {
 public:
  // Errc::invalid naming the line on any malformed line or duplicate name.
  [[nodiscard]] static Result<UserDb> parse(std::string_view text);
  [[nodiscard]] std::string serialize() const;

  // Names are compared ASCII case-insensitively and stored lower-cased; add() takes only
  // storable_user_name() names (Errc::invalid otherwise).
  std::optional<sasl::ScramCredentials> lookup(std::string_view name) const override;
  [[nodiscard]] Status add(std::string_view name, sasl::ScramCredentials creds);  // Errc::exists
  [[nodiscard]] Status replace(std::string_view name, sasl::ScramCredentials creds);  // Errc::not_found
  [[nodiscard]] Status remove(std::string_view name);  // Errc::not_found
  std::vector<std::string> names() const;
  std::size_t size() const noexcept { return users_.size(); }

 private:
  std::map<std::string, sasl::ScramCredentials, std::less<>> users_;
};

std::string canonical_user_name(std::string_view name);

// A name the users file can hold: sasl::is_acceptable_username, and no space or tab (the
// field separators) and no leading '#' (a comment line). Anything else would be written
// out and then fail to load (the whole file) or vanish on the next load.
[[nodiscard]] bool storable_user_name(std::string_view name) noexcept;

// Reads the file; a missing file is an empty database.
rt::Task<Result<UserDb>> load_user_db(rt::Disk& disk, std::string path);
// Replaces the file durably: `path`.tmp written and synced, renamed over `path`, the
// directory synced. A crash leaves the old or the new file, never a mix.
rt::Task<Status> save_user_db(rt::Disk& disk, std::string path, const UserDb& db);

// One change of the users file: what `cloudsdial user add|passwd|del` and the admin API
// (node/http/admin_routes.h) both make, through apply_user_edit().
struct UserEdit {
  enum class Verb : std::uint8_t { add, passwd, del };
  Verb verb = Verb::add;
  std::string name;
  std::string password;             // add, passwd: the new password (non-empty)
  std::uint32_t iterations = 4096;  // RFC 7677 §4: at least 4096
};

// One load-modify-save of the users file at `path` (SCRAM-SHA-256 credentials derived with
// a fresh 16-octet salt from `crypto`). Errc::invalid for an unusable name (see
// sasl::is_acceptable_username) or an empty password, Errc::exists / Errc::not_found from
// UserDb, the disk's error otherwise. Not atomic against a concurrent edit: callers
// serialize (the CLI holds <path>.lock, the server one edit at a time).
rt::Task<Status> apply_user_edit(rt::Disk& disk, sasl::Crypto& crypto, std::string path, UserEdit edit);

// The credentials the server answers from; reload() swaps in a newer copy.
class LiveUserDb final : public sasl::CredentialStore, public LoginNames {
 public:
  bool has_login(std::string_view name) const override { return current_->lookup(name).has_value(); }
  std::vector<std::string> names() const { return current_->names(); }
  std::optional<sasl::ScramCredentials> lookup(std::string_view name) const override {
    return current_->lookup(name);
  }
  bool has_users() const override { return current_->size() > 0; }
  void replace(UserDb db) { current_ = std::make_shared<const UserDb>(std::move(db)); }
  std::size_t size() const noexcept { return current_->size(); }

 private:
  std::shared_ptr<const UserDb> current_ = std::make_shared<const UserDb>();
};

}  // namespace mail::store
