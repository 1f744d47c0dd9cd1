// The outbound queue's pure parts (queue_record.h): the .env line codec with hostile
// addresses and reply texts, torn tails at every byte offset, corrupt lines, the apply()
// state machine, and RapidCheck properties (round trip; every prefix of a log decodes to a
// prefix of its records). No Env, no files.
#include "store/queue_record.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/hash.h"

namespace mail::store {
namespace {

smtp::Path path(std::string local, std::string domain) { return smtp::Path{smtp::Mailbox{std::move(local), std::move(domain)}}; }

QueuedMessage sample_message() {
  QueuedMessage m;
  m.id = "20261207-0001-abc";
  m.arrival = WallTime{1'765'000'000'123'456};
  m.sender = path("alice", "a.test");
  m.mail_params.body = smtp::BodyType::eight_bit_mime;
  m.mail_params.ret = smtp::DsnRet::headers;
  m.mail_params.envid = "QQ314159";
  m.auth_identity = "alice";
  m.client_address = "127.0.0.1";
  m.helo = "client.a.test";
  m.size_bytes = 1234;
  QueuedRecipient r1;
  r1.recipient.path = path("bob", "b.test");
  r1.recipient.params.notify.failure = true;
  r1.recipient.params.notify.delay = true;
  r1.recipient.params.orcpt_type = "rfc822";
  r1.recipient.params.orcpt = "bob@b.test";
  QueuedRecipient r2;
  r2.recipient.path = path("carol", "c.test");
  m.recipients = {r1, r2};
  return m;
}

QueueRecord record(QueueRecord::Kind k, std::uint32_t rcpt, std::string reply = {}, std::int64_t next_us = 0) {
  QueueRecord r;
  r.kind = k;
  r.recipient = rcpt;
  r.at = WallTime{1'765'000'100'000'000};
  r.next_attempt = WallTime{next_us};
  r.reply = std::move(reply);
  r.remote_mta = r.reply.empty() ? "" : "mx.b.test";
  return r;
}

TEST(QueueId, ValidIdsAreSafeFileNames) {
  EXPECT_TRUE(is_valid_queue_id("a"));
  EXPECT_TRUE(is_valid_queue_id("20261207-ABCdef-09"));
  EXPECT_TRUE(is_valid_queue_id(std::string(64, 'x')));
  EXPECT_FALSE(is_valid_queue_id(""));
  EXPECT_FALSE(is_valid_queue_id(std::string(65, 'x')));
  EXPECT_FALSE(is_valid_queue_id("."));
  EXPECT_FALSE(is_valid_queue_id(".."));
  EXPECT_FALSE(is_valid_queue_id("a/b"));
  EXPECT_FALSE(is_valid_queue_id("a_b"));
  EXPECT_FALSE(is_valid_queue_id("a.env"));
}

TEST(QueueRecordCodec, EnvelopeRoundTripsWithStateReset) {
  QueuedMessage m = sample_message();
  const std::string line = encode_envelope_line(m);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  const auto back = decode_envelope_line(std::string_view(line).substr(0, line.size() - 1));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, m);
  // State fields are not part of the envelope: a decoded envelope is all pending.
  m.recipients[0].state = RecipientState::deferred;
  m.recipients[0].attempts = 3;
  m.held = true;
  EXPECT_EQ(encode_envelope_line(m), line);
}

TEST(QueueRecordCodec, HostileFieldsRoundTripAndNeverPutRawControlsInALine) {
  QueuedMessage m = sample_message();
  m.sender = smtp::Path{};  // <>: a DSN
  m.recipients[0].recipient.path = path("\"john\tq. \\\"public\\\" %41\r\n\"", "b.test");
  m.recipients[1].recipient.path = path("用户", "例子.测试");
  m.helo = std::string("a\0b\x7f%", 5);
  m.mail_params.auth = "<>";
  m.mail_params.size = 0;
  m.mail_params.envid = "";  // present but empty differs from absent
  m.mail_params.smtputf8 = true;
  m.mail_params.body = smtp::BodyType::binary_mime;
  m.arrival = WallTime{-1};
  const std::string line = encode_envelope_line(m);
  for (std::size_t i = 0; i + 1 < line.size(); ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    EXPECT_TRUE(c >= 0x20 || c == '\t') << "raw control at " << i;
    EXPECT_NE(c, 0x7f);
  }
  const auto back = decode_envelope_line(std::string_view(line).substr(0, line.size() - 1));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, m);
  EXPECT_TRUE(back->sender.is_null());
  ASSERT_TRUE(back->mail_params.envid.has_value());
  EXPECT_EQ(*back->mail_params.envid, "");

  QueueRecord r = record(QueueRecord::Kind::bounced, 1, std::string(100'000, 'x') + "\r\n\t%00 ünïcødé");
  r.at = WallTime{INT64_MIN};
  r.next_attempt = WallTime{INT64_MAX};
  r.recipient = UINT32_MAX;
  const std::string rl = encode_record_line(r);
  EXPECT_EQ(rl.find('\n'), rl.size() - 1);
  const auto rb = decode_record_line(std::string_view(rl).substr(0, rl.size() - 1));
  ASSERT_TRUE(rb.has_value());
  EXPECT_EQ(*rb, r);
}

TEST(QueueRecordCodec, ChecksumCatchesAnyFlippedByte) {
  const std::string line = encode_record_line(record(QueueRecord::Kind::deferred, 0, "451 4.7.1 greylisted", 42));
  const std::string_view body = std::string_view(line).substr(0, line.size() - 1);
  ASSERT_TRUE(decode_record_line(body).has_value());
  for (std::size_t i = 0; i < body.size(); ++i) {
    std::string bad(body);
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(decode_record_line(bad).has_value()) << "flipped byte " << i;
  }
}

TEST(QueueRecordCodec, NonCanonicalEscapesAndNumbersAreRejected) {
  // Build lines by hand with a correct checksum, so only the syntax is wrong.
  auto sealed = [](std::string payload) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(payload)));
    return payload + "\t" + hex;
  };
  EXPECT_TRUE(decode_record_line(sealed("R1\tdeferred\t0\t1\t2\t451 x\tmx")).has_value());
  EXPECT_FALSE(decode_record_line(sealed("R1\tdeferred\t00\t1\t2\t451 x\tmx")).has_value());   // leading zero
  EXPECT_FALSE(decode_record_line(sealed("R1\tdeferred\t0\t-0\t2\t451 x\tmx")).has_value());   // -0
  EXPECT_FALSE(decode_record_line(sealed("R1\tdeferred\t0\t1\t2\t%41\tmx")).has_value());      // escaped 'A'
  EXPECT_FALSE(decode_record_line(sealed("R1\tdeferred\t0\t1\t2\t%0a\tmx")).has_value());      // lower-case hex
  EXPECT_FALSE(decode_record_line(sealed("R1\tdeferred\t0\t1\t2\t%0\tmx")).has_value());       // short escape
  EXPECT_FALSE(decode_record_line(sealed("R1\tdeferred\t4294967296\t1\t2\tx\tmx")).has_value());  // > u32
  EXPECT_FALSE(decode_record_line(sealed("R1\tdeferred\t0\t9223372036854775808\t2\tx\tmx")).has_value());
  EXPECT_FALSE(decode_record_line(sealed("R1\tsnoozed\t0\t1\t2\tx\tmx")).has_value());
  EXPECT_FALSE(decode_record_line(sealed("R1\tdeferred\t0\t1\t2\tx")).has_value());  // a field short
  EXPECT_FALSE(decode_record_line(sealed("Q1\tdeferred\t0\t1\t2\tx\tmx")).has_value());
}

std::vector<QueueRecord> three_records() {
  return {record(QueueRecord::Kind::deferred, 0, "451 4.7.1 try later", 1'765'000'400'000'000),
          record(QueueRecord::Kind::bounced, 1, "550 5.1.1 <carol@c.test>: user unknown"),
          record(QueueRecord::Kind::delivered, 0, "250 2.0.0 ok queued as X")};
}

// The message after applying the first `n` records.
QueuedMessage folded(const QueuedMessage& base, const std::vector<QueueRecord>& recs, std::size_t n) {
  QueuedMessage m = base;
  for (std::size_t i = 0; i < n; ++i) apply(m, recs[i]);
  return m;
}

TEST(QueueFile, TornTailAtEveryByteOffsetKeepsExactlyTheCompleteRecords) {
  const QueuedMessage base = sample_message();
  const auto recs = three_records();
  std::string text = encode_envelope_line(base);
  const std::size_t envelope_end = text.size();
  std::vector<std::size_t> ends;  // where each record line ends
  for (const auto& r : recs) {
    text += encode_record_line(r);
    ends.push_back(text.size());
  }
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    const auto d = decode_queue_file(std::string_view(text).substr(0, cut));
    if (cut < envelope_end) {
      ASSERT_FALSE(d.ok()) << cut;
      EXPECT_EQ(d.code(), Errc::invalid);
      continue;
    }
    ASSERT_TRUE(d.ok()) << cut;
    std::size_t complete = 0;
    while (complete < ends.size() && ends[complete] <= cut) ++complete;
    EXPECT_EQ(d->records, complete) << cut;
    EXPECT_EQ(d->valid_bytes, complete == 0 ? envelope_end : ends[complete - 1]) << cut;
    EXPECT_EQ(d->torn_tail, d->valid_bytes != cut) << cut;
    EXPECT_EQ(d->bad_lines, 0u);
    EXPECT_EQ(d->message, folded(base, recs, complete)) << cut;
  }
}

TEST(QueueFile, CorruptLineBetweenGoodOnesIsSkippedAndCounted) {
  const QueuedMessage base = sample_message();
  const auto recs = three_records();
  std::string text = encode_envelope_line(base) + encode_record_line(recs[0]);
  std::string bad = encode_record_line(recs[1]);
  bad[5] = static_cast<char>(bad[5] ^ 0x20);
  text += bad;
  text += encode_record_line(recs[2]);
  const auto d = decode_queue_file(text);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->records, 2u);
  EXPECT_EQ(d->bad_lines, 1u);
  EXPECT_FALSE(d->torn_tail);
  EXPECT_EQ(d->valid_bytes, text.size());
  QueuedMessage want = base;
  apply(want, recs[0]);
  apply(want, recs[2]);
  EXPECT_EQ(d->message, want);
}

