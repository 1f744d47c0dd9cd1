// Local domains and users: who we accept mail for and where it goes. Recipient
// canonicalisation: domain case-insensitive (ASCII, trailing dot ignored), local part never
// rewritten but matched case-insensitively for ASCII, a quoted local part equals its
// content when that is a dot-string (RFC 5321 §4.1.2), RFC 5233 "+detail" subaddress
// delivers to the base user. Address literals are never local.
// Pure data + lookups; no I/O (the config loader fills it).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mail::store {

struct UserConfig {
  std::string name;                  // local part, e.g. "demo"; also the Maildir folder name
  std::vector<std::string> aliases;  // extra local parts delivering to this user
};

struct DirectoryConfig {
  std::vector<std::string> domains;  // local domains, e.g. {"example.test"}
  std::vector<UserConfig> users;     // users exist in every local domain
  char subaddress_separator = '+';   // RFC 5233; '\0' disables
};

enum class Lookup : std::uint8_t {
  local_user,     // deliver to `user`
  unknown_user,   // local domain, no such user -> 550 5.1.1
  not_local,      // not one of our domains -> relay decision (554 5.7.1 until relay exists)
};

struct LookupResult {
  Lookup kind = Lookup::not_local;
  std::string user;  // canonical user name (UserConfig::name) when local_user
};

// The login names (`cloudsdial user add`), consulted by the directory so that every login
// is also a local user with a mailbox of the same (lower-cased) name: one user model.
class LoginNames {
 public:
  virtual ~LoginNames() = default;
  virtual bool has_login(std::string_view name) const = 0;  // ASCII case-insensitive
};

class Directory {
 public:
  // User names win over aliases when both spell the same local part; among equals the
  // first in config order wins.
  explicit Directory(DirectoryConfig config);
  // `local_part` as on the wire (may be a quoted-string), `domain` any case, or an
  // address literal (never local).
  LookupResult lookup(std::string_view local_part, std::string_view domain) const;
  bool is_local_domain(std::string_view domain) const;
  // Logins count as users (after the configured users and aliases). Null: none. The
  // LoginNames must outlive the directory.
  void set_logins(const LoginNames* logins) noexcept { logins_ = logins; }
  // The mailbox of a login: the configured user it names (any case), else the login
  // lower-cased (how the users file stores it).
  std::string mailbox_of_login(std::string_view login) const;
  const DirectoryConfig& config() const noexcept { return config_; }

 private:
  std::optional<std::string> find_user(std::string_view local_part) const;
  LookupResult lookup_unchecked(std::string_view local_part, std::string_view domain) const;  // lookup() minus its checks

  DirectoryConfig config_;
  std::vector<std::string> domains_;                  // canonical_domain() of each config domain
  std::map<std::string, std::string> by_local_part_;  // lower-cased local part -> user
  const LoginNames* logins_ = nullptr;
};

// Domain as compared: ASCII lower-cased, one trailing dot removed. Address literals
// ("[...]") are returned unchanged.
std::string canonical_domain(std::string_view domain);

// RFC 5321 §4.1.2 Dot-string (atext per RFC 5322 §3.2.3, plus octets >= 0x80 for RFC 6531).
bool is_dot_string(std::string_view s) noexcept;

// The local part as matched: a quoted-string is unquoted (quoted-pairs resolved); returns
// nullopt when the result is not a dot-string (such a quoted local part never names a user).
// A dot-string is returned unchanged. Case is preserved.
std::optional<std::string> unquoted_local_part(std::string_view local_part);

}  // namespace mail::store
