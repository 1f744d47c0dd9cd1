// Test helpers for imap::ServerSession: a cheap deterministic SASL Crypto (FNV-1a "hashes":
// the tests exercise the session, not cryptography, and stay free of OpenSSL), a
// one-user CredentialStore ("user" / "pencil") and a Harness that drains outputs and events
// into a readable transcript (with login(): LOGIN as "user", accepted), and has(). Tests
// only; no I/O, no clock (time is a member).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/crypto.h"
#include "core/hash.h"
#include "proto/imap/server_session.h"
#include "proto/sasl/credentials.h"

namespace mail::imap::testing {

struct FakeCrypto final : Crypto {
  static Sha256Digest fill(std::string_view a, std::string_view b) {
    Sha256Digest d{};
    std::uint64_t h = fnv1a64(b, fnv1a64(a, 1));
    for (auto& x : d) {
      h = h * 6364136223846793005ull + 1442695040888963407ull;
      x = static_cast<std::uint8_t>(h >> 56);
    }
    return d;
  }
  Sha256Digest sha256(std::string_view d) override { return fill("h", d); }
  Sha256Digest hmac_sha256(std::string_view k, std::string_view d) override { return fill(k, d); }
  Sha256Digest pbkdf2_sha256(std::string_view p, std::string_view s, std::uint32_t) override { return fill(p, s); }
  bool constant_time_equal(std::string_view a, std::string_view b) override { return a == b; }
  void random_bytes(std::span<std::uint8_t> out) override {
    for (auto& b : out) b = static_cast<std::uint8_t>(++counter_ % 90);
  }

 private:
  std::uint32_t counter_ = 0;
};

struct FakeStore final : sasl::CredentialStore {
  std::optional<sasl::ScramCredentials> lookup(std::string_view u) const override {
    if (u != "user") return std::nullopt;
    FakeCrypto c;
    return sasl::derive_scram_credentials(c, "pencil", "salt", 4096);
  }
};

inline bool has(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

// Owns the session and drains it after every call, as the driving contract requires.
struct Harness {
  explicit Harness(SessionConfig config, Instant start = Instant{}) : now(start), s(std::move(config), start) {
    drain();
  }

  // Feeds `in` once; returns the bytes consumed.
  std::size_t feed(std::string_view in) {
    const std::size_t n = s.feed(in, now);
    drain();
    return n;
  }
  // Output text so far (Send bytes, and "<StartTls>" / "<StartCompress>" / "<Close>"
  // markers), then cleared.
  std::string take() {
    std::string t = std::move(out);
    out.clear();
    return t;
  }
  // The next event, which must exist.
  Event next_event() {
    if (events.empty()) return Event{ev::Idle{0}};  // an id of 0 makes the caller's check fail
    Event e = std::move(events.front());
    events.erase(events.begin());
    return e;
  }
  std::uint64_t next_command_id() {
    Event e = next_event();
    if (auto* c = std::get_if<ev::Command>(&e)) return c->id;
    return 0;
  }
  void complete(std::uint64_t id, Response r) {
    s.complete(id, std::move(r), now);
    drain();
  }
  void complete_ok(std::uint64_t id, std::string text = "done", std::optional<State> next = std::nullopt) {
    Response r;
    r.text = std::move(text);
    r.next_state = next;
    complete(id, std::move(r));
  }
  // Logs in as "user" with LOGIN (RFC 9051 §6.2.3) and accepts it; leaves the output
  // empty. False if any step went otherwise (no Auth event, tagged reply not OK
  // [CAPABILITY ...], not authenticated after it).
  bool login() {
    take();
    feed("L1 LOGIN user pencil\r\n");
    const Event e = next_event();
    const auto* a = std::get_if<ev::Auth>(&e);
    if (a == nullptr || !a->success) return false;
    s.complete_auth(a->id, true, now);
    drain();
    return take().starts_with("L1 OK [CAPABILITY ") && s.state() == State::authenticated;
  }
  void drain() {
    while (auto o = s.poll_output()) {
      if (auto* send = std::get_if<proto::out::Send>(&*o)) {
        if (closes > 0) bytes_after_close += send->bytes.size();
        out += send->bytes;
      } else if (std::holds_alternative<proto::out::StartTls>(*o)) {
        out += "<StartTls>";
      } else if (std::holds_alternative<proto::out::StartCompress>(*o)) {
        out += "<StartCompress>";
      } else if (std::holds_alternative<proto::out::Close>(*o)) {
        ++closes;
        out += "<Close>";
      }
    }
    while (auto e = s.poll_event()) events.push_back(std::move(*e));
  }

  Instant now;
  ServerSession s;
  std::string out;
  std::vector<Event> events;
  int closes = 0;
  std::size_t bytes_after_close = 0;
};

}  // namespace mail::imap::testing
