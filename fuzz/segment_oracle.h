// Segmentation invariance, the fuzz-side oracle for whole server sessions (SMTP, IMAP,
// POP3): the same client bytes fed in one piece and in pieces chosen by the fuzz input must
// give byte-identical server output, the same events (with what they carry: envelopes,
// message content, commands) and the same end state. Both runs see the same Instant at
// every call (time never depends on the number of pieces), and the application answers
// each event the same way (a pure function of the event). Mismatch: abort() with the first
// differing offset, so the input file is the reproducer.
// Input layout (after the target's own mode byte): one byte k (k % 32 gap bytes follow),
// then k gap bytes, then the client bytes. Piece i of the split run is gap[i % k] + 1 bytes
// long; k == 0 means one byte per piece. The hold bit of `hold` answers events only when
// feed() stops taking input (or at the end) instead of at once.
// Deliberately not here: STARTTLS/COMPRESS (the bytes after them change meaning with the
// split, by design: RFC 3207 §4.2) and SMTP's reject_pipelined_data (it judges what arrived
// together, by design) — the targets switch those off. Fuzz targets only.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/assert.h"
#include "core/time.h"
#include "proto/session_output.h"

namespace mail::fuzz {

struct SegmentInput {
  std::vector<std::size_t> pieces;  // lengths of the split run's pieces (cycled)
  std::string_view client;          // the client's bytes
};

// Parses the layout above from `in` (the target's mode byte already taken off).
inline SegmentInput segment_input(std::string_view in) {
  SegmentInput out;
  if (in.empty()) return out;
  const std::size_t k = static_cast<std::uint8_t>(in[0]) % 32;
  in.remove_prefix(1);
  const std::size_t gaps = k < in.size() ? k : in.size();
  for (std::size_t i = 0; i < gaps; ++i) out.pieces.push_back(static_cast<std::uint8_t>(in[i]) + std::size_t{1});
  if (out.pieces.empty()) out.pieces.push_back(1);
  in.remove_prefix(gaps);
  out.client = in;
  return out;
}

// One run: `make()` builds a fresh session; `answer(session, event, log, now, final)` is the
// application (it must append what it wants compared to `log`, and answer or not; when
// `final` is false and the target holds answers, it may leave the event for later by
// returning false). Returns the transcript: output bytes, then the event log, then the end
// state.
template <class Make, class Answer>
std::string segment_run(Make make, const std::vector<std::size_t>& pieces, std::string_view client, bool hold,
                        std::size_t buffered_bound, Answer answer) {
  auto session = make();
  auto& s = *session;
  using Event = typename std::remove_cvref_t<decltype(*s.poll_event())>;
  const Instant now{};  // the same at every call in every run
  std::string out;
  std::string log;
  std::deque<Event> held;
  auto drain = [&] {
    for (bool progress = true; progress;) {
      progress = false;
      while (auto o = s.poll_output()) {
        progress = true;
        if (auto* send = std::get_if<proto::out::Send>(&*o)) {
          out += send->bytes;
        } else if (std::holds_alternative<proto::out::Close>(*o)) {
          out += "\n[close]\n";
        } else {
          out += "\n[other output]\n";  // StartTls/StartCompress: switched off by the targets
        }
      }
      while (auto e = s.poll_event()) {
        progress = true;
        if (hold) held.push_back(std::move(*e));
        else answer(s, *e, log, now);
      }
    }
  };
  auto answer_one = [&] {
    Event e = std::move(held.front());
    held.pop_front();
    answer(s, e, log, now);
    drain();
  };
  drain();
  std::string pending;
  std::size_t pos = 0;
  for (std::size_t i = 0; pos < client.size() && !s.closed(); ++i) {
    const std::size_t len = std::min(pieces.empty() ? client.size() : pieces[i % pieces.size()], client.size() - pos);
    pending.append(client.substr(pos, len));
    pos += len;
    while (!pending.empty() && !s.closed()) {
      const std::size_t n = s.feed(pending, now);
      drain();
      MAIL_ASSERT(s.buffered_bytes() <= buffered_bound);
      pending.erase(0, n);
      if (n > 0) continue;
      if (held.empty()) break;  // the session waits for nothing we owe: it wants more bytes? (checked below)
      answer_one();
    }
    // feed() took nothing, nothing is owed, the session is open: a stall.
    MAIL_ASSERT(pending.empty() || s.closed());
  }
  while (!held.empty()) answer_one();
  log += "[end of input]\n";
  s.handle_timeout(now + std::chrono::hours(2));
  drain();
  while (!held.empty()) answer_one();
  s.feed_eof(now + std::chrono::hours(2));
  drain();
  while (!held.empty()) answer_one();
  return out + "\n=== events ===\n" + log + (s.closed() ? "closed\n" : "open\n");
}

// Runs `client` whole and split; aborts with the first difference.
template <class Make, class Answer>
void check_segmentation(const char* protocol, Make make, std::string_view input, bool hold, std::size_t buffered_bound,
                        Answer answer) {
  const SegmentInput in = segment_input(input);
  const std::string whole = segment_run(make, {}, in.client, hold, buffered_bound, answer);
  const std::string split = segment_run(make, in.pieces, in.client, hold, buffered_bound, answer);
  if (whole == split) return;
  std::size_t at = 0;
  while (at < whole.size() && at < split.size() && whole[at] == split[at]) ++at;
  const std::size_t from = at > 200 ? at - 200 : 0;
  std::fprintf(stderr,
               "%s: segmentation changed the session's result (first difference at transcript byte %zu)\n"
               "--- whole input, from byte %zu:\n%s\n--- split input, from byte %zu:\n%s\n",
               protocol, at, from, whole.substr(from, 600).c_str(), from, split.substr(from, 600).c_str());
  std::abort();
}

}  // namespace mail::fuzz
