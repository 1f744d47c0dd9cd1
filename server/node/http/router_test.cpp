// HttpRouter (404, 405 with Allow per RFC 9110 §15.5.6, HEAD by GET per RFC 9110 §9.3.2,
// the query is not part of the route) and MetricsText (Prometheus text format 0.0.4).
#include "node/http/router.h"

#include <gtest/gtest.h>

#include "node/http/metrics.h"

namespace mail::node {
namespace {

rt::Task<http::Response> hello(http::Request request) {
  co_return http::text_response(200, "hello " + request.method + "\n");
}

rt::Task<void> route_into(const HttpRouter& router, http::Request request, http::Response& out) {
  rt::Task<HttpAnswer> routed = router.route(std::move(request));
  out = (co_await std::move(routed)).response;
}

http::Response route(const HttpRouter& router, std::string method, std::string target) {
  http::Request request;
  request.method = std::move(method);
  request.target = std::move(target);
  http::Response out;
  out.status = 0;
  rt::spawn(route_into(router, std::move(request), out));  // the handlers never suspend
  return out;
}

std::string allow(const http::Response& r) {
  for (const auto& h : r.headers)
    if (h.name == "Allow") return h.value;
  return "(none)";
}

TEST(HttpRouter, KnownPathRunsItsHandlerAndTheQueryIsNotPartOfTheRoute) {
  HttpRouter router;
  router.add("GET", "/metrics", hello);
  const http::Response r = route(router, "GET", "/metrics?name[]=x");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello GET\n");
}

TEST(HttpRouter, PrefixRouteTakesWhatNoExactPathMatchesAndTheLongestPrefixWins) {
  HttpRouter router;
  router.add("GET", "/jmap/download/x", hello);
  router.add_prefix("GET", "/jmap/", [](http::Request) -> rt::Task<http::Response> {
    co_return http::text_response(200, "short\n");
  });
  router.add_prefix("GET", "/jmap/download/", [](http::Request r) -> rt::Task<http::Response> {
    co_return http::text_response(200, "long " + std::string(r.path()) + "\n");
  });
  EXPECT_EQ(route(router, "GET", "/jmap/download/a/b?accept=x").body, "long /jmap/download/a/b\n");
  EXPECT_EQ(route(router, "GET", "/jmap/download/x").body, "hello GET\n");
  EXPECT_EQ(route(router, "GET", "/jmap/upload/a").body, "short\n");
  EXPECT_EQ(route(router, "GET", "/jma").status, 404);
  EXPECT_EQ(route(router, "POST", "/jmap/upload/a").status, 405);
}

TEST(HttpRouter, Rfc9110_15_5_5_UnknownPathIs404) {
  HttpRouter router;
  router.add("GET", "/metrics", hello);
  EXPECT_EQ(route(router, "GET", "/").status, 404);
  EXPECT_EQ(route(router, "GET", "/metrics/x").status, 404);
}

TEST(HttpRouter, Rfc9110_15_5_6_WrongMethodIs405WithAllow) {
  HttpRouter router;
  router.add("GET", "/metrics", hello);
  router.add("POST", "/metrics", hello);
  const http::Response r = route(router, "DELETE", "/metrics");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(allow(r), "GET, HEAD, POST");
}

TEST(HttpRouter, Rfc9110_9_3_2_HeadIsServedByGet) {
  HttpRouter router;
  router.add("GET", "/metrics", hello);
  const http::Response r = route(router, "HEAD", "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello HEAD\n");  // the session drops the body on the wire
}

TEST(MetricsText, PrometheusTextFormat004HelpTypeThenSamples) {
  MetricsText m;
  m.family("cloudsdial_x_total", "counter", "Things.", {{"protocol=\"smtp\"", 3}, {"protocol=\"imap\"", 0}});
  m.family("cloudsdial_empty", "gauge", "Never shown.", {});
  m.family("cloudsdial_big", "gauge", "Large.", {{"", 12345678901.0}});
  EXPECT_EQ(m.text(),
            "# HELP cloudsdial_x_total Things.\n# TYPE cloudsdial_x_total counter\n"
            "cloudsdial_x_total{protocol=\"smtp\"} 3\ncloudsdial_x_total{protocol=\"imap\"} 0\n"
            "# HELP cloudsdial_big Large.\n# TYPE cloudsdial_big gauge\ncloudsdial_big 12345678901\n");
}

}  // namespace
}  // namespace mail::node
