// UserDb (see header): strict parsing (every field checked, errors name the line), a
// canonical serialization (sorted by name), and the durable replace-by-rename.
#include "store/user_db.h"

#include <algorithm>

#include "core/ascii.h"
#include "core/assert.h"
#include "proto/sasl/base64.h"
#include "runtime/await.h"

namespace mail::store {

namespace {
constexpr std::string_view kMechanism = "SCRAM-SHA-256";
constexpr std::string_view kHeader = "# cloudsdial users: name SCRAM-SHA-256 iterations salt StoredKey ServerKey\n";

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::optional<sasl::Digest> digest(std::string_view b64) {
  auto raw = sasl::base64_decode(b64);
  if (!raw || raw->size() != sasl::Digest{}.size()) return std::nullopt;
  sasl::Digest d{};
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<std::uint8_t>((*raw)[i]);
  return d;
}
}  // namespace

std::string canonical_user_name(std::string_view name) {
  std::string s = ascii_lower(name);
  MAIL_ASSERT(s.size() == name.size());
  return s;
}

Result<UserDb> UserDb::parse(std::string_view text) {
  UserDb db;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto f = fields(line);
    if (f.empty() || f[0].front() == '#') continue;
    auto bad = [&](std::string_view why) {
      return fail(Errc::invalid, "line " + std::to_string(line_no) + ": " + std::string(why));
    };
    if (f.size() != 6) return bad("expected: name SCRAM-SHA-256 iterations salt StoredKey ServerKey");
    if (!sasl::is_acceptable_username(f[0])) return bad("unusable user name");
    if (f[1] != kMechanism) return bad("unknown scheme '" + std::string(f[1]) + "'");
    std::uint32_t iterations = 0;
    for (char c : f[2]) {
      if (c < '0' || c > '9' || iterations > 100'000'000) return bad("bad iteration count");
      iterations = iterations * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (iterations < 4096) return bad("iteration count below 4096 (RFC 7677 section 4)");
    auto salt = sasl::base64_decode(f[3]);
    if (!salt || salt->empty()) return bad("bad salt");
    auto stored = digest(f[4]);
    auto server = digest(f[5]);
    if (!stored || !server) return bad("bad key");
    sasl::ScramCredentials c{std::move(*salt), iterations, *stored, *server};
    if (auto added = db.add(f[0], std::move(c)); !added.ok()) return bad("duplicate user " + std::string(f[0]));
  }
  MAIL_ASSERT(db.size() <= line_no);  // at most one user per line
  return db;
}

std::string UserDb::serialize() const {
  std::string out(kHeader);
  for (const auto& [name, c] : users_) {
    out += name;
    out += ' ';
    out += kMechanism;
    out += ' ' + std::to_string(c.iterations);
    out += ' ' + sasl::base64_encode(c.salt);
    out += ' ' + sasl::base64_encode(sasl::as_view(c.stored_key));
    out += ' ' + sasl::base64_encode(sasl::as_view(c.server_key));
    out += '\n';
  }
  // The header line and one line per user: what parse() reads back.
  MAIL_ASSERT(static_cast<std::size_t>(std::count(out.begin(), out.end(), '\n')) == users_.size() + 1);
  return out;
}

std::optional<sasl::ScramCredentials> UserDb::lookup(std::string_view name) const {
  auto it = users_.find(canonical_user_name(name));
  if (it == users_.end()) return std::nullopt;
  return it->second;
}

Status UserDb::add(std::string_view name, sasl::ScramCredentials creds) {
  if (!sasl::is_acceptable_username(name)) return fail(Errc::invalid, "unusable user name");
  auto [it, inserted] = users_.emplace(canonical_user_name(name), std::move(creds));
  if (!inserted) return fail(Errc::exists, "user " + it->first + " exists");
  MAIL_ASSERT(it->first == canonical_user_name(it->first));  // stored lower-cased
  return {};
}

Status UserDb::replace(std::string_view name, sasl::ScramCredentials creds) {
  auto it = users_.find(canonical_user_name(name));
  if (it == users_.end()) return fail(Errc::not_found, "no user " + std::string(name));
  it->second = std::move(creds);
  return {};
}

Status UserDb::remove(std::string_view name) {
  if (users_.erase(canonical_user_name(name)) == 0) return fail(Errc::not_found, "no user " + std::string(name));
  MAIL_ASSERT(!users_.contains(canonical_user_name(name)));
  return {};
}

std::vector<std::string> UserDb::names() const {
  std::vector<std::string> out;
  out.reserve(users_.size());
  for (const auto& [name, c] : users_) out.push_back(name);
  MAIL_ASSERT(std::is_sorted(out.begin(), out.end()));  // serialize() and `user list` order
  return out;
}

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
  if (!sasl::is_acceptable_username(edit.name)) {
    co_return fail(Errc::invalid, "'" + edit.name + "' is not a usable name (1-255 octets, no / \\ % CR LF NUL)");
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
