// The user-name rule of user_name.h. Pure; no I/O.
#include "store/user_name.h"

#include "core/ascii.h"

namespace mail::store {
namespace {

bool valid_local_name(std::string_view n, bool allow_utf8) noexcept {
  if (n.empty() || n.size() > kUserNameBytesMax || n.front() == '.' || n.front() == '-') return false;
  for (const char ch : n) {
    const auto c = static_cast<unsigned char>(ch);
    const bool ok = is_alpha(c) || is_digit(c) || c == '.' || c == '_' || c == '-' || (allow_utf8 && c >= 0x80);
    if (!ok) return false;
  }
  return n.find("..") == std::string_view::npos;
}

}  // namespace

bool is_valid_user_name(std::string_view name) noexcept { return valid_local_name(name, false); }

bool is_valid_alias(std::string_view alias) noexcept { return valid_local_name(alias, true); }

}  // namespace mail::store
