// RapidCheck properties of smtp::ServerSession (STYLE.md habit 2): segmentation invariance
// (a transcript fed whole or split at random points, down to single bytes, gives identical
// bytes out, output kinds and events) and bounded memory (random input never makes
// buffered_bytes() exceed message_bytes_max + pipelined_input_bytes_max + one command line).
// Segmentation invariance holds with reject_pipelined_data off: on, what arrived before the
// 354 matters by design (RFC 2920 §3.1), and the property is that a client that waits for
// 354 sees no difference.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "proto/smtp/server_session.h"
#include "proto/smtp/session_harness.h"

namespace mail::smtp {
namespace {

using testing::Harness;

ServerConfig small_config() {
  ServerConfig c = testing::test_config();
  c.starttls_available = true;
  c.limits.message_bytes_max = 300;
  c.limits.command_line_bytes_max = 64;
  c.limits.command_line_bytes_tolerated = 200;
  c.limits.text_line_bytes_max = 100;
  c.limits.pipelined_input_bytes_max = 48;
  c.limits.recipients_max = 3;
  c.limits.hops_max = 2;
  c.limits.header_bytes_max = 120;
  c.limits.errors_max = 30;
  c.limits.errors_before_delay = 5;
  c.limits.junk_commands_max = 40;
  // The transcripts send content with DATA; see Rfc2920_3_1.ClientThatWaitsFor354IsUnaffected.
  c.reject_pipelined_data = false;
  return c;
}

std::size_t memory_bound(const ServerConfig& c) {
  return c.limits.message_bytes_max + c.limits.pipelined_input_bytes_max + c.limits.command_line_bytes_max;
}

std::optional<Reply> decide(const Event& e) {
  // Deterministic refusals so the refusal paths are part of the property.
  if (auto* r = std::get_if<ev::RcptTo>(&e); r && r->path.mailbox && r->path.mailbox->local_part == "bad")
    return Reply::make(550, {5, 1, 1}, "User unknown");
  if (auto* m = std::get_if<ev::Message>(&e); m && m->content.find("spam") != std::string::npos)
    return Reply::make(554, {5, 7, 1}, "Rejected");
  return testing::default_verdict(e);
}

std::string describe(const Event& e) {
  if (auto* h = std::get_if<ev::Helo>(&e)) return "H:" + h->name + (h->extended ? "+" : "-");
  if (auto* m = std::get_if<ev::MailFrom>(&e)) return "M:" + m->path.to_string() + std::to_string(m->id);
  if (auto* r = std::get_if<ev::RcptTo>(&e)) return "R:" + r->path.to_string() + std::to_string(r->id);
  if (auto* g = std::get_if<ev::Message>(&e))
    return "G:" + g->content + "|" + g->envelope.mail_from.to_string() + "|" +
           std::to_string(g->envelope.recipients.size()) + "|" + std::to_string(g->id);
  if (std::holds_alternative<ev::TransactionReset>(e)) return "X";
  if (auto* j = std::get_if<ev::Rejected>(&e))
    return "J:" + j->stage + std::to_string(j->reply.code) + "|" + j->argument + "|" + j->mail_from + "|" + j->helo;
  return "C:" + std::get<ev::Closed>(e).reason;
}

struct Outcome {
  std::string out;
  std::vector<std::string> kinds;
  std::vector<std::string> events;
  State state = State::greeting;
  std::vector<std::string> history;
  bool operator==(const Outcome&) const = default;
};

Outcome outcome(const Harness& h) {
  Outcome o;
  o.out = h.out;
  o.kinds = h.kinds;
  for (const auto& e : h.events) o.events.push_back(describe(e));
  o.state = h.session.state();
  o.history.assign(h.session.history().begin(), h.session.history().end());
  return o;
}

rc::Gen<std::string> block() {
  return rc::gen::oneOf(
      rc::gen::element<std::string>(
          "EHLO a\r\n", "HELO b\r\n", "MAIL FROM:<a@b.example>\r\n", "MAIL FROM:<a@b.example> BODY=BINARYMIME\r\n",
          "MAIL FROM:<a@b.example> SIZE=50\r\n", "RCPT TO:<c@mx.test>\r\n", "RCPT TO:<bad@mx.test>\r\n", "DATA\r\n",
          "hello\r\n", "spam\r\n", "..dot\r\n", ".\r\n", "\r\n.\r\n", "\n.\n", "\r", "\n", "BDAT 5\r\n",
          "BDAT 3 LAST\r\n", "BDAT 0 LAST\r\n", "BDAT x\r\n", "12345", "RSET\r\n", "NOOP\r\n", "VRFY x\r\n",
          "QUIT\r\n", "STARTTLS\r\n", "GET / HTTP/1.1\r\n", "Received: x\r\n", std::string(70, 'L'),
          std::string(120, 'D') + "\r\n", std::string("\0", 1)),
      rc::gen::container<std::string>(rc::gen::element('a', ' ', '\r', '\n', '.', ':', '<', '>', '@')));
}

rc::Gen<std::string> transcript() {
  return rc::gen::map(rc::gen::container<std::vector<std::string>>(block()), [](const std::vector<std::string>& bs) {
    std::string s;
    for (const auto& b : bs) s += b;
    return s;
  });
}

std::vector<std::string> split(const std::string& s, std::vector<std::size_t> cuts) {
  std::sort(cuts.begin(), cuts.end());
  std::vector<std::string> pieces;
  std::size_t from = 0;
  for (std::size_t c : cuts) {
    c = std::min(c, s.size());
    pieces.push_back(s.substr(from, c - from));
    from = c;
  }
  pieces.push_back(s.substr(from));
  return pieces;
}

RC_GTEST_PROP(Rfc5321_Segmentation, SplitInputGivesIdenticalOutput, ()) {
  const std::string input = *transcript();
  const auto cuts = *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, input.size() + 1));
  Harness whole(small_config());
  whole.decide = decide;
  whole.feed(input);
  Harness pieces(small_config());
  pieces.decide = decide;
  for (const auto& p : split(input, cuts)) {
    const std::string rest = pieces.feed(p);
    RC_ASSERT(rest.empty());
  }
  RC_ASSERT(outcome(whole) == outcome(pieces));
}

