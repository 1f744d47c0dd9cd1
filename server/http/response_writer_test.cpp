// Response serialisation (RFC 9112 §4 status line, RFC 9110 §6.6.1 Date, §8.6
// Content-Length, §9.3.2 HEAD).
#include "http/response_writer.h"

#include <gtest/gtest.h>

namespace mail::http {
namespace {

TEST(HttpResponseWriter, Rfc9110_5_6_7_ImfFixdateOfTheRfcExample) {
  EXPECT_EQ(imf_fixdate(WallTime{784111777'000'000}), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(imf_fixdate(WallTime{0}), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(imf_fixdate(WallTime{1'709'251'199'000'000}), "Thu, 29 Feb 2024 23:59:59 GMT");
}

TEST(HttpResponseWriter, Rfc9112_4_StatusLineDateLengthTypeInThatShape) {
  const std::string out = serialize(text_response(404, "no\n"), WallTime{0}, {});
  EXPECT_EQ(out,
            "HTTP/1.1 404 Not Found\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\nServer: Cloudsdial\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\nno\n");
}

TEST(HttpResponseWriter, Rfc9112_9_3_ConnectionCloseAndHttp10KeepAlive) {
  WriteOptions close;
  close.keep_alive = false;
  EXPECT_NE(serialize(Response{}, WallTime{0}, close).find("\r\nConnection: close\r\n"), std::string::npos);
  WriteOptions old;
  old.request_version = 10;
  EXPECT_NE(serialize(Response{}, WallTime{0}, old).find("\r\nConnection: keep-alive\r\n"), std::string::npos);
  EXPECT_EQ(serialize(Response{}, WallTime{0}, {}).find("Connection:"), std::string::npos);
}

TEST(HttpResponseWriter, Rfc9110_9_3_2_HeadHasTheLengthButNoBody) {
  WriteOptions head;
  head.head = true;
  const std::string out = serialize(text_response(200, "hello"), WallTime{0}, head);
  EXPECT_NE(out.find("Content-Length: 5\r\n"), std::string::npos);
  EXPECT_TRUE(out.ends_with("\r\n\r\n"));
}

TEST(HttpResponseWriter, Rfc9110_8_6_NoContentLengthOn204AndOwnedFieldsAreNotDuplicated) {
  Response r;
  r.status = 204;
  r.headers = {{"Content-Length", "99"}, {"Date", "x"}, {"X-Evil", "a\r\nSet-Cookie: b"}, {"Allow", "GET"}};
  const std::string out = serialize(r, WallTime{0}, {});
  EXPECT_EQ(out.find("Content-Length"), std::string::npos);
  EXPECT_EQ(out.find("Date: x"), std::string::npos);
  EXPECT_EQ(out.find("Set-Cookie"), std::string::npos);
  EXPECT_NE(out.find("Allow: GET\r\n"), std::string::npos);
}

}  // namespace
}  // namespace mail::http
