// drive_session: the documented driving contract of a server session (feed / poll_output /
// poll_event / complete, see STYLE.md §1) run over fuzz input, shared by the POP3 and IMAP
// session targets. `mode` (byte 0 of the input): 4 = hold answers back (feed must then
// stop, not stall), 8 = TLS "succeeds" on StartTls, bits 4..7 = the piece size. `answer`
// completes one event; `intercept` may consume an event at once (true) instead. Asserts:
// nothing after Close, bounded buffering and output, no stall, closed at the end.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "core/assert.h"
#include "core/time.h"
#include "proto/session_output.h"

namespace mail::fuzz {

template <class Session, class Answer, class Intercept>
void drive_session(Session& s, std::uint8_t mode, std::string_view in, std::size_t buffered_bound, Instant& now,
                   Answer answer, Intercept intercept) {
  using Event = typename std::remove_cvref_t<decltype(*s.poll_event())>;
  const std::size_t piece = 1 + (mode >> 4) * 37;
  std::deque<Event> held;
  bool closed_seen = false;
  std::size_t out_bytes = 0;
  auto drain = [&] {
    for (bool progress = true; progress;) {
      progress = false;
      while (auto o = s.poll_output()) {
        progress = true;
        if (auto* send = std::get_if<proto::out::Send>(&*o)) {
          MAIL_ASSERT(!closed_seen);  // nothing may follow Close
          out_bytes += send->bytes.size();
        } else if (std::holds_alternative<proto::out::StartTls>(*o)) {
          MAIL_ASSERT(!closed_seen);
          if ((mode & 8) != 0) s.tls_established(now);
        } else if (std::holds_alternative<proto::out::Close>(*o)) {
          MAIL_ASSERT(!closed_seen);
          closed_seen = true;
        }
      }
      while (auto e = s.poll_event()) {
        progress = true;
        if (intercept(*e)) continue;
        if ((mode & 4) != 0) held.push_back(std::move(*e));
        else answer(*e);
      }
    }
  };
  drain();
  for (std::size_t pos = 0; pos < in.size() && !s.closed();) {
    const std::size_t n = s.feed(in.substr(pos, piece), now);
    drain();
    MAIL_ASSERT(s.buffered_bytes() <= buffered_bound);
    if (n == 0) {
      MAIL_ASSERT(!held.empty());  // no input taken and no answer owed would be a stall
      answer(held.front());
      held.pop_front();
      drain();
    }
    pos += n;
    now += std::chrono::seconds(1);
  }
  while (!held.empty()) {
    answer(held.front());
    held.pop_front();
    drain();
  }
  // Every response line is short and caused by at most one input byte or event.
  MAIL_ASSERT(out_bytes <= 4096 + 512 * in.size());
  s.shutdown(now, (mode & 4) != 0);
  drain();
  s.handle_timeout(now + std::chrono::hours(1));
  drain();
  s.feed_eof(now);
  drain();
  MAIL_ASSERT(s.closed());
  MAIL_ASSERT(closed_seen);
}

}  // namespace mail::fuzz