RC_GTEST_PROP(Rfc5321_Segmentation, ByteByByteGivesIdenticalOutput, ()) {
  const std::string input = *transcript();
  Harness whole(small_config());
  whole.decide = decide;
  whole.feed(input);
  Harness bytes(small_config());
  bytes.decide = decide;
  for (char c : input) bytes.feed(std::string(1, c));
  RC_ASSERT(outcome(whole) == outcome(bytes));
}

// RFC 2920 §3.1 with reject_pipelined_data on: a client that waits for 354 sends nothing
// after a DATA line until it reads the reply, so each of its writes ends at one (and is
// split anywhere else). It must get exactly what the check-free session gives the same
// transcript fed whole.
RC_GTEST_PROP(Rfc2920_3_1, ClientThatWaitsFor354IsUnaffected, ()) {
  const std::string input = *transcript();
  auto cuts = *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, input.size() + 1));
  constexpr std::string_view kData = "DATA\r\n";  // the only way a DATA line ends here
  for (std::size_t at = input.find(kData); at != std::string::npos; at = input.find(kData, at + 1))
    cuts.push_back(at + kData.size());
  Harness whole(small_config());
  whole.decide = decide;
  whole.feed(input);
  ServerConfig strict = small_config();
  strict.reject_pipelined_data = true;
  Harness waits(strict);
  waits.decide = decide;
  for (const auto& p : split(input, cuts)) {
    const std::string rest = waits.feed(p);
    RC_ASSERT(rest.empty());
  }
  RC_ASSERT(outcome(whole) == outcome(waits));
}

RC_GTEST_PROP(Rfc5321_Limits, MemoryStaysBounded, ()) {
  ServerConfig config = small_config();
  config.reject_pipelined_data = *rc::gen::arbitrary<bool>();
  const bool hold_verdicts = *rc::gen::arbitrary<bool>();
  const auto pieces = *rc::gen::container<std::vector<std::string>>(
      rc::gen::oneOf(transcript(), rc::gen::arbitrary<std::string>(),
                     rc::gen::map(rc::gen::inRange<std::size_t>(0, 5000), [](std::size_t n) { return std::string(n, 'z'); })));
  Harness h(config);
  if (hold_verdicts) {
    // Never answer: the session must stop taking input at its bound, not grow.
    h.decide = [](const Event&) -> std::optional<Reply> { return std::nullopt; };
  }
  for (const auto& p : pieces) {
    h.feed(p);
    RC_ASSERT(h.session.buffered_bytes() <= memory_bound(config));
  }
  h.session.handle_timeout(h.now + 1h);
  h.drain();
  RC_ASSERT(h.session.buffered_bytes() <= memory_bound(config));
}

TEST(Rfc5321_Limits, DefaultConfigBoundHoldsForLargeInput) {
  ServerConfig c = testing::test_config();
  Harness h(c);
  h.decide = [](const Event&) -> std::optional<Reply> { return std::nullopt; };
  h.ehlo();
  h.feed("MAIL FROM:<a@b.example>\r\n");
  const std::string big(1 << 20, 'y');
  for (int i = 0; i < 4; ++i) h.feed(big);
  EXPECT_LE(h.session.buffered_bytes(), memory_bound(c));
  EXPECT_LE(h.session.buffered_bytes(), c.limits.pipelined_input_bytes_max);
}

}  // namespace
}  // namespace mail::smtp