TEST(QueueFile, RecordForARecipientOutOfRangeIsABadLineNotACrash) {
  const QueuedMessage base = sample_message();
  std::string text = encode_envelope_line(base) + encode_record_line(record(QueueRecord::Kind::delivered, 7, "250 ok"));
  const auto d = decode_queue_file(text);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->records, 0u);
  EXPECT_TRUE(d->torn_tail);  // nothing good after it
  EXPECT_EQ(d->message, base);
}

TEST(QueueFile, BadEnvelopeIsInvalid) {
  std::string line = encode_envelope_line(sample_message());
  line[3] = 'Z';
  EXPECT_EQ(decode_queue_file(line).code(), Errc::invalid);
  EXPECT_EQ(decode_queue_file("").code(), Errc::invalid);
  // A record line where the envelope should be.
  EXPECT_EQ(decode_queue_file(encode_record_line(QueueRecord{})).code(), Errc::invalid);
}

TEST(QueueApply, DeferThenDeliverCountsAttemptsAndKeepsTheLastReply) {
  QueuedMessage m = sample_message();
  apply(m, record(QueueRecord::Kind::deferred, 0, "451 4.7.1 greylisted", 500));
  EXPECT_EQ(m.recipients[0].state, RecipientState::deferred);
  EXPECT_EQ(m.recipients[0].attempts, 1u);
  EXPECT_EQ(m.recipients[0].next_attempt, WallTime{500});
  EXPECT_EQ(m.recipients[0].last_reply, "451 4.7.1 greylisted");
  EXPECT_EQ(m.recipients[0].remote_mta, "mx.b.test");
  EXPECT_EQ(m.recipients[1].state, RecipientState::pending);  // the other recipient untouched
  apply(m, record(QueueRecord::Kind::delay_warned, 0));
  EXPECT_TRUE(m.recipients[0].delay_warned);
  EXPECT_EQ(m.recipients[0].attempts, 1u);  // a warning is not an attempt
  apply(m, record(QueueRecord::Kind::delivered, 0, "250 2.0.0 ok"));
  EXPECT_EQ(m.recipients[0].state, RecipientState::delivered);
  EXPECT_EQ(m.recipients[0].attempts, 2u);
  EXPECT_EQ(m.recipients[0].next_attempt, WallTime{});
  EXPECT_EQ(m.recipients[0].last_reply, "250 2.0.0 ok");
}

