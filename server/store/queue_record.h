// The outbound queue's vocabulary and its on-disk text form (issue 13, "Outbound queue"):
// a queued message (envelope + per-recipient delivery state), the state changes appended
// to it, the pure fold of one change into a message, and the encoders/decoders of the
// .env file (first line the envelope, each further line one record). Every line carries
// its own FNV-1a checksum, so a torn or corrupt line is detected; every field is escaped,
// so no raw CR/LF/TAB/control octet is ever inside a field. Pure: no I/O, no clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/time.h"
#include "proto/smtp/address.h"
#include "proto/smtp/envelope.h"
#include "proto/smtp/params.h"

namespace mail::store {

enum class RecipientState : std::uint8_t { pending, deferred, delivered, bounced };
std::string_view to_string(RecipientState s) noexcept;  // "pending", "deferred", ...

struct QueuedRecipient {
  smtp::Recipient recipient;          // path + RcptParams (NOTIFY, ORCPT)
  RecipientState state = RecipientState::pending;
  std::uint32_t attempts = 0;         // delivery attempts that ended in a deferral or a final result
  WallTime next_attempt{};            // meaningful when deferred
  std::string last_reply;             // one line, e.g. "550 5.1.1 <u@b.test>: user unknown" (may be empty)
  std::string remote_mta;             // host that gave last_reply, may be empty
  bool delay_warned = false;          // a "delayed" DSN was sent for it
  friend bool operator==(const QueuedRecipient&, const QueuedRecipient&) = default;
};

struct QueuedMessage {
  std::string id;                     // is_valid_queue_id(): the file names
  WallTime arrival{};
  smtp::Path sender;                  // may be null (<>): a DSN
  smtp::MailParams mail_params;       // every field is kept (RET, ENVID, BODY, SMTPUTF8, SIZE, AUTH)
  std::string auth_identity, client_address, helo;
  std::uint64_t size_bytes = 0;       // bytes of the content file
  std::vector<QueuedRecipient> recipients;   // non-empty
  bool held = false;                  // `queue hold`: not delivered until released
  bool reported = false;              // the final DSN (if any) was handed on; the message may be removed
  friend bool operator==(const QueuedMessage&, const QueuedMessage&) = default;
};

struct QueueRecord {                  // one appended state change
  enum class Kind : std::uint8_t { delivered, bounced, deferred, delay_warned, held, released, reported };
  Kind kind = Kind::deferred;
  std::uint32_t recipient = 0;        // index into recipients (delivered/bounced/deferred/delay_warned)
  WallTime at{};                      // when it happened
  WallTime next_attempt{};            // deferred
  std::string reply;                  // delivered/bounced/deferred: the reply line
  std::string remote_mta;
  friend bool operator==(const QueueRecord&, const QueueRecord&) = default;
};
std::string_view to_string(QueueRecord::Kind k) noexcept;  // "delivered", "bounced", ...
// The kinds that name a recipient (delivered, bounced, deferred, delay_warned).
bool is_recipient_record(QueueRecord::Kind k) noexcept;

// [0-9A-Za-z-]{1,64}: safe as a file name, never "." or "..".
bool is_valid_queue_id(std::string_view id) noexcept;

// Pure: folds one record into the message. delivered/bounced/deferred count an attempt
// and set the state, last_reply and remote_mta (deferred also next_attempt; a final
// state clears it); delay_warned sets the flag; held/released/reported set their flags.
// A record for a recipient already delivered or bounced is ignored (final is final, so a
// duplicate record after a crash cannot count twice). Asserts the index is in range for
// the recipient kinds.
void apply(QueuedMessage& message, const QueueRecord& record);

// Line format (both kinds): fields separated by TAB, then TAB, then the 16 lower-case hex
// digits of fnv1a64(everything before that TAB), then "\n". Field escaping: '%' and every
// octet below 0x20 or equal to 0x7f become "%HH" (upper-case hex); everything else,
// UTF-8 included, is kept as is. The envelope line starts with "Q1", a record line with "R1".
// encode_envelope_line: the message's id must be valid and recipients non-empty (asserted);
// state fields are NOT included (they come from records). Ends with "\n".
std::string encode_envelope_line(const QueuedMessage& message);
// Ends with "\n".
std::string encode_record_line(const QueueRecord& record);

// One line without its "\n". The envelope's message has every recipient pending.
// std::nullopt for any checksum, syntax or range error (a valid id, >= 1 recipient).
std::optional<QueuedMessage> decode_envelope_line(std::string_view line);
std::optional<QueueRecord> decode_record_line(std::string_view line);

struct DecodedQueueFile {
  QueuedMessage message;
  std::size_t valid_bytes = 0;  // the envelope and every line up to the last good record
  std::size_t records = 0;      // records applied
  bool torn_tail = false;       // bytes after valid_bytes (a partial or corrupt tail)
  std::size_t bad_lines = 0;    // bad lines before the last good record (skipped)
};
// Decodes a whole .env file: envelope + records applied in order. A record line is good
// when its checksum and syntax are right, it ends with "\n", and its recipient index is
// in range. Lines after the last good one are a torn tail; bad lines before it are
// skipped and counted. Errc::invalid when the envelope line itself is bad or lacks "\n".
Result<DecodedQueueFile> decode_queue_file(std::string_view text);

}  // namespace mail::store
