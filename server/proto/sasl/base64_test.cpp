// Tests for strict base64 (RFC 4648 §4, §10 vectors) and a RapidCheck round trip.
#include "proto/sasl/base64.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>

namespace mail::sasl {
namespace {

TEST(Base64, Rfc4648_S10_Vectors) {
  const std::pair<const char*, const char*> v[] = {{"", ""},         {"f", "Zg=="},     {"fo", "Zm8="},
                                                   {"foo", "Zm9v"},  {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                   {"foobar", "Zm9vYmFy"}};
  for (auto [plain, enc] : v) {
    EXPECT_EQ(base64_encode(plain), enc);
    EXPECT_EQ(base64_decode(enc), std::string(plain));
  }
}

TEST(Base64, StrictRejections) {
  for (const char* bad : {"Zg", "Zg=", "Zh==", "Zm9=", "Z===", "Zg==Zg==", "Zm 9v", "Zm9v\r\n", "Zm-v", "====", "=Zg="})
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
}

TEST(Base64, RoundTripProperty) {
  EXPECT_TRUE(rc::check("decode(encode(x)) == x", [](const std::string& x) {
    RC_ASSERT(base64_decode(base64_encode(x)) == std::optional<std::string>(x));
  }));
  EXPECT_TRUE(rc::check("decode succeeds only on canonical text", [](const std::string& s) {
    if (auto d = base64_decode(s)) RC_ASSERT(base64_encode(*d) == s);
  }));
}

}  // namespace
}  // namespace mail::sasl
