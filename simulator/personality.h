// Remote-MX personalities: per-host misbehaviour of a simulated mail server, as the relay
// meets it on the Internet — greylisting (450 4.7.1 at RCPT for the first attempt of a
// (client address, sender, recipient) triple), a 4xx/5xx reply at any stage, slow or
// silent stages, a drop after the final dot (stored, but the 250 never arrives: the RFC 1047
// duplicate window), and garbled replies. This file holds the configuration, its parsing
// from "450 4.7.1 text" strings, and the per-host state the World keeps across reboots
// (greylist triples, the drops, counters, the decision streams). Where each part acts and
// why: personality_net.h (the network level) and personality_handler.h (stored state).
// Must not: draw from any stream but its own ("personality" forks), so a host without a
// personality runs exactly as before; read a clock (times are passed in).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/prng.h"
#include "core/result.h"
#include "core/time.h"
#include "proto/smtp/reply.h"

namespace mail::sim {

// The stages of an SMTP server conversation a personality can change (RFC 5321 §3.3, §4.3.2).
enum class Stage : std::uint8_t {
  greeting,     // the 220 (a refusal is followed by a close, RFC 5321 §3.1)
  ehlo,         // EHLO only: HELO is the client's fallback (§4.1.4) and passes
  mail,         // MAIL FROM
  rcpt,         // RCPT TO
  data,         // DATA, the 354 stage (BDAT has no such stage: RFC 3030 §2)
  end_of_data,  // the reply after "." or BDAT ... LAST
};
inline constexpr std::size_t kStageCount = 6;
std::string_view to_string(Stage s) noexcept;
std::optional<Stage> stage_from_string(std::string_view name) noexcept;

enum class Garble : std::uint8_t {
  corrupt,    // the reply code made invalid and some text bytes flipped to 8-bit/control bytes
  split,      // the same reply, written in odd pieces (mid-code, between CR and LF)
  endless,    // an endless multi-line reply (continuation lines until the client gives up)
  long_line,  // the reply's first line padded far beyond 512 octets (RFC 5321 §4.5.3.1.5)
};
inline constexpr std::size_t kGarbleCount = 4;
std::string_view to_string(Garble g) noexcept;
std::optional<Garble> garble_from_string(std::string_view name) noexcept;

struct StagePersonality {
  std::optional<smtp::Reply> reply;  // sent instead of the server's reply (4xx/5xx)
  std::uint32_t reply_ppm = 1'000'000;
  Duration delay_min{0}, delay_max{0};  // "slow": a delay before the reply, drawn in [min, max]
  std::uint32_t delay_ppm = 0;
  std::uint32_t silent_ppm = 0;  // no reply, ever: the connection stays open
  std::uint32_t garble_ppm = 0;
  std::vector<Garble> garble{Garble::corrupt, Garble::split, Garble::endless, Garble::long_line};
  bool active() const noexcept {
    return (reply.has_value() && reply_ppm > 0) || delay_ppm > 0 || silent_ppm > 0 || garble_ppm > 0;
  }
};

struct Personality {
  bool greylist = false;
  Duration greylist_delay = 5min;  // a retry from this long after the first attempt passes
  std::uint32_t drop_after_dot_ppm = 0;
  // Keep offering STARTTLS. Off by default: the network-level stages cannot see inside TLS,
  // so a host with a personality leaves STARTTLS out of its EHLO reply unless told so.
  bool starttls = false;
  std::array<StagePersonality, kStageCount> stages{};

  StagePersonality& at(Stage s) noexcept { return stages[static_cast<std::size_t>(s)]; }
  const StagePersonality& at(Stage s) const noexcept { return stages[static_cast<std::size_t>(s)]; }
};

// "450 4.7.1 Try again later": a 4xx or 5xx code, an RFC 3463 enhanced code of the same
// class, then text (may be empty). Errc::invalid with the reason otherwise.
Result<smtp::Reply> parse_personality_reply(std::string_view text);

// A message stored by a personality host whose 250 never reached the client (RFC 1047):
// the client will send it again, so a checker must explain that duplicate by this record.
struct DroppedAfterDot {
  Instant at{};          // world time
  std::string host;      // the server host
  std::string client;    // the client's address
  std::string queue_id;  // from the server's "250 ... queued as <id>"
  std::string sim_id;    // the content's X-Sim-Id field, when it has one
  std::string message_id;  // the content's Message-ID field, when it has one
};

struct PersonalityCounters {
  std::uint64_t replies = 0;     // replies replaced by a configured code
  std::uint64_t greylisted = 0;  // RCPTs refused by the greylist
  std::uint64_t greylist_passed = 0;
  std::uint64_t delayed = 0;
  std::uint64_t silenced = 0;
  std::uint64_t garbled = 0;
  std::uint64_t dropped = 0;
};

// What the World keeps per host with a personality: it survives crashes (a greylist
// database does), and is replaced by the next set_personality.
class PersonalityState {
 public:
  // `net` decides the network stages, `delivery` the end-of-data replies of the handler:
  // two streams, so the order in which the two levels ask never couples them.
  PersonalityState(Personality config, Prng net, Prng delivery)
      : config_(std::move(config)), net_(net), delivery_(delivery) {}

  const Personality& config() const noexcept { return config_; }
  Prng& net_rng() noexcept { return net_; }
  Prng& delivery_rng() noexcept { return delivery_; }

  // RFC 6647 §2 (greylisting): true when this triple must be refused now. The first attempt
  // records the triple; an attempt from greylist_delay after it on passes.
  bool greylisted(const std::string& client, const std::string& sender, const std::string& recipient, Instant now);

  std::vector<DroppedAfterDot>& drops() noexcept { return drops_; }
  const std::vector<DroppedAfterDot>& drops() const noexcept { return drops_; }
  PersonalityCounters& counters() noexcept { return counters_; }
  const PersonalityCounters& counters() const noexcept { return counters_; }

 private:
  Personality config_;
  Prng net_;
  Prng delivery_;
  std::map<std::tuple<std::string, std::string, std::string>, Instant> first_seen_;
  std::vector<DroppedAfterDot> drops_;
  PersonalityCounters counters_;
};

}  // namespace mail::sim