TEST(QueueApply, FinalStatesAreFinal) {
  QueuedMessage m = sample_message();
  apply(m, record(QueueRecord::Kind::bounced, 1, "550 5.1.1 no such user"));
  const QueuedMessage after_bounce = m;
  apply(m, record(QueueRecord::Kind::deferred, 1, "451 later", 9));
  apply(m, record(QueueRecord::Kind::delivered, 1, "250 ok"));
  apply(m, record(QueueRecord::Kind::delay_warned, 1));
  EXPECT_EQ(m, after_bounce);
  EXPECT_EQ(m.recipients[1].state, RecipientState::bounced);
  EXPECT_EQ(m.recipients[1].attempts, 1u);
}

TEST(QueueApply, HoldReleaseReportedAreMessageFlags) {
  QueuedMessage m = sample_message();
  apply(m, record(QueueRecord::Kind::held, 0));
  EXPECT_TRUE(m.held);
  apply(m, record(QueueRecord::Kind::released, 0));
  EXPECT_FALSE(m.held);
  EXPECT_FALSE(m.reported);
  apply(m, record(QueueRecord::Kind::reported, 0));
  EXPECT_TRUE(m.reported);
  for (const auto& r : m.recipients) EXPECT_EQ(r.state, RecipientState::pending);
}

