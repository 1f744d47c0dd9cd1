// Result<T>: value/error sides and the errno mapping.
#include "core/result.h"

#include <cerrno>
#include <gtest/gtest.h>

namespace mail {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return fail(Errc::invalid, "not positive");
  return v;
}

TEST(Result, ValueAndError) {
  auto good = parse_positive(3);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.code(), Errc::invalid);
  EXPECT_EQ(bad.error().detail, "not positive");
}

TEST(Result, VoidStatus) {
  Status s;
  EXPECT_TRUE(s.ok());
  Status e = fail(Errc::no_space);
  EXPECT_EQ(e.code(), Errc::no_space);
}

TEST(Error, FromErrno) {
  EXPECT_EQ(error_from_errno(ENOSPC, "write").code, Errc::no_space);
  EXPECT_EQ(error_from_errno(ENOENT, "open").code, Errc::not_found);
}

}  // namespace
}  // namespace mail
