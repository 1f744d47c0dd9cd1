// imap::ServerSession and COMPRESS (RFC 4978): advertised only after login (§5 command-auth),
// OK then out::StartCompress with nothing taken after it until compress_established() (§3:
// the next octet is compressed), a second COMPRESS gets NO [COMPRESSIONACTIVE] (§3), and an
// unknown mechanism or a server without it gets BAD. The deflate layer itself is the
// driver's (node/deflate_stream): here only the sans-IO side.
#include <gtest/gtest.h>

#include <string>

#include "proto/imap/session_harness.h"

namespace mail::imap {
namespace {

using testing::FakeCrypto;
using testing::FakeStore;
using testing::Harness;
using testing::has;

struct ImapCompress : ::testing::Test {
  SessionConfig config(bool compress = true) {
    SessionConfig c;
    c.crypto = &crypto;
    c.credentials = &store;
    c.plaintext_without_tls = true;
    c.compress_available = compress;
    return c;
  }
  static void login(Harness& h) { ASSERT_TRUE(h.login()); }
  FakeCrypto crypto;
  FakeStore store;
};

TEST_F(ImapCompress, Rfc4978_S5_AdvertisedOnlyAfterLogin) {
  Harness h(config());
  EXPECT_FALSE(has(h.take(), "COMPRESS"));
  h.feed("a CAPABILITY\r\n");
  EXPECT_FALSE(has(h.take(), "COMPRESS"));
  login(h);
  h.feed("b CAPABILITY\r\n");
  EXPECT_TRUE(has(h.take(), " COMPRESS=DEFLATE"));
}

TEST_F(ImapCompress, Rfc4978_S5_BeforeLoginIsBad) {
  Harness h(config());
  h.take();
  h.feed("a COMPRESS DEFLATE\r\nb NOOP\r\n");
  EXPECT_EQ(h.take(), "a BAD COMPRESS is not available now\r\nb OK NOOP completed\r\n");
  EXPECT_FALSE(h.s.compress_active());
}

TEST_F(ImapCompress, Rfc4978_S3_NotOfferedIsBad) {
  Harness h(config(false));
  login(h);
  h.feed("b CAPABILITY\r\n");
  EXPECT_FALSE(has(h.take(), "COMPRESS"));
  h.feed("a COMPRESS DEFLATE\r\n");
  EXPECT_TRUE(h.take().starts_with("a BAD "));
}

TEST_F(ImapCompress, Rfc4978_S3_UnknownMechanismIsBad) {
  Harness h(config());
  login(h);
  h.feed("a COMPRESS LZ4\r\n");
  EXPECT_TRUE(h.take().starts_with("a BAD "));
  EXPECT_FALSE(h.s.compress_active());
}

TEST_F(ImapCompress, Rfc4978_S3_OkThenNothingIsTakenUntilTheLayerIsInPlace) {
  Harness h(config());
  login(h);
  // What follows COMPRESS in the same read is (a misbehaving client's) compressed data: the
  // session must leave it to the driver, which inflates it once the layer is in place.
  const std::string cmd = "a compress deflate\r\n";
  const std::string after = "\x78\x9c garbage";
  EXPECT_EQ(h.feed(cmd + after), cmd.size());
  EXPECT_EQ(h.take(), "a OK DEFLATE active\r\n<StartCompress>");
  EXPECT_TRUE(h.s.compress_active());
  EXPECT_EQ(h.feed("b NOOP\r\n"), 0u);
  EXPECT_EQ(h.take(), "");
  h.s.compress_established(h.now);
  h.feed("c COMPRESS DEFLATE\r\n");
  EXPECT_EQ(h.take(), "c NO [COMPRESSIONACTIVE] DEFLATE active via COMPRESS\r\n");
  h.feed("d CAPABILITY\r\n");
  EXPECT_TRUE(has(h.take(), "d OK CAPABILITY completed"));
}

}  // namespace
}  // namespace mail::imap
