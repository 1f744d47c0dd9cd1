// libFuzzer target: the outbound queue's .env file decoder (store/queue_record.h). Input is
// a whole .env file. Checks: decoding never crashes; every line that decodes re-encodes to
// the same bytes (the codec is canonical); the good prefix (valid_bytes) decodes again to
// the same message with no torn tail; the envelope re-encoded from the message decodes to
// the same message with every recipient pending (state comes only from records).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "store/queue_record.h"

using namespace mail;
using namespace mail::store;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::size_t cursor = 0;
  for (std::size_t nl = text.find('\n'); nl != std::string_view::npos; nl = text.find('\n', cursor)) {
    const std::string_view line = text.substr(cursor, nl - cursor);
    if (const auto m = decode_envelope_line(line)) MAIL_ASSERT(encode_envelope_line(*m) == std::string(line) + "\n");
    if (const auto r = decode_record_line(line)) MAIL_ASSERT(encode_record_line(*r) == std::string(line) + "\n");
    cursor = nl + 1;
  }
  const auto d = decode_queue_file(text);
  if (!d.ok()) return 0;
  MAIL_ASSERT(d->valid_bytes <= text.size());
  MAIL_ASSERT(d->torn_tail == (d->valid_bytes < text.size()));
  const auto again = decode_queue_file(text.substr(0, d->valid_bytes));
  MAIL_ASSERT(again.ok());
  MAIL_ASSERT(!again->torn_tail);
  MAIL_ASSERT(again->records == d->records);
  MAIL_ASSERT(again->message == d->message);
  const std::string envelope = encode_envelope_line(d->message);
  const auto fresh = decode_envelope_line(std::string_view(envelope).substr(0, envelope.size() - 1));
  MAIL_ASSERT(fresh.has_value());
  MAIL_ASSERT(fresh->id == d->message.id);
  MAIL_ASSERT(fresh->recipients.size() == d->message.recipients.size());
  for (std::size_t i = 0; i < fresh->recipients.size(); ++i) {
    MAIL_ASSERT(fresh->recipients[i].state == RecipientState::pending);
    MAIL_ASSERT(fresh->recipients[i].recipient == d->message.recipients[i].recipient);
  }
  return 0;
}
