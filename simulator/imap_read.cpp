// Reading an ImapClient's responses off a stream (see imap_read.h).
#include "imap_read.h"

#include <span>
#include <string_view>

#include "runtime/await.h"

namespace mail::sim {

rt::Task<ImapRead> read_response(ImapClient& client, const std::unique_ptr<rt::Stream>& stream,
                                 std::vector<std::byte>& buf, const bool& dead, Instant deadline) {
  ImapRead out;
  for (;;) {
    if (auto r = client.poll()) {
      out.response = std::move(r);
      co_return out;
    }
    if (!client.error().empty()) {
      out.protocol_error = client.error();
      co_return out;
    }
    if (dead) co_return out;
    auto n = co_await rt::read_some(*stream, std::span<std::byte>(buf), deadline);
    if (!n) {
      out.read_error = n.code();
      co_return out;
    }
    client.feed(std::string_view(reinterpret_cast<const char*>(buf.data()), *n));
  }
}

}  // namespace mail::sim
