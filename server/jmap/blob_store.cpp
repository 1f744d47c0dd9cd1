// BlobStore (see header). Must not: grow past its budget, or hand one account's blob to another.
#include "jmap/blob_store.h"

namespace mail::jmap {

void BlobStore::expire(std::int64_t now) {
  for (auto account = by_account_.begin(); account != by_account_.end();) {
    auto& blobs = account->second;
    for (auto it = blobs.begin(); it != blobs.end();) {
      it = it->second.expires <= now ? blobs.erase(it) : std::next(it);
    }
    account = blobs.empty() ? by_account_.erase(account) : std::next(account);
  }
}

std::optional<std::string> BlobStore::put(std::string_view account, std::string type, std::string bytes,
                                          std::int64_t now, std::uint64_t unique) {
  expire(now);
  auto& blobs = by_account_[std::string(account)];
  std::uint64_t used = 0;
  for (const auto& [id, blob] : blobs) used += blob.bytes.size();
  if (used + bytes.size() > bytes_max_) return std::nullopt;
  static constexpr char hex[] = "0123456789abcdef";
  std::string id = "U";
  for (int shift = 60; shift >= 0; shift -= 4) id += hex[(unique >> shift) & 0xf];
  blobs[id] = UploadedBlob{std::move(type), std::move(bytes), now + ttl_};
  return id;
}

const UploadedBlob* BlobStore::get(std::string_view account, std::string_view blob_id, std::int64_t now) {
  expire(now);
  const auto a = by_account_.find(account);
  if (a == by_account_.end()) return nullptr;
  const auto b = a->second.find(blob_id);
  return b == a->second.end() ? nullptr : &b->second;
}

}  // namespace mail::jmap
