// RapidCheck property for http::ServerSession (STYLE habit 2, RFC 9112 §9.3.2 pipelining):
// the same bytes — pipelined requests with bodies, chunked, HEAD, HTTP/1.0 keep-alive, and
// a malformed tail — fed in one piece and in random splits give exactly the same requests
// and the same response bytes.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "http/session_harness.h"

namespace mail::http {
namespace {

const std::string kScript =
    "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
    "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world"
    "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n"
    "HEAD /d HTTP/1.1\r\nHost: h\r\nX-Long: " + std::string(300, 'v') + "\r\n\r\n"
    "GET /e HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    "GET /f HTTP/1.1\r\nHost: h\r\n\r\n"
    "NOT HTTP AT ALL\r\n\r\n"
    "GET /never HTTP/1.1\r\nHost: h\r\n\r\n";

std::string run(std::vector<std::size_t> cuts, std::vector<Request>& seen) {
  testing::Harness h;
  std::sort(cuts.begin(), cuts.end());
  std::size_t at = 0;
  auto feed_all = [&](std::string_view piece) {
    while (!piece.empty()) {
      const std::size_t n = h.feed(piece);
      piece.remove_prefix(n);
      h.answer_all();
      if (n == 0 && !piece.empty() && h.requests.empty()) h.answer_all();
    }
  };
  for (std::size_t cut : cuts) {
    cut = std::min(cut, kScript.size());
    if (cut < at) continue;
    feed_all(std::string_view(kScript).substr(at, cut - at));
    at = cut;
  }
  feed_all(std::string_view(kScript).substr(at));
  h.answer_all();
  seen = h.answered;
  return h.written + (h.close_seen ? "[closed]" : "[open]");
}

RC_GTEST_PROP(HttpSessionProperty, Rfc9112_9_3_2_SplitsDoNotChangeRequestsOrResponses, ()) {
  std::vector<Request> whole_requests;
  static const std::string whole = run({}, whole_requests);
  static std::vector<Request> whole_seen = whole_requests;
  const auto cuts = *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, kScript.size()));
  std::vector<Request> split_requests;
  const std::string split = run(cuts, split_requests);
  RC_ASSERT(split == whole);
  RC_ASSERT(split_requests == whole_seen);
}

TEST(HttpSessionProperty, TheScriptYieldsSixRequestsThenA400) {
  std::vector<Request> seen;
  const std::string out = run({}, seen);
  ASSERT_EQ(seen.size(), 6U);
  EXPECT_EQ(seen[1].body, "hello world");
  EXPECT_EQ(seen[2].body, "wikipedia");
  EXPECT_NE(out.find("HTTP/1.1 400 "), std::string::npos);
  EXPECT_EQ(out.find("/never"), std::string::npos);
  EXPECT_TRUE(out.ends_with("[closed]"));
}

}  // namespace
}  // namespace mail::http
