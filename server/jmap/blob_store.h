// BlobStore: blobs uploaded for an account (RFC 8620 §6.1), kept in memory until they are
// used or expire. RFC 8620 §6.1 lets a server drop an unreferenced upload after a time
// (we keep one for `ttl`, at least the RFC's one hour); a restart forgets them (they were
// never acknowledged as stored mail: Email/import writes them into the durable store).
// Bounded: at most `bytes_max` per account (an upload past it is refused with overQuota).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace mail::jmap {

struct UploadedBlob {
  std::string type;
  std::string bytes;
  std::int64_t expires = 0;  // Unix seconds
};

class BlobStore {
 public:
  explicit BlobStore(std::uint64_t bytes_max_per_account = 256 * 1024 * 1024, std::int64_t ttl_seconds = 24 * 3600)
      : bytes_max_(bytes_max_per_account), ttl_(ttl_seconds) {}

  // The new blob's id ("U" + hex), or nullopt when the account's budget is used up.
  std::optional<std::string> put(std::string_view account, std::string type, std::string bytes, std::int64_t now,
                                 std::uint64_t unique);
  const UploadedBlob* get(std::string_view account, std::string_view blob_id, std::int64_t now);

 private:
  void expire(std::int64_t now);
  std::uint64_t bytes_max_;
  std::int64_t ttl_;
  std::map<std::string, std::map<std::string, UploadedBlob, std::less<>>, std::less<>> by_account_;
};

}  // namespace mail::jmap
