// JMAP ids: RFC 8620 §1.2 alphabet, round trips, and refusal of anything else.
#include "jmap/ids.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace mail::jmap {
namespace {

TEST(JmapIds, Rfc8620_1_2_AlphabetOnly) {
  EXPECT_TRUE(is_valid_id("Ab-_09"));
  EXPECT_FALSE(is_valid_id(""));
  EXPECT_FALSE(is_valid_id("a.b"));
  EXPECT_FALSE(is_valid_id(std::string(256, 'a')));
  EXPECT_TRUE(is_valid_id(email_id("1733600000.M12P34Q5.host,S=120")));
}

TEST(JmapIds, MailboxIdRoundTrip) {
  EXPECT_EQ(mailbox_id(1733600000), "M1733600000");
  EXPECT_EQ(parse_mailbox_id("M1733600000"), 1733600000u);
  EXPECT_EQ(parse_mailbox_id("M"), std::nullopt);
  EXPECT_EQ(parse_mailbox_id("M012"), std::nullopt);
  EXPECT_EQ(parse_mailbox_id("M12x"), std::nullopt);
  EXPECT_EQ(parse_mailbox_id("M99999999999"), std::nullopt);
  EXPECT_EQ(parse_mailbox_id("E12"), std::nullopt);
}

TEST(JmapIds, KindsDoNotMix) {
  const std::string content = "1733600000.M12P34Q5.host,S=120";
  EXPECT_EQ(parse_email_id(email_id(content)), content);
  EXPECT_EQ(parse_thread_id(thread_id(content)), content);
  EXPECT_EQ(parse_email_id(thread_id(content)), std::nullopt);
  auto blob = parse_blob_id(message_blob_id(content));
  ASSERT_TRUE(blob);
  EXPECT_EQ(blob->kind, BlobRef::Kind::message);
  EXPECT_EQ(blob->content_id, content);
  auto part = parse_blob_id(part_blob_id(content, "1.2.10"));
  ASSERT_TRUE(part);
  EXPECT_EQ(part->kind, BlobRef::Kind::part);
  EXPECT_EQ(part->part_id, "1.2.10");
  EXPECT_EQ(part->content_id, content);
  auto upload = parse_blob_id("U0a9f");
  ASSERT_TRUE(upload);
  EXPECT_EQ(upload->kind, BlobRef::Kind::upload);
  EXPECT_EQ(parse_blob_id("UxyZ"), std::nullopt);
  EXPECT_EQ(parse_blob_id("Q12"), std::nullopt);
}

TEST(JmapIds, Base64urlRejectsNonCanonical) {
  EXPECT_EQ(base64url("ab"), "YWI");
  EXPECT_EQ(unbase64url("YWI"), "ab");
  EXPECT_EQ(unbase64url("YWJ"), std::nullopt);  // non-zero unused bits
  EXPECT_EQ(unbase64url("Y"), std::nullopt);
  EXPECT_EQ(unbase64url("YW=I"), std::nullopt);
}

RC_GTEST_PROP(JmapIds, Base64urlRoundTrips, (const std::string& bytes)) {
  const std::string text = base64url(bytes);
  RC_ASSERT(unbase64url(text) == std::optional<std::string>(bytes));
  if (!bytes.empty()) RC_ASSERT(is_valid_id(text) || text.size() > 255);
}

}  // namespace
}  // namespace mail::jmap
