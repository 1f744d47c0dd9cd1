// Local domains and users: who we accept mail for and where it goes. Recipient
// canonicalisation: domain case-insensitive, local part case preserved but matched
// case-insensitively for ASCII, RFC 5233 "+detail" subaddress delivers to the base user.
// Pure data + lookups; no I/O (the config loader fills it).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mail::store {

struct UserConfig {
  std::string name;                  // local part, e.g. "demo"
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
  std::string user;  // canonical user name when local_user
};

class Directory {
 public:
  explicit Directory(DirectoryConfig config);
  // `local_part` as on the wire (may be a quoted-string), `domain` any case, or an
  // address literal (never local).
  LookupResult lookup(std::string_view local_part, std::string_view domain) const;
  bool is_local_domain(std::string_view domain) const;
  const DirectoryConfig& config() const noexcept { return config_; }

 private:
  DirectoryConfig config_;
  std::map<std::string, std::string> by_local_part_;  // lower-cased local part -> user
};

}  // namespace mail::store