// ------------------------------------------------------------------- properties

template <class T>
std::optional<T> maybe() {
  if (!*rc::gen::arbitrary<bool>()) return std::nullopt;
  return *rc::gen::arbitrary<T>();
}

rc::Gen<smtp::Path> gen_path(bool allow_null) {
  return rc::gen::apply(
      [allow_null](bool null, std::string local, std::string domain) {
        if (null && allow_null) return smtp::Path{};
        return smtp::Path{smtp::Mailbox{std::move(local), std::move(domain)}};
      },
      rc::gen::arbitrary<bool>(), rc::gen::arbitrary<std::string>(), rc::gen::arbitrary<std::string>());
}

rc::Gen<QueuedMessage> gen_message() {
  return rc::gen::exec([] {
    QueuedMessage m;
    m.id = *rc::gen::container<std::string>(rc::gen::elementOf(std::string("0123456789abcXYZ-")));
    if (m.id.empty()) m.id = "x";
    if (m.id.size() > 64) m.id.resize(64);
    m.arrival = WallTime{*rc::gen::arbitrary<std::int64_t>()};
    m.sender = *gen_path(true);
    m.mail_params.body = *rc::gen::element(smtp::BodyType::seven_bit, smtp::BodyType::eight_bit_mime, smtp::BodyType::binary_mime);
    m.mail_params.smtputf8 = *rc::gen::arbitrary<bool>();
    m.mail_params.ret = *rc::gen::element(smtp::DsnRet::unspecified, smtp::DsnRet::full, smtp::DsnRet::headers);
    m.mail_params.size = maybe<std::uint64_t>();
    m.mail_params.envid = maybe<std::string>();
    m.mail_params.auth = maybe<std::string>();
    m.auth_identity = *rc::gen::arbitrary<std::string>();
    m.client_address = *rc::gen::arbitrary<std::string>();
    m.helo = *rc::gen::arbitrary<std::string>();
    m.size_bytes = *rc::gen::arbitrary<std::uint64_t>();
    const auto n = *rc::gen::inRange<std::size_t>(1, 6);
    for (std::size_t i = 0; i < n; ++i) {
      QueuedRecipient r;
      r.recipient.path = *gen_path(false);
      const auto bits = *rc::gen::inRange(0, 16);
      r.recipient.params.notify = smtp::DsnNotify{(bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0, (bits & 8) != 0};
      r.recipient.params.orcpt_type = maybe<std::string>();
      r.recipient.params.orcpt = maybe<std::string>();
      m.recipients.push_back(std::move(r));
    }
    return m;
  });
}

rc::Gen<QueueRecord> gen_record(std::uint32_t recipients) {
  return rc::gen::exec([recipients] {
    QueueRecord r;
    r.kind = *rc::gen::element(QueueRecord::Kind::delivered, QueueRecord::Kind::bounced, QueueRecord::Kind::deferred,
                               QueueRecord::Kind::delay_warned, QueueRecord::Kind::held, QueueRecord::Kind::released,
                               QueueRecord::Kind::reported);
    r.recipient = *rc::gen::inRange<std::uint32_t>(0, recipients);
    r.at = WallTime{*rc::gen::arbitrary<std::int64_t>()};
    r.next_attempt = WallTime{*rc::gen::arbitrary<std::int64_t>()};
    r.reply = *rc::gen::arbitrary<std::string>();
    r.remote_mta = *rc::gen::arbitrary<std::string>();
    return r;
  });
}

RC_GTEST_PROP(QueueRecordProp, EnvelopeDecodeOfEncodeIsIdentity, ()) {
  const QueuedMessage m = *gen_message();
  const std::string line = encode_envelope_line(m);
  RC_ASSERT(line.find('\n') == line.size() - 1);
  const auto back = decode_envelope_line(std::string_view(line).substr(0, line.size() - 1));
  RC_ASSERT(back.has_value());
  RC_ASSERT(*back == m);
}

RC_GTEST_PROP(QueueRecordProp, RecordDecodeOfEncodeIsIdentity, ()) {
  const QueueRecord r = *gen_record(UINT32_MAX);
  const std::string line = encode_record_line(r);
  RC_ASSERT(line.find('\n') == line.size() - 1);
  const auto back = decode_record_line(std::string_view(line).substr(0, line.size() - 1));
  RC_ASSERT(back.has_value());
  RC_ASSERT(*back == r);
}

RC_GTEST_PROP(QueueRecordProp, EveryPrefixOfALogDecodesToAPrefixOfItsRecords, ()) {
  const QueuedMessage m = *gen_message();
  const auto n = static_cast<std::uint32_t>(m.recipients.size());
  const auto recs = *rc::gen::container<std::vector<QueueRecord>>(gen_record(n));
  std::string text = encode_envelope_line(m);
  const std::size_t envelope_end = text.size();
  std::vector<std::size_t> ends;
  for (const auto& r : recs) {
    text += encode_record_line(r);
    ends.push_back(text.size());
  }
  const auto cut = *rc::gen::inRange<std::size_t>(envelope_end, text.size() + 1);
  const auto d = decode_queue_file(std::string_view(text).substr(0, cut));
  RC_ASSERT(d.ok());
  std::size_t complete = 0;
  while (complete < ends.size() && ends[complete] <= cut) ++complete;
  RC_ASSERT(d->records == complete);
  RC_ASSERT(d->bad_lines == 0u);
  RC_ASSERT(d->message == folded(m, recs, complete));
  RC_ASSERT(d->torn_tail == (cut != (complete == 0 ? envelope_end : ends[complete - 1])));
}

}  // namespace
}  // namespace mail::store
