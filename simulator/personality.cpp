// Personality configuration and per-host state (see personality.h), and the World's
// personality registry (World::set_personality & co. live here, not in world.cpp, so the
// scheduler does not depend on SMTP types).
#include "personality.h"

#include "core/assert.h"
#include "world.h"

namespace mail::sim {

namespace {
constexpr std::array<std::string_view, kStageCount> kStageNames{"greeting", "ehlo", "mail", "rcpt", "data", "end_of_data"};
constexpr std::array<std::string_view, kGarbleCount> kGarbleNames{"corrupt", "split", "endless", "long_line"};

bool digits(std::string_view s) {
  if (s.empty() || s.size() > 3) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}
}  // namespace

std::string_view to_string(Stage s) noexcept { return kStageNames[static_cast<std::size_t>(s)]; }

std::optional<Stage> stage_from_string(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kStageCount; ++i) {
    if (kStageNames[i] == name) return static_cast<Stage>(i);
  }
  return std::nullopt;
}

std::string_view to_string(Garble g) noexcept { return kGarbleNames[static_cast<std::size_t>(g)]; }

std::optional<Garble> garble_from_string(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kGarbleCount; ++i) {
    if (kGarbleNames[i] == name) return static_cast<Garble>(i);
  }
  return std::nullopt;
}

Result<smtp::Reply> parse_personality_reply(std::string_view text) {
  const std::string usage = "must be \"<4xx|5xx> <x.y.z> text\", e.g. \"450 4.7.1 Try again later\"";
  if (text.find_first_of("\r\n") != std::string_view::npos) return fail(Errc::invalid, usage + " (one line)");
  if (text.size() < 3 || !digits(text.substr(0, 3))) return fail(Errc::invalid, usage);
  const auto code = static_cast<std::uint16_t>((text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0'));
  // A personality refuses: RFC 5321 §4.2.1 transient (4yz) or permanent (5yz) negative.
  if (code < 400 || code > 599) return fail(Errc::invalid, usage + " (a 4xx or 5xx code)");
  std::string_view rest = text.substr(3);
  if (!rest.empty() && rest[0] != ' ') return fail(Errc::invalid, usage);
  if (!rest.empty()) rest.remove_prefix(1);
  const std::size_t sp = rest.find(' ');
  const std::string_view enh = rest.substr(0, sp);
  std::string_view tail = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
  // RFC 3463 §2: class "." subject "." detail, the class equal to the reply's first digit.
  const std::size_t d1 = enh.find('.');
  const std::size_t d2 = d1 == std::string_view::npos ? d1 : enh.find('.', d1 + 1);
  if (d2 == std::string_view::npos || !digits(enh.substr(0, d1)) || !digits(enh.substr(d1 + 1, d2 - d1 - 1)) ||
      !digits(enh.substr(d2 + 1))) {
    return fail(Errc::invalid, usage + " (an enhanced code x.y.z, RFC 3463)");
  }
  smtp::EnhancedCode e;
  e.cls = static_cast<std::uint8_t>(std::stoi(std::string(enh.substr(0, d1))));
  e.subject = static_cast<std::uint16_t>(std::stoi(std::string(enh.substr(d1 + 1, d2 - d1 - 1))));
  e.detail = static_cast<std::uint16_t>(std::stoi(std::string(enh.substr(d2 + 1))));
  if (e.cls != code / 100) return fail(Errc::invalid, usage + " (the enhanced class must match the code, RFC 3463 §2)");
  if (tail.size() > 400) return fail(Errc::invalid, usage + " (text of at most 400 octets)");
  for (char c : tail) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
      return fail(Errc::invalid, usage + " (printable ASCII text)");
    }
  }
  return smtp::Reply::make(code, e, std::string(tail));
}

bool PersonalityState::greylisted(const std::string& client, const std::string& sender, const std::string& recipient,
                                  Instant now) {
  MAIL_ASSERT(config_.greylist);
  auto key = std::make_tuple(client, sender, recipient);
  auto it = first_seen_.find(key);
  if (it == first_seen_.end()) {
    first_seen_.emplace(std::move(key), now);
    ++counters_.greylisted;
    return true;
  }
  if (now - it->second >= config_.greylist_delay) {
    ++counters_.greylist_passed;
    return false;
  }
  ++counters_.greylisted;
  return true;
}

// ---------------------------------------------------------------------------- World

void World::set_personality(HostId id, const Personality& p) {
  MAIL_ASSERT(id < hosts_.size());
  const std::string name(host_name(id));
  // Forked by label from the world seed only when a personality is set: hosts without one
  // draw exactly what they drew before.
  Prng base = fork("personality").fork(name).fork("set-" + std::to_string(personality_sets_++));
  // The drops of a replaced personality stay explainable (dropped_after_dot()).
  if (auto old = personalities_.find(id); old != personalities_.end()) retired_personalities_.emplace_back(id, old->second);
  personalities_[id] = std::make_shared<PersonalityState>(p, base.fork("net"), base.fork("delivery"));
  record(id, "personality.set", "greylist=" + std::to_string(p.greylist ? 1 : 0) +
                                    " drop_after_dot_ppm=" + std::to_string(p.drop_after_dot_ppm));
}

void World::clear_personality(HostId id) {
  MAIL_ASSERT(id < hosts_.size());
  auto it = personalities_.find(id);
  if (it == personalities_.end()) return;
  // Its drops happened: the checkers must still be able to explain their duplicates.
  retired_personalities_.emplace_back(id, it->second);
  personalities_.erase(it);
  record(id, "personality.clear", "");
}

std::shared_ptr<PersonalityState> World::personality(HostId id) const {
  auto it = personalities_.find(id);
  return it == personalities_.end() ? nullptr : it->second;
}

std::vector<DroppedAfterDot> World::dropped_after_dot() const {
  // Host order, then time order: a host's cleared or replaced personalities came first.
  std::map<HostId, std::vector<DroppedAfterDot>> by_host;
  for (const auto& [id, state] : retired_personalities_) {
    by_host[id].insert(by_host[id].end(), state->drops().begin(), state->drops().end());
  }
  for (const auto& [id, state] : personalities_) {
    by_host[id].insert(by_host[id].end(), state->drops().begin(), state->drops().end());
  }
  std::vector<DroppedAfterDot> out;
  for (auto& [id, drops] : by_host) out.insert(out.end(), drops.begin(), drops.end());
  return out;
}

}  // namespace mail::sim
