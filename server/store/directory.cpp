// Directory lookups: domain and local-part canonicalisation and the user/alias table.
// Pure functions over the config; no I/O, no allocation beyond the lookup's strings.
// RFC 5321 §2.4 (local part case-sensitive on the wire; we only *match* case-insensitively
// and never rewrite it), §4.1.2 (quoted-string vs dot-string), RFC 5233 (subaddress).
#include "store/directory.h"
#include "store/mailbox_store.h"

#include <algorithm>

#include "core/ascii.h"
#include "core/assert.h"

namespace mail::store {
namespace {

bool has_ascii_upper(std::string_view s) noexcept {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool is_atext(unsigned char c) noexcept {
  if (c >= 0x80) return true;  // RFC 6531 UTF8-non-ascii; validity is the parser's job
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  constexpr std::string_view specials = "!#$%&'*+-/=?^_`{|}~";
  return specials.find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

std::string canonical_domain(std::string_view domain) {
  if (!domain.empty() && domain.front() == '[') return std::string(domain);
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  std::string out = ascii_lower(domain);
  MAIL_ASSERT(!has_ascii_upper(out));
  return out;
}

bool is_dot_string(std::string_view s) noexcept {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char prev = '\0';
  for (char c : s) {
    if (c == '.') {
      if (prev == '.') return false;  // empty atom
    } else if (!is_atext(static_cast<unsigned char>(c))) {
      return false;
    }
    prev = c;
  }
  return true;
}

std::optional<std::string> unquoted_local_part(std::string_view local_part) {
  if (local_part.size() >= 2 && local_part.front() == '"' && local_part.back() == '"') {
    std::string content;
    content.reserve(local_part.size() - 2);
    const std::string_view inner = local_part.substr(1, local_part.size() - 2);
    for (std::size_t i = 0; i < inner.size(); ++i) {
      if (inner[i] == '\\') {
        // quoted-pairSMTP = %d92 %d32-126; a trailing lone backslash is malformed.
        if (i + 1 >= inner.size()) return std::nullopt;
        ++i;
      }
      content.push_back(inner[i]);
    }
    if (!is_dot_string(content)) return std::nullopt;
    MAIL_ASSERT(content.size() + 2 <= local_part.size());  // unquoting only shortens
    return content;
  }
  if (!is_dot_string(local_part)) return std::nullopt;
  return std::string(local_part);
}

Directory::Directory(DirectoryConfig config) : config_(std::move(config)) {
  for (const auto& d : config_.domains) {
    std::string c = canonical_domain(d);
    if (std::find(domains_.begin(), domains_.end(), c) == domains_.end()) domains_.push_back(std::move(c));
  }
  // Names first, so a user name always beats another user's alias of the same spelling.
  for (const auto& u : config_.users) by_local_part_.emplace(ascii_lower(u.name), u.name);
  for (const auto& u : config_.users) {
    for (const auto& a : u.aliases) by_local_part_.emplace(ascii_lower(a), u.name);
  }
  // Every configured name is found (possibly as an earlier user of the same spelling), and
  // the table holds nothing but names and aliases.
  MAIL_ASSERT(domains_.size() <= config_.domains.size());
  for (const auto& u : config_.users) MAIL_ASSERT(by_local_part_.contains(ascii_lower(u.name)));
}

bool Directory::is_local_domain(std::string_view domain) const {
  if (domain.empty() || domain.front() == '[') return false;  // address literals are never local
  const std::string c = canonical_domain(domain);
  return std::find(domains_.begin(), domains_.end(), c) != domains_.end();
}

std::optional<std::string> Directory::find_user(std::string_view local_part) const {
  auto it = by_local_part_.find(ascii_lower(local_part));
  if (it != by_local_part_.end()) return it->second;
  if (logins_ != nullptr && logins_->has_login(local_part) && is_valid_mailbox_user(ascii_lower(local_part))) {
    return ascii_lower(local_part);
  }
  return std::nullopt;
}

std::string Directory::mailbox_of_login(std::string_view login) const {
  auto it = by_local_part_.find(ascii_lower(login));
  if (it != by_local_part_.end()) return it->second;
  return ascii_lower(login);
}

LookupResult Directory::lookup(std::string_view local_part, std::string_view domain) const {
  LookupResult r = lookup_unchecked(local_part, domain);
  // The user is named exactly when the recipient is local.
  MAIL_ASSERT(r.kind == Lookup::local_user || r.user.empty());
  MAIL_ASSERT(r.kind != Lookup::local_user || by_local_part_.contains(ascii_lower(r.user)) ||
              (logins_ != nullptr && logins_->has_login(r.user)));
  return r;
}

LookupResult Directory::lookup_unchecked(std::string_view local_part, std::string_view domain) const {
  if (!is_local_domain(domain)) return {Lookup::not_local, {}};
  const auto local = unquoted_local_part(local_part);
  if (!local) return {Lookup::unknown_user, {}};
  if (auto user = find_user(*local)) return {Lookup::local_user, std::move(*user)};
  // RFC 5233: "user+detail" -> user, only when the full form is not itself a user or
  // alias (checked above). Split at the first separator, as Postfix's recipient_delimiter.
  const char sep = config_.subaddress_separator;
  if (sep != '\0') {
    const auto pos = local->find(sep);
    if (pos != std::string::npos && pos > 0) {
      if (auto user = find_user(std::string_view(*local).substr(0, pos))) return {Lookup::local_user, std::move(*user)};
    }
  }
  return {Lookup::unknown_user, {}};
}

}  // namespace mail::store
