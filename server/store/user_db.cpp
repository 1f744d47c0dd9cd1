// UserDb (see header): strict parsing (every field checked, errors name the line), a
// canonical serialization (sorted by name). Pure: no Env, no coroutines (the fuzz target
// fuzz/users_file compiles this file alone); the file I/O is in user_db_file.cpp.
#include "store/user_db.h"

#include <algorithm>

#include "core/ascii.h"
#include "core/assert.h"
#include "proto/sasl/base64.h"

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

bool storable_user_name(std::string_view name) noexcept {
  if (!sasl::is_acceptable_username(name) || name.front() == '#') return false;
  return name.find_first_of(" \t") == std::string_view::npos;
}

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
    if (!storable_user_name(f[0])) return bad("unusable user name");
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
  if (!storable_user_name(name)) return fail(Errc::invalid, "unusable user name");
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

}  // namespace mail::store
