// Unit and property tests for ConnectionLimits: caps, release, address canonicalisation,
// and a model-based check that counts never drift (admitted == released eventually).
#include "node/connection_limits.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <vector>

namespace mail::node {
namespace {

TEST(ConnectionLimits, PerIpCapRefusesTheNextOne) {
  ConnectionLimits limits({.connections_max = 100, .connections_per_ip_max = 3});
  EXPECT_EQ(limits.acquire("10.0.0.1"), Admission::admitted);
  EXPECT_EQ(limits.acquire("10.0.0.1"), Admission::admitted);
  EXPECT_EQ(limits.acquire("10.0.0.1"), Admission::admitted);
  EXPECT_EQ(limits.acquire("10.0.0.1"), Admission::too_many_from_ip);
  EXPECT_EQ(limits.acquire("10.0.0.2"), Admission::admitted);
  EXPECT_EQ(limits.total(), 4u);
  limits.release("10.0.0.1");
  EXPECT_EQ(limits.acquire("10.0.0.1"), Admission::admitted);
  EXPECT_EQ(limits.from("10.0.0.1"), 3u);
}

TEST(ConnectionLimits, GlobalCapWinsOverPerIp) {
  ConnectionLimits limits({.connections_max = 2, .connections_per_ip_max = 50});
  EXPECT_EQ(limits.acquire("10.0.0.1"), Admission::admitted);
  EXPECT_EQ(limits.acquire("10.0.0.2"), Admission::admitted);
  EXPECT_EQ(limits.acquire("10.0.0.3"), Admission::too_many_total);
  EXPECT_EQ(limits.from("10.0.0.3"), 0u);
  limits.release("10.0.0.2");
  EXPECT_EQ(limits.acquire("10.0.0.3"), Admission::admitted);
}

TEST(ConnectionLimits, ZeroMeansRefuseEverything) {
  ConnectionLimits limits({.connections_max = 0, .connections_per_ip_max = 0});
  EXPECT_EQ(limits.acquire("10.0.0.1"), Admission::too_many_total);
  ConnectionLimits per_ip({.connections_max = 10, .connections_per_ip_max = 0});
  EXPECT_EQ(per_ip.acquire("10.0.0.1"), Admission::too_many_from_ip);
}

TEST(ConnectionLimits, MappedIpv4CountsAsIpv4) {
  ConnectionLimits limits({.connections_max = 10, .connections_per_ip_max = 2});
  EXPECT_EQ(limits.acquire("192.0.2.1"), Admission::admitted);
  EXPECT_EQ(limits.acquire("::FFFF:192.0.2.1"), Admission::admitted);
  EXPECT_EQ(limits.acquire("::ffff:192.0.2.1"), Admission::too_many_from_ip);
  EXPECT_EQ(limits.from("192.0.2.1"), 2u);
  EXPECT_EQ(ConnectionLimits::canonical_address("2001:DB8::1"), "2001:db8::1");
  EXPECT_EQ(ConnectionLimits::canonical_address("::ffff:abcd"), "::ffff:abcd");
}

TEST(ConnectionLimits, ReleasedAddressesAreForgotten) {
  ConnectionLimits limits({});
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(limits.acquire("198.51.100.7"), Admission::admitted);
  }
  for (int i = 0; i < 10; ++i) limits.release("198.51.100.7");
  EXPECT_EQ(limits.total(), 0u);
  EXPECT_EQ(limits.from("198.51.100.7"), 0u);
}

// Model-based: a random sequence of acquires/releases agrees with a plain reference count
// and never exceeds either cap.
RC_GTEST_PROP(ConnectionLimitsProp, AgreesWithReferenceModel, ()) {
  const auto total_max = *rc::gen::inRange<std::uint32_t>(0, 8);
  const auto per_ip_max = *rc::gen::inRange<std::uint32_t>(0, 4);
  ConnectionLimits limits({.connections_max = total_max, .connections_per_ip_max = per_ip_max});
  std::map<std::string, std::uint32_t> model;
  std::uint32_t model_total = 0;
  const auto steps = *rc::gen::inRange(0, 200);
  for (int i = 0; i < steps; ++i) {
    const std::string ip = "10.0.0." + std::to_string(*rc::gen::inRange(0, 4));
    const bool acquire = *rc::gen::arbitrary<bool>();
    if (acquire) {
      Admission expected = Admission::admitted;
      if (model_total >= total_max) {
        expected = Admission::too_many_total;
      } else if (model[ip] >= per_ip_max) {
        expected = Admission::too_many_from_ip;
      }
      RC_ASSERT(limits.acquire(ip) == expected);
      if (expected == Admission::admitted) {
        ++model[ip];
        ++model_total;
      }
    } else if (model[ip] > 0) {
      limits.release(ip);
      --model[ip];
      --model_total;
    }
    RC_ASSERT(limits.total() == model_total);
    RC_ASSERT(limits.from(ip) == model[ip]);
    RC_ASSERT(limits.total() <= total_max);
  }
}

}  // namespace
}  // namespace mail::node
