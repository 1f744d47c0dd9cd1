// RapidCheck property for imap::ServerSession (STYLE habit 2): a whole session — CAPABILITY,
// LOGIN with a synchronising and a LITERAL+ literal, SELECT, IDLE/DONE, APPEND with a
// literal, FETCH, a bad command, LOGOUT — fed in arbitrary chunks gives exactly the same
// output bytes and events as fed at once. A tiny fake application answers every event at
// once with a fixed response.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "proto/imap/session_harness.h"

namespace mail::imap {
namespace {

const std::string kScript =
    "a CAPABILITY\r\n"
    "b LOGIN {4}\r\nuser {6+}\r\npencil\r\n"
    "c NOOP\r\n"
    "d SELECT INBOX\r\n"
    "e IDLE\r\nDONE\r\n"
    "f APPEND INBOX (\\Seen) {7}\r\nhi\r\nyou\r\n"
    "g UID FETCH 1:* (FLAGS)\r\n"
    "h IDLE\r\nnope\r\n"
    "i BOGUS\r\n"
    "j ID NIL\r\n"
    "k LOGOUT\r\n"
    "l NOOP\r\n";

// Runs kScript split at `cuts`; returns the transcript of outputs and events.
std::string run(std::vector<std::size_t> cuts) {
  testing::FakeCrypto crypto;
  testing::FakeStore store;
  SessionConfig config;
  config.crypto = &crypto;
  config.credentials = &store;
  config.plaintext_without_tls = true;
  config.capabilities = {"UIDPLUS"};
  testing::Harness h(std::move(config));
  std::string log;
  // The fake application: every event is answered at once.
  auto answer = [&] {
    while (!h.events.empty()) {
      Event e = h.next_event();
      if (auto* c = std::get_if<ev::Command>(&e)) {
        log += "[cmd " + c->command.tag + "]";
        Response r;
        r.untagged = "* 1 EXISTS\r\n";
        r.text = "done";
        if (std::holds_alternative<Select>(c->command.body)) r.next_state = State::selected;
        h.complete(c->id, r);
      } else if (auto* a = std::get_if<ev::Auth>(&e)) {
        log += "[auth " + a->authcid + (a->success ? " ok]" : " no]");
        h.s.complete_auth(a->id, a->success, h.now);
        h.drain();
      } else if (auto* i = std::get_if<ev::Idle>(&e)) {
        log += "[idle]";
        h.s.send_untagged("* 2 EXISTS\r\n");
        h.drain();
        (void)i;
      } else if (auto* d = std::get_if<ev::IdleDone>(&e)) {
        log += d->done ? "[done]" : "[not done]";
        Response r;
        r.status = d->done ? Response::Status::ok : Response::Status::bad;
        r.text = "idle over";
        h.complete(d->id, r);
      }
    }
  };
  cuts.push_back(0);
  cuts.push_back(kScript.size());
  std::sort(cuts.begin(), cuts.end());
  std::string pending;
  for (std::size_t c = 0; c + 1 < cuts.size(); ++c) {
    pending.append(kScript, cuts[c], cuts[c + 1] - cuts[c]);
    // Bounded: every pass either consumes bytes or answers an event.
    for (int guard = 0; guard < 1000 && !pending.empty(); ++guard) {
      const std::size_t n = h.feed(pending);
      const bool had_events = !h.events.empty();
      answer();
      pending.erase(0, n);
      if (n == 0 && !had_events) break;
    }
  }
  h.s.feed_eof(h.now);
  h.drain();
  return h.take() + "|" + log + "|";
}

TEST(ImapSessionProperty, WholeScriptFedAtOnceIsSane) {
  const std::string t = run({});
  EXPECT_NE(t.find("b OK [CAPABILITY"), std::string::npos) << t;
  EXPECT_NE(t.find("+ idling\r\n* 2 EXISTS\r\ne OK idle over\r\n"), std::string::npos) << t;
  EXPECT_NE(t.find("h BAD idle over\r\n"), std::string::npos) << t;
  EXPECT_NE(t.find("k OK LOGOUT completed\r\n<Close>|"), std::string::npos) << t;
  EXPECT_EQ(t.find("\nl "), std::string::npos) << t;
  EXPECT_NE(t.find("[auth user ok][cmd c][cmd d][idle][done][cmd f][cmd g][idle][not done]|"),
            std::string::npos)
      << t;
}

RC_GTEST_PROP(ImapSessionProperty, SegmentationInvariantSession, ()) {
  const auto cuts = *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, kScript.size() + 1));
  RC_ASSERT(run(cuts) == run({}));
}

TEST(ImapSessionProperty, ByteAtATimeSession) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < kScript.size(); ++i) cuts.push_back(i);
  EXPECT_EQ(run(cuts), run({}));
}

}  // namespace
}  // namespace mail::imap
