// Threads (see header). Must not: put two conversations with different roots in one thread
// id except by a 64-bit hash collision, or give one message two thread ids.
#include "jmap/threads.h"

#include "jmap/ids.h"
#include "proto/message/header.h"

namespace mail::jmap {
namespace {

// The msg-ids "<a@b>" of a field body, in order, without their brackets.
std::vector<std::string> msg_ids(std::string_view value) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while ((at = value.find('<', at)) != std::string_view::npos) {
    const auto end = value.find('>', at + 1);
    if (end == std::string_view::npos) break;
    std::string id(value.substr(at + 1, end - at - 1));
    std::erase_if(id, [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
    if (!id.empty()) out.push_back(std::move(id));
    at = end + 1;
  }
  return out;
}

}  // namespace

std::string thread_root(std::string_view header_block) {
  const auto fields = message::parse_header_fields(header_block);
  for (std::string_view name : {"References", "In-Reply-To", "Message-ID"}) {
    if (auto v = message::field_value(fields.fields, name)) {
      auto ids = msg_ids(*v);
      if (!ids.empty()) return ids.front();
    }
  }
  return {};
}

std::string thread_id_of(std::string_view root, std::string_view content_id) {
  if (root.empty()) return prefixed('T', base64url(content_id));
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  for (char c : root) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string id = "Th";
  for (int shift = 60; shift >= 0; shift -= 4) id += hex[(h >> shift) & 0xf];
  return id;
}

}  // namespace mail::jmap
