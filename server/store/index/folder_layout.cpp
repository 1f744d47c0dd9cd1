// Folder names <-> Maildir++ directories: see folder_layout.h. The modified UTF-7 codec
// here is small and local to the on-disk names; the IMAP layer has its own for the wire.
#include "store/index/folder_layout.h"

#include <vector>

#include "store/maildir_name.h"
#include "core/utf8.h"


namespace mail::store::index {
namespace {

constexpr std::string_view kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
constexpr std::string_view kDotEncoded = "&AC4-";

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 32);
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 32);
    if (x != y) return false;
  }
  return true;
}



void flush_run(std::string& out, std::vector<std::uint16_t>& run) {
  if (run.empty()) return;
  out += '&';
  std::uint32_t bits = 0;
  int nbits = 0;
  for (std::uint16_t u : run) {
    bits = (bits << 16) | u;
    nbits += 16;
    while (nbits >= 6) {
      nbits -= 6;
      out += kB64[(bits >> nbits) & 0x3f];
    }
    bits &= (1u << nbits) - 1;
  }
  if (nbits > 0) out += kB64[(bits << (6 - nbits)) & 0x3f];
  out += '-';
  run.clear();
}

// Replaces every '.' of a component by its modified UTF-7 form (Maildir++ separator).
std::string escape_dots(std::string_view encoded) {
  std::string out;
  for (char c : encoded) {
    if (c == '.') out += kDotEncoded;
    else out += c;
  }
  return out;
}

}  // namespace

bool is_inbox_name(std::string_view name) noexcept { return iequals(name, "INBOX"); }

std::string normalize_folder_name(std::string_view name) {
  const auto slash = name.find(kFolderDelimiter);
  const std::string_view first = name.substr(0, slash);
  if (!is_inbox_name(first)) return std::string(name);
  std::string out = "INBOX";
  if (slash != std::string_view::npos) out += name.substr(slash);
  return out;
}

Status check_folder_name(std::string_view name) {
  if (name.empty()) return fail(Errc::invalid, "empty folder name");
  if (name.size() > kFolderNameBytesMax) return fail(Errc::invalid, "folder name too long");
  if (name.front() == kFolderDelimiter || name.back() == kFolderDelimiter) {
    return fail(Errc::invalid, "folder name starts or ends with the delimiter");
  }
  if (name.find("//") != std::string_view::npos) return fail(Errc::invalid, "empty folder name component");
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return fail(Errc::invalid, "control character in folder name");
  }
  std::vector<std::uint32_t> cps;
  if (!utf8_code_points(name, cps)) return fail(Errc::invalid, "folder name is not UTF-8");
  // RFC 9051 §5.1 (Net-Unicode, RFC 5198): no C1 controls, no line/paragraph separators.
  for (std::uint32_t cp : cps) {
    if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029) {
      return fail(Errc::invalid, "control character in folder name");
    }
  }
  return Status{};
}

std::optional<std::string> parent_folder_name(std::string_view name) {
  const auto slash = name.rfind(kFolderDelimiter);
  if (slash == std::string_view::npos) return std::nullopt;
  return std::string(name.substr(0, slash));
}

Result<std::string> mutf7_encode(std::string_view utf8) {
  std::vector<std::uint32_t> cps;
  if (!utf8_code_points(utf8, cps)) return fail(Errc::invalid, "not UTF-8");
  std::string out;
  std::vector<std::uint16_t> run;
  for (std::uint32_t cp : cps) {
    if (cp >= 0x20 && cp <= 0x7e) {
      flush_run(out, run);
      if (cp == '&') out += "&-";
      else out += static_cast<char>(cp);
    } else if (cp < 0x10000) {
      run.push_back(static_cast<std::uint16_t>(cp));
    } else {
      const std::uint32_t v = cp - 0x10000;
      run.push_back(static_cast<std::uint16_t>(0xd800 | (v >> 10)));
      run.push_back(static_cast<std::uint16_t>(0xdc00 | (v & 0x3ff)));
    }
  }
  flush_run(out, run);
  return out;
}

