// Threads (RFC 8621 §3) by the conversation's root Message-ID (RFC 5322 §3.6.4).
#include "jmap/threads.h"

#include <gtest/gtest.h>

namespace mail::jmap {
namespace {

TEST(JmapThreads, Rfc5322_3_6_4_RootIsTheFirstReferenceThenInReplyToThenOwnId) {
  EXPECT_EQ(thread_root("Message-ID: <a@x>\r\n\r\n"), "a@x");
  EXPECT_EQ(thread_root("Message-ID: <b@x>\r\nIn-Reply-To: <a@x>\r\n\r\n"), "a@x");
  EXPECT_EQ(thread_root("Message-ID: <c@x>\r\nIn-Reply-To: <b@x>\r\nReferences: <a@x>\r\n <b@x>\r\n\r\n"), "a@x");
  EXPECT_EQ(thread_root("Subject: none\r\n\r\n"), "");
  EXPECT_EQ(thread_root("Message-ID: garbage\r\n\r\n"), "");
}

TEST(JmapThreads, Rfc8621_3_ARootAndItsRepliesShareOneThreadId) {
  const std::string root = thread_id_of(thread_root("Message-ID: <a@x>\r\n\r\n"), "c1");
  const std::string reply = thread_id_of(thread_root("Message-ID: <b@x>\r\nReferences: <a@x>\r\n\r\n"), "c2");
  const std::string other = thread_id_of(thread_root("Message-ID: <z@x>\r\n\r\n"), "c3");
  EXPECT_EQ(root, reply);
  EXPECT_NE(root, other);
  // Without any id the message is a thread of its own, named by its content id.
  EXPECT_NE(thread_id_of("", "c4"), thread_id_of("", "c5"));
  EXPECT_EQ(thread_id_of("", "c4").front(), 'T');
}

}  // namespace
}  // namespace mail::jmap
