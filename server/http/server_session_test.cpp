// http::ServerSession: parsing, persistence, pipelining, limits (RFC 9112, RFC 9110).
#include "http/server_session.h"

#include <gtest/gtest.h>

#include "http/session_harness.h"

namespace mail::http {
namespace {

using testing::Harness;

std::size_t count(const std::string& hay, std::string_view needle) {
  std::size_t n = 0;
  for (auto at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

TEST(HttpSession, Rfc9112_3_ParsesARequestIntoPlainValues) {
  Harness h;
  h.feed("POST /submit?x=1 HTTP/1.1\r\nHost: example.com\r\nX-A:  spaced  \r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_EQ(h.requests.size(), 1U);
  const Request& r = h.requests[0].request;
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/submit?x=1");
  EXPECT_EQ(r.path(), "/submit");
  EXPECT_EQ(r.version, 11);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.header("x-a").value_or("?"), "spaced");
  EXPECT_EQ(r.header("host").value_or("?"), "example.com");
  EXPECT_TRUE(h.written.empty());
  h.answer_all();
  EXPECT_TRUE(h.written.starts_with("HTTP/1.1 200 OK\r\n"));
  EXPECT_NE(h.written.find("\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"), std::string::npos);
  EXPECT_FALSE(h.close_seen);
}

TEST(HttpSession, Rfc9112_7_1_ChunkedBodyIsDecoded) {
  Harness h;
  h.feed("PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  ASSERT_EQ(h.requests.size(), 1U);
  EXPECT_EQ(h.requests[0].request.body, "abcde");
}

TEST(HttpSession, Rfc9112_7_1_LastChunkFedByteByByte) {
  // boostorg/beast#2861: "0\r\n" then "\r" then "\n" is valid (and asserted in Beast 1.81).
  Harness h;
  h.feed("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n");
  for (char c : std::string("0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n")) h.feed(std::string(1, c));
  ASSERT_EQ(h.requests.size(), 2U);
  EXPECT_EQ(h.requests[0].request.body, "ab");
  EXPECT_EQ(h.requests[1].request.target, "/next");
}

TEST(HttpSession, Rfc9112_7_1_EndlessChunkLineOrTrailerIs400NotUnboundedBuffering) {
  SessionConfig c;
  c.limits.header_bytes_max = 1024;
  for (std::string tail : {"0\r\nX-Trailer: ", "1;ext="}) {
    Harness h(c);
    h.feed("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + tail);
    for (int i = 0; i < 20 && !h.close_seen; ++i) h.feed(std::string(100, 'z'));
    EXPECT_TRUE(h.written.starts_with("HTTP/1.1 400 ")) << tail << " -> " << h.written;
    EXPECT_TRUE(h.close_seen) << tail;
    EXPECT_LE(h.s.buffered_bytes(), 1024U + 100U);
  }
}

TEST(HttpSession, Rfc9112_9_3_KeepAliveServesSeveralRequestsOnOneConnection) {
  Harness h;
  for (int i = 0; i < 3; ++i) {
    h.feed("GET /n" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n");
    h.answer_all();
  }
  EXPECT_EQ(count(h.written, "HTTP/1.1 200 OK"), 3U);
  EXPECT_NE(h.written.find("GET /n2\n"), std::string::npos);
  EXPECT_FALSE(h.close_seen);
  EXPECT_FALSE(h.s.closed());
}

TEST(HttpSession, Rfc9112_9_3_2_PipelinedAnswersGoOutInRequestOrder) {
  Harness h;
  h.feed("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(h.requests.size(), 3U);
  // The application answers the last first: nothing may be written before /a's answer.
  h.respond(h.requests[2].id, text_response(200, "C"));
  h.respond(h.requests[1].id, text_response(200, "B"));
  EXPECT_TRUE(h.written.empty());
  h.respond(h.requests[0].id, text_response(200, "A"));
  const auto a = h.written.find("\r\n\r\nA");
  const auto b = h.written.find("\r\n\r\nB");
  const auto c = h.written.find("\r\n\r\nC");
  ASSERT_NE(c, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

TEST(HttpSession, Rfc9112_9_6_ConnectionCloseEndsAfterTheResponseAndReadsNoFurther) {
  Harness h;
  h.feed("GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(h.requests.size(), 1U);
  h.answer_all();
  EXPECT_NE(h.written.find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_TRUE(h.close_seen);
}

TEST(HttpSession, Rfc9112_9_3_Http10ClosesUnlessKeepAliveWasAsked) {
  Harness plain;
  plain.feed("GET / HTTP/1.0\r\n\r\n");
  plain.answer_all();
  EXPECT_TRUE(plain.close_seen);
  Harness kept;
  kept.feed("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  kept.answer_all();
  EXPECT_FALSE(kept.close_seen);
  EXPECT_NE(kept.written.find("\r\nConnection: keep-alive\r\n"), std::string::npos);
}

TEST(HttpSession, Rfc9112_2_2_MalformedRequestGets400AndClose) {
  for (std::string bad : {"GET\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n", "\x16\x03\x01\x02\x00\r\n\r\n",
                          "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx",
                          "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                          // RFC 9112 §6.3: Transfer-Encoding with Content-Length (request smuggling)
                          "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"}) {
    Harness h;
    h.feed(bad);
    EXPECT_TRUE(h.requests.empty()) << bad;
    EXPECT_TRUE(h.written.starts_with("HTTP/1.1 400 Bad Request\r\n")) << bad << " -> " << h.written;
    EXPECT_TRUE(h.close_seen) << bad;
  }
}

TEST(HttpSession, Rfc9112_3_2_Http11WithoutHostIs400) {
  Harness h;
  h.feed("GET / HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(h.requests.empty());
  EXPECT_TRUE(h.written.starts_with("HTTP/1.1 400 "));
  EXPECT_TRUE(h.close_seen);
}

TEST(HttpSession, Rfc9112_2_3_OtherMajorVersionIs505) {
  Harness h;
  h.feed("GET / HTTP/2.0\r\nHost: a\r\n\r\n");
  EXPECT_TRUE(h.written.starts_with("HTTP/1.1 505 ")) << h.written;
}

TEST(HttpSession, Rfc6585_5_OversizedHeaderIs431) {
  Harness h;
  h.feed("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(20000, 'x') + "\r\n\r\n");
  EXPECT_TRUE(h.requests.empty());
  EXPECT_TRUE(h.written.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n")) << h.written.substr(0, 40);
  EXPECT_TRUE(h.close_seen);
}

TEST(HttpSession, Rfc9110_15_5_14_OversizedBodyIs413BeforeItIsRead) {
  SessionConfig c;
  c.limits.body_bytes_max = 100;
  Harness h(c);
  h.feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n");
  EXPECT_TRUE(h.written.starts_with("HTTP/1.1 413 Content Too Large\r\n")) << h.written;
  Harness chunked(c);
  chunked.feed("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n" + std::string(101, 'x'));
  EXPECT_TRUE(chunked.written.starts_with("HTTP/1.1 413 ")) << chunked.written;
}

TEST(HttpSession, ErrorAfterPipelinedRequestsWaitsForTheirAnswers) {
  Harness h;
  h.feed("GET /a HTTP/1.1\r\nHost: h\r\n\r\nBROKEN\r\n\r\n");
  ASSERT_EQ(h.requests.size(), 1U);
  EXPECT_TRUE(h.written.empty());
  h.answer_all();
  EXPECT_LT(h.written.find("HTTP/1.1 200"), h.written.find("HTTP/1.1 400"));
  EXPECT_TRUE(h.close_seen);
}

TEST(HttpSession, RequestsPerConnectionLimitClosesAfterTheLast) {
  SessionConfig c;
  c.limits.requests_per_connection_max = 2;
  Harness h(c);
  h.feed("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\nGET /3 HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(h.requests.size(), 2U);
  h.answer_all();
  EXPECT_EQ(count(h.written, "HTTP/1.1 200"), 2U);
  EXPECT_NE(h.written.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(h.close_seen);
}

TEST(HttpSession, PipelinedMaxHoldsInputUntilAnswered) {
  SessionConfig c;
  c.limits.pipelined_max = 1;
  Harness h(c);
  const std::string two = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n";
  EXPECT_EQ(h.feed(two), two.size());
  EXPECT_EQ(h.requests.size(), 1U);
  EXPECT_EQ(h.feed("GET /3 HTTP/1.1\r\n"), 0U);  // not taken while the first waits
  EXPECT_LT(h.s.buffered_bytes(), two.size());
  h.answer_all();  // answering /1 parses the buffered /2 at once (no feed may come)
  ASSERT_EQ(h.requests.size(), 1U);
  EXPECT_EQ(h.requests[0].request.target, "/2");
  EXPECT_EQ(h.feed("GET /3 HTTP/1.1\r\n"), 0U);
  h.answer_all();
  const std::string third = "GET /3 HTTP/1.1\r\nHost: h\r\n\r\n";
  EXPECT_EQ(h.feed(third), third.size());
  ASSERT_EQ(h.requests.size(), 1U);
  EXPECT_EQ(h.requests[0].request.target, "/3");
}

TEST(HttpSession, Rfc9110_15_5_9_SlowRequestGets408AndIdleConnectionCloses) {
  SessionConfig c;
  c.limits.request_timeout = 10s;
  c.limits.idle_timeout = 30s;
  Harness slow(c);
  slow.feed("GET / HTTP/1.1\r\nHo");
  ASSERT_TRUE(slow.s.poll_timeout());
  EXPECT_EQ(*slow.s.poll_timeout(), slow.now + 10s);
  slow.s.handle_timeout(slow.now + 10s);
  slow.drain();
  EXPECT_TRUE(slow.written.starts_with("HTTP/1.1 408 "));
  EXPECT_TRUE(slow.close_seen);
  Harness idle(c);
  EXPECT_EQ(*idle.s.poll_timeout(), idle.now + 30s);
  idle.s.handle_timeout(idle.now + 29s);
  idle.drain();
  EXPECT_FALSE(idle.close_seen);
  idle.s.handle_timeout(idle.now + 30s);
  idle.drain();
  EXPECT_TRUE(idle.close_seen);
  EXPECT_TRUE(idle.written.empty());
}

TEST(HttpSession, Rfc9110_15_5_9_RequestTimeoutBoundsEachBodyPieceOnceTheHeaderIsIn) {
  SessionConfig c;
  c.limits.request_timeout = 10s;
  Harness h(c);
  h.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab");
  h.now += 8s;
  h.feed("c");  // progress: the deadline moves
  EXPECT_EQ(*h.s.poll_timeout(), h.now + 10s);
  h.s.handle_timeout(h.now + 9s);
  h.drain();
  EXPECT_TRUE(h.written.empty());
  h.feed("d");
  ASSERT_EQ(h.requests.size(), 1U);
  EXPECT_EQ(h.requests[0].request.body, "abcd");
}

TEST(HttpSession, Rfc9110_10_1_1_ExpectContinueGets100BeforeTheBody) {
  Harness h;
  h.feed("PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  EXPECT_EQ(h.written, "HTTP/1.1 100 Continue\r\n\r\n");
  h.feed("abc");
  h.answer_all();
  EXPECT_EQ(h.written.find("HTTP/1.1 100 Continue", 1), std::string::npos);  // once
  EXPECT_NE(h.written.find("HTTP/1.1 200 OK"), std::string::npos);
  // Too large: 413 at once, no 100 (the client must not send the body).
  SessionConfig c;
  c.limits.body_bytes_max = 2;
  Harness big(c);
  big.feed("PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  EXPECT_TRUE(big.written.starts_with("HTTP/1.1 413 ")) << big.written;
  // HTTP/1.0 expectations are ignored (RFC 9110 §10.1.1).
  Harness old;
  old.feed("PUT /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  EXPECT_TRUE(old.written.empty());
}

TEST(HttpSession, NoTimeoutWhileTheApplicationAnswers) {
  Harness h;
  h.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_FALSE(h.s.poll_timeout().has_value());
}

TEST(HttpSession, GracefulShutdownAnswersWhatWasReadThenCloses) {
  Harness h;
  h.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  h.s.shutdown(h.now, false);
  h.drain();
  EXPECT_FALSE(h.close_seen);
  h.answer_all();
  EXPECT_NE(h.written.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(h.close_seen);
}

TEST(HttpSession, EofAfterARequestStillAnswersIt) {
  Harness h;
  h.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  h.eof();
  EXPECT_FALSE(h.close_seen);
  h.answer_all();
  EXPECT_TRUE(h.written.starts_with("HTTP/1.1 200"));
  EXPECT_TRUE(h.close_seen);
}

TEST(HttpSession, Rfc9110_9_3_2_HeadGetsNoBody) {
  Harness h;
  h.feed("HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n");
  h.answer_all();
  EXPECT_NE(h.written.find("Content-Length: 8\r\n"), std::string::npos);
  EXPECT_TRUE(h.written.ends_with("\r\n\r\n"));
}


// RFC 9112 §6.3 rule 8 (a body delimited by the close) for RFC 8620 §7.3 event streams.
TEST(HttpSession, StreamedBodyFollowsItsHeadAndEndsWithTheConnection) {
  Harness h;
  h.feed("GET /events HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(h.requests.size(), 2u);
  Response head;
  head.headers.push_back(Header{"Content-Type", "text/event-stream"});
  head.streamed = true;
  h.respond(h.requests[0].id, std::move(head));
  EXPECT_TRUE(h.s.streaming());
  EXPECT_EQ(h.written.find("Content-Length"), std::string::npos);
  EXPECT_NE(h.written.find("Connection: close\r\n"), std::string::npos);
  EXPECT_NE(h.written.find("text/event-stream"), std::string::npos);
  EXPECT_FALSE(h.close_seen);
  EXPECT_EQ(h.s.poll_timeout(), std::nullopt);  // the application paces the stream
  h.s.send_body("data: one\n\n", h.now);
  h.drain();
  EXPECT_TRUE(h.written.ends_with("\r\n\r\ndata: one\n\n"));
  h.respond(h.requests[1].id, text_response(200, "late\n"));  // the pipelined one is dropped
  EXPECT_EQ(h.written.find("late"), std::string::npos);
  h.s.end_body(h.now);
  h.drain();
  EXPECT_TRUE(h.close_seen);
}

// A client that sends "Connection: close" (Python's urllib always does) still gets the
// stream: the close is what ends the body anyway (RFC 9112 §6.3 rule 8, §9.6).
TEST(HttpSession, StreamedBodyFollowsARequestThatAskedForTheClose) {
  for (const char* request : {"GET /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                              "GET /events HTTP/1.0\r\n\r\n"}) {
    Harness h;
    h.feed(request);
    ASSERT_EQ(h.requests.size(), 1u) << request;
    Response head;
    head.headers.push_back(Header{"Content-Type", "text/event-stream"});
    head.streamed = true;
    h.respond(h.requests[0].id, std::move(head));
    EXPECT_TRUE(h.s.streaming()) << request;
    EXPECT_FALSE(h.close_seen) << request;
    h.s.send_body("data: one\n\n", h.now);
    h.drain();
    EXPECT_TRUE(h.written.ends_with("\r\n\r\ndata: one\n\n")) << h.written;
    h.s.end_body(h.now);
    h.drain();
    EXPECT_TRUE(h.close_seen);
  }
}

TEST(HttpSession, StreamedBodyEndsWhenTheReaderGoesAway) {
  Harness h;
  h.feed("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
  Response head;
  head.streamed = true;
  h.respond(h.requests[0].id, std::move(head));
  ASSERT_TRUE(h.s.streaming());
  h.eof();
  EXPECT_TRUE(h.close_seen);
  EXPECT_FALSE(h.s.streaming());
}

}  // namespace
}  // namespace mail::http
