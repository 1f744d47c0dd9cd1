// Test harness for smtp::ServerSession (tests only): feeds a transcript, drains outputs and
// events after every call as the driving contract requires, answers verdicts (250 unless a
// test says otherwise) and records the bytes sent, the events and the output kinds.
// No I/O: time is a variable the test moves.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/assert.h"
#include "proto/smtp/server_session.h"

namespace mail::smtp::testing {

inline Instant t0() { return Instant(Duration(1'000'000'000)); }

inline ServerConfig test_config() {
  ServerConfig c;
  c.hostname = "mx.test";
  return c;
}

// The default verdicts: accept everything, in Postfix's words.
inline Reply default_verdict(const Event& e) {
  if (std::holds_alternative<ev::MailFrom>(e)) return Reply::make(250, {2, 1, 0}, "Ok");
  if (std::holds_alternative<ev::RcptTo>(e)) return Reply::make(250, {2, 1, 5}, "Ok");
  if (const auto* a = std::get_if<ev::Auth>(&e)) {
    return a->success ? Reply::make(235, {2, 7, 0}, "Authentication successful")
                      : Reply::make(535, {5, 7, 8}, "Authentication credentials invalid");
  }
  return Reply::make(250, {2, 0, 0}, "Ok: queued");
}

struct Harness {
  using Decide = std::function<std::optional<Reply>(const Event&)>;  // nullopt: leave pending

  explicit Harness(ServerConfig config = test_config(), SessionInfo info = {}, Instant start = t0())
      : now(start), session(std::move(config), with_address(std::move(info)), start) {
    drain();
  }

  Instant now;
  ServerSession session;
  Decide decide = [](const Event& e) { return std::optional<Reply>(default_verdict(e)); };
  std::string out;                  // every byte sent, in order
  std::vector<Event> events;        // every event, in order
  std::vector<std::string> kinds;   // "send", "pause", "starttls", "close"
  std::vector<Instant> pauses;
  std::vector<EventId> unanswered;  // verdicts the test must give with answer()

  static SessionInfo with_address(SessionInfo info) {
    if (info.remote_address.empty()) info.remote_address = "192.0.2.7";
    return info;
  }

  void drain() {
    for (;;) {
      bool progress = false;
      while (auto o = session.poll_output()) {
        progress = true;
        if (auto* s = std::get_if<out::Send>(&*o)) {
          out += s->bytes;
          kinds.emplace_back("send");
        } else if (auto* p = std::get_if<out::Pause>(&*o)) {
          pauses.push_back(p->until);
          kinds.emplace_back("pause");
        } else if (std::holds_alternative<out::StartTls>(*o)) {
          kinds.emplace_back("starttls");
        } else {
          kinds.emplace_back("close");
        }
      }
      while (auto e = session.poll_event()) {
        progress = true;
        events.push_back(*e);
        const EventId id = event_id(*e);
        if (id == 0) continue;
        if (auto verdict = decide(*e)) {
          session.complete(id, std::move(*verdict), now);
        } else {
          unanswered.push_back(id);
        }
      }
      if (!progress) break;
    }
  }

  static EventId event_id(const Event& e) {
    if (auto* m = std::get_if<ev::MailFrom>(&e)) return m->id;
    if (auto* r = std::get_if<ev::RcptTo>(&e)) return r->id;
    if (auto* g = std::get_if<ev::Message>(&e)) return g->id;
    if (auto* a = std::get_if<ev::Auth>(&e)) return a->id;
    return 0;
  }

  // Feeds all of `bytes` in one call per piece, re-feeding what the session did not take
  // after verdicts; returns the bytes left over when the session stays blocked.
  std::string feed(std::string_view bytes) {
    while (!bytes.empty()) {
      const std::size_t n = session.feed(bytes, now);
      MAIL_ASSERT(n <= bytes.size());
      drain();
      bytes.remove_prefix(n);
      if (n == 0) break;  // blocked on a verdict the test holds
    }
    return std::string(bytes);
  }

  // Feeds `bytes` as a client that waits for every 354 (RFC 2920 §3.1): one call per group,
  // each ending at a "DATA\r\n" line (a split inside content changes nothing). For tests
  // about content rather than about reject_pipelined_data.
  std::string feed_sync(std::string_view bytes) {
    constexpr std::string_view kData = "DATA\r\n";
    for (;;) {
      const std::size_t at = bytes.find(kData);
      if (at == std::string_view::npos) return feed(bytes);
      const std::size_t group = at + kData.size();
      std::string rest = feed(bytes.substr(0, group));
      if (!rest.empty()) return rest + std::string(bytes.substr(group));
      bytes.remove_prefix(group);
    }
  }

  void feed_pieces(const std::vector<std::string>& pieces) {
    std::string rest;
    for (const auto& p : pieces) rest = feed(rest + p);
    MAIL_ASSERT(rest.empty());
  }

  void answer(Reply verdict) {
    MAIL_ASSERT(!unanswered.empty());
    const EventId id = unanswered.front();
    unanswered.erase(unanswered.begin());
    session.complete(id, std::move(verdict), now);
    drain();
  }

  std::string take() {
    std::string r = std::move(out);
    out.clear();
    return r;
  }

  template <class E>
  std::vector<E> all() const {
    std::vector<E> r;
    for (const auto& e : events)
      if (auto* x = std::get_if<E>(&e)) r.push_back(*x);
    return r;
  }
  std::size_t messages() const { return all<ev::Message>().size(); }
  bool closed() const { return session.closed(); }

  // "EHLO x" etc. with the session's greeting already taken.
  void ehlo(std::string_view name = "client.test") {
    feed("EHLO " + std::string(name) + "\r\n");
    take();
  }
};

// The reply codes in `wire`, one per reply (the last line of multi-line replies).
inline std::vector<int> codes(std::string_view wire) {
  std::vector<int> r;
  std::size_t pos = 0;
  while (pos < wire.size()) {
    const std::size_t eol = wire.find("\r\n", pos);
    if (eol == std::string_view::npos) break;
    const std::string_view line = wire.substr(pos, eol - pos);
    if (line.size() >= 3 && (line.size() == 3 || line[3] == ' ')) r.push_back(std::stoi(std::string(line.substr(0, 3))));
    pos = eol + 2;
  }
  return r;
}

}  // namespace mail::smtp::testing