Result<std::string> mutf7_decode(std::string_view s) {
  std::string out;
  std::uint32_t high = 0;  // a pending high surrogate (across adjacent runs: lenient)
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c != '&') {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
        return fail(Errc::invalid, "not modified UTF-7");
      }
      if (high != 0) return fail(Errc::invalid, "unpaired surrogate");
      out += c;
      ++i;
      continue;
    }
    const auto end = s.find('-', i + 1);
    if (end == std::string_view::npos) return fail(Errc::invalid, "unterminated modified BASE64");
    if (end == i + 1) {
      out += '&';
      i = end + 1;
      continue;
    }
    std::uint32_t bits = 0;
    int nbits = 0;
    for (std::size_t k = i + 1; k < end; ++k) {
      const auto pos = kB64.find(s[k]);
      if (pos == std::string_view::npos) return fail(Errc::invalid, "bad modified BASE64");
      bits = (bits << 6) | static_cast<std::uint32_t>(pos);
      nbits += 6;
      if (nbits >= 16) {
        nbits -= 16;
        const std::uint32_t u = (bits >> nbits) & 0xffff;
        bits &= (1u << nbits) - 1;
        if (u >= 0xd800 && u <= 0xdbff) {
          if (high != 0) return fail(Errc::invalid, "unpaired surrogate");
          high = u;
        } else if (u >= 0xdc00 && u <= 0xdfff) {
          if (high == 0) return fail(Errc::invalid, "unpaired surrogate");
          append_utf8(out, 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00));
          high = 0;
        } else {
          if (high != 0) return fail(Errc::invalid, "unpaired surrogate");
          append_utf8(out, u);
        }
      }
    }
    if (bits != 0) return fail(Errc::invalid, "nonzero BASE64 padding bits");
    i = end + 1;
  }
  if (high != 0) return fail(Errc::invalid, "unpaired surrogate");
  return out;
}

std::string folder_dir(std::string_view name) {
  MAIL_ASSERT(check_folder_name(name).ok());
  MAIL_ASSERT(normalize_folder_name(name) == name);
  if (name == "INBOX") return {};
  std::string out;
  std::string_view rest = name;
  while (true) {
    const auto slash = rest.find(kFolderDelimiter);
    auto enc = mutf7_encode(rest.substr(0, slash));
    MAIL_ASSERT(enc.ok());  // checked UTF-8 above
    out += '.';
    out += escape_dots(*enc);
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  MAIL_ASSERT(out.find('/') == std::string::npos);
  return out;
}

std::optional<std::string> folder_name_of_dir(std::string_view dir) {
  if (dir.size() < 2 || dir.front() != '.' || dir == "..") return std::nullopt;
  std::string name;
  std::string_view rest = dir.substr(1);
  while (true) {
    const auto dot = rest.find('.');
    const std::string_view comp = rest.substr(0, dot);
    if (comp.empty()) return std::nullopt;
    auto dec = mutf7_decode(comp);
    if (!dec.ok()) return std::nullopt;
    if (!name.empty()) name += kFolderDelimiter;
    name += *dec;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  if (!check_folder_name(name).ok()) return std::nullopt;
  std::string normal = normalize_folder_name(name);
  // Only the directory this store would write for the name (one spelling per folder).
  if (folder_dir(normal) != dir) return std::nullopt;
  return normal;
}

std::string folder_subdir(std::string_view dir, MaildirFolder f) {
  std::string out(dir);
  if (!out.empty()) out += '/';
  out += to_string(f);
  return out;
}

std::string folder_file(std::string_view dir, MaildirFolder f, std::string_view file_name) {
  MAIL_ASSERT(is_plain_file_name(file_name));
  std::string out = folder_subdir(dir, f);
  out += '/';
  out += file_name;
  return out;
}

std::string_view maildir_base_name(std::string_view file_name) noexcept {
  const auto colon = file_name.find(":2,");
  return colon == std::string_view::npos ? file_name : file_name.substr(0, colon);
}

std::uint8_t maildir_info_flags(std::string_view file_name) noexcept {
  const auto colon = file_name.find(":2,");
  if (colon == std::string_view::npos) return 0;
  std::uint8_t flags = 0;
  for (char c : file_name.substr(colon + 3)) {
    switch (c) {
      case 'D': flags |= flag_draft; break;
      case 'F': flags |= flag_flagged; break;
      case 'R': flags |= flag_answered; break;
      case 'S': flags |= flag_seen; break;
      case 'T': flags |= flag_deleted; break;
      default: break;  // P (passed) and lower-case keyword letters: no system flag
    }
  }
  return flags;
}

}  // namespace mail::store::index
