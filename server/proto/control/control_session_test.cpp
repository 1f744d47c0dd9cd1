// control::ControlSession: one request line in, one answer out, then close; bad input gets
// an error answer (never a second request, never unbounded buffering).
#include "proto/control/control_session.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace mail::control {
namespace {

const Instant t0{};

std::string drain(ControlSession& s, bool* closed = nullptr) {
  std::string out;
  while (auto o = s.poll_output()) {
    if (auto* send = std::get_if<proto::out::Send>(&*o)) out += send->bytes;
    if (closed != nullptr && std::holds_alternative<proto::out::Close>(*o)) *closed = true;
  }
  return out;
}

TEST(ControlSession, OneRequestLineSplitAcrossFeedsGivesItsWords) {
  ControlSession s(t0);
  EXPECT_EQ(s.feed("queue  sh", t0), 9u);
  EXPECT_FALSE(s.poll_request());
  EXPECT_EQ(s.feed("ow ABC\r\nqueue delete X\n", t0), 23u);
  auto r = s.poll_request();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->words, (std::vector<std::string>{"queue", "show", "ABC"}));
  EXPECT_FALSE(s.poll_request());  // the second line is ignored
  s.respond("{\"ok\":true}", t0);
  bool closed = false;
  EXPECT_EQ(drain(s, &closed), "{\"ok\":true}\n");
  EXPECT_TRUE(closed);
  EXPECT_TRUE(s.closed());
}

TEST(ControlSession, OverlongLineIsRefusedWithoutBuffering) {
  ControlSession s(t0, ControlLimits{16, 30s});
  (void)s.feed(std::string(40, 'x'), t0);
  EXPECT_FALSE(s.poll_request());
  EXPECT_EQ(drain(s), "{\"ok\":false,\"error\":\"request line too long\"}\n");
  EXPECT_TRUE(s.closed());
  EXPECT_EQ(s.buffered_bytes(), 0u);
}

TEST(ControlSession, EofBeforeTheLineAndTimeoutAndEmptyLineAreErrors) {
  ControlSession a(t0);
  (void)a.feed("queue li", t0);
  a.feed_eof(t0);
  EXPECT_NE(drain(a).find("before a complete request line"), std::string::npos);

  ControlSession b(t0, ControlLimits{4096, 5s});
  ASSERT_TRUE(b.poll_timeout());
  EXPECT_EQ(*b.poll_timeout(), t0 + 5s);
  b.handle_timeout(t0 + 5s);
  EXPECT_NE(drain(b).find("no request line"), std::string::npos);

  ControlSession c(t0);
  (void)c.feed("   \n", t0);
  EXPECT_NE(drain(c).find("empty request"), std::string::npos);
}

TEST(ControlSession, JsonStringEscapesControlCharactersQuotesAndBackslashesRfc8259Section7) {
  EXPECT_EQ(json_string("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\u000a\\u0001\"");
  EXPECT_EQ(error_response("x"), "{\"ok\":false,\"error\":\"x\"}");
}

// The request and the answer depend on the bytes only, not on how they were split (the
// same oracle as fuzz/control_request).
RC_GTEST_PROP(ControlSessionProperty, SplitsDoNotChangeTheRequest, ()) {
  const std::string in = *rc::gen::container<std::string>(rc::gen::element('q', 'l', ' ', '\r', '\n', 'x'));
  ControlLimits limits;
  limits.max_line = *rc::gen::inRange<std::size_t>(1, 40);
  auto run = [&](std::size_t piece) {
    ControlSession s(t0, limits);
    for (std::size_t pos = 0; pos < in.size(); pos += piece) s.feed(std::string_view(in).substr(pos, piece), t0);
    s.feed_eof(t0);
    auto r = s.poll_request();
    return std::make_pair(r ? r->words : std::vector<std::string>{}, drain(s));
  };
  const auto whole = run(in.size() + 1);
  RC_ASSERT(run(*rc::gen::inRange<std::size_t>(1, 8)) == whole);
  for (const auto& w : whole.first) RC_ASSERT(!w.empty() && w.find(' ') == std::string::npos);
}

}  // namespace
}  // namespace mail::control
