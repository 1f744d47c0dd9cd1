// WebmailAssets: Content-Type, nosniff and CSP on every file, ETag revalidation (RFC 9110
// §13.1.2 If-None-Match -> 304, §15.4.5), gzip only when Accept-Encoding allows it (RFC
// 9110 §12.5.3, q=0 refuses), and the embedded table really holds the app and DOMPurify.
#include "node/http/webmail_routes.h"

#include <gtest/gtest.h>
#include <zlib.h>

namespace mail::node {
namespace {

std::string header(const http::Response& r, std::string_view name) {
  for (const auto& h : r.headers)
    if (h.name == name) return h.value;
  return "<none>";
}

http::Request get(std::vector<http::Header> headers = {}) {
  http::Request r;
  r.method = "GET";
  r.target = "/";
  r.headers = std::move(headers);
  return r;
}

std::string gunzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

const std::string kBig(4000, 'x');
const webmail::EmbeddedFile kFiles[] = {
    {"index.html", "<!doctype html><title>t</title>"},
    {"app.js", kBig},
    {"logo.png", "\x89PNG"},
};

TEST(WebmailAssets, ContentTypeNosniffAndCspOnEveryFile) {
  WebmailAssets assets(kFiles);
  const http::Response html = assets.answer("index.html", get());
  EXPECT_EQ(html.status, 200);
  EXPECT_EQ(html.body, "<!doctype html><title>t</title>");
  EXPECT_EQ(header(html, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(header(html, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header(html, "Referrer-Policy"), "no-referrer");
  EXPECT_NE(header(html, "Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(header(assets.answer("app.js", get()), "Content-Type"), "application/javascript; charset=utf-8");
  EXPECT_EQ(header(assets.answer("logo.png", get()), "Content-Type"), "image/png");
  EXPECT_EQ(assets.answer("../etc/passwd", get()).status, 404);
}

TEST(WebmailAssets, Rfc9110_13_1_2_IfNoneMatchGives304) {
  WebmailAssets assets(kFiles);
  const http::Response first = assets.answer("app.js", get());
  const std::string etag = header(first, "ETag");
  ASSERT_EQ(etag.front(), '"');
  const http::Response again = assets.answer("app.js", get({{"If-None-Match", etag}}));
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(assets.answer("app.js", get({{"If-None-Match", "\"other\""}})).status, 200);
  EXPECT_NE(header(assets.answer("index.html", get()), "ETag"), etag);
}

TEST(WebmailAssets, Rfc9110_12_5_3_GzipOnlyWhenAccepted) {
  WebmailAssets assets(kFiles);
  const http::Response plain = assets.answer("app.js", get());
  EXPECT_EQ(plain.body, kBig);
  EXPECT_EQ(header(plain, "Content-Encoding"), "<none>");
  EXPECT_EQ(header(plain, "Vary"), "Accept-Encoding");
  const http::Response z = assets.answer("app.js", get({{"Accept-Encoding", "gzip, deflate, br"}}));
  EXPECT_EQ(header(z, "Content-Encoding"), "gzip");
  EXPECT_LT(z.body.size(), kBig.size());
  EXPECT_EQ(gunzip(z.body), kBig);
  EXPECT_EQ(header(assets.answer("app.js", get({{"Accept-Encoding", "gzip;q=0, br"}})), "Content-Encoding"), "<none>");
  // Small files are not worth it.
  EXPECT_EQ(header(assets.answer("index.html", get({{"Accept-Encoding", "gzip"}})), "Content-Encoding"), "<none>");
}

TEST(WebmailAssets, AcceptsGzipParsesQualities) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("br, GZIP;q=0.5"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip; q=0.000"));
  EXPECT_FALSE(accepts_gzip("deflate, br"));
  EXPECT_FALSE(accepts_gzip(""));
}

TEST(WebmailAssets, EmbeddedTableHoldsTheAppAndDomPurify) {
  WebmailAssets assets(webmail::embedded_files());
  EXPECT_TRUE(assets.contains("index.html"));
  EXPECT_TRUE(assets.contains("app.js"));
  EXPECT_TRUE(assets.contains("style.css"));
  EXPECT_TRUE(assets.contains("purify.min.js"));
  const http::Response page = assets.answer("index.html", get());
  EXPECT_NE(page.body.find("/assets/app.js"), std::string::npos);
}

}  // namespace
}  // namespace mail::node
