// libFuzzer target: Maildir file names (store/maildir_name.h). Names in a Maildir can be
// written by other programs (a delivery agent, an rsync, an operator), so the size-hint
// parser and the plain-name check see untrusted bytes; the formatter sees the configured
// host name. Bytes 0-7: the size; 8-15: the random part; byte 16: the counter; then
// "host\nname".
// Checks: maildir_size_hint never crashes and, when it answers, the ",S=" field before any
// ":2," info holds exactly those decimal digits; a formatted name for any host reads back
// its size (asserted inside too), has no '/', ':' or leading '.', and is a plain file name
// unless the host makes it too long or holds a NUL; appending ":2,<flags>" keeps the hint.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "store/maildir_name.h"

using namespace mail;

namespace {

std::uint64_t u64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 17) return 0;
  const std::uint64_t size_bytes = u64(data);
  const std::uint64_t random = u64(data + 8);
  const std::uint64_t counter = data[16];
  std::string_view rest(reinterpret_cast<const char*>(data + 17), size - 17);
  const std::size_t nl = rest.find('\n');
  const std::string_view host = rest.substr(0, nl);
  const std::string_view name = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);

  // Untrusted names from a directory listing.
  (void)store::is_plain_file_name(name);
  if (const auto hint = store::maildir_size_hint(name)) {
    std::string_view base = name.substr(0, name.find(":2,"));
    const std::size_t pos = base.rfind(",S=");
    MAIL_ASSERT(pos != std::string_view::npos);
    std::string_view digits = base.substr(pos + 3);
    digits = digits.substr(0, digits.find(','));
    MAIL_ASSERT(!digits.empty() && digits.size() <= 20);
    std::uint64_t v = 0;
    for (char c : digits) {
      MAIL_ASSERT(c >= '0' && c <= '9');
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    MAIL_ASSERT(v == *hint);
  }

  // Names we write, for any configured host name.
  const std::string safe = store::maildir_safe_host(host);
  const std::int64_t us = static_cast<std::int64_t>(random >> 8) - (std::int64_t{1} << 40);
  const std::string out = store::format_maildir_name(WallTime{us}, random, counter, safe, size_bytes);
  MAIL_ASSERT(store::maildir_size_hint(out) == size_bytes);
  MAIL_ASSERT(out.front() != '.' && out.find_first_of("/:") == std::string::npos);
  if (out.size() <= 255 && out.find('\0') == std::string::npos) MAIL_ASSERT(store::is_plain_file_name(out));
  std::string with_info = out;
  with_info.append(":2,");
  with_info.append(name.substr(0, 8));
  MAIL_ASSERT(store::maildir_size_hint(with_info) == size_bytes);
  return 0;
}
