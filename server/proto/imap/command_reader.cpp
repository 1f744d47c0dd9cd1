// IMAP command framing (see command_reader.h): the line/literal state machine. Lines end at
// LF; a CR before it is dropped, a bare LF is tolerated (as Dovecot and Cyrus do). A line
// that ends in a literal marker continues after the literal's bytes (RFC 9051 §4.3).
#include "proto/imap/command_reader.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "core/ascii.h"
#include "core/assert.h"

namespace mail::imap {
namespace {

struct Marker {
  std::uint64_t bytes = 0;
  bool overflow = false;
  bool non_sync = false;
  bool binary = false;
};

// A literal marker at the very end of `line`: ["~"] "{" number64 ["+"] "}" (RFC 9051 §9
// literal, RFC 3516 §4.3 literal8). number64 is at most 2^63-1.
std::optional<Marker> trailing_marker(std::string_view line) {
  if (line.empty() || line.back() != '}') return std::nullopt;
  std::size_t end = line.size() - 1;  // index of '}'
  Marker m;
  if (end > 0 && line[end - 1] == '+') {
    m.non_sync = true;
    --end;
  }
  std::size_t begin = end;
  while (begin > 0 && is_digit(static_cast<unsigned char>(line[begin - 1]))) --begin;
  if (begin == end || begin == 0 || line[begin - 1] != '{') return std::nullopt;
  m.binary = begin >= 2 && line[begin - 2] == '~';
  constexpr std::uint64_t kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  for (std::size_t i = begin; i < end; ++i) {
    const auto d = static_cast<std::uint64_t>(line[i] - '0');
    if (m.bytes > (kMax - d) / 10) {
      m.overflow = true;
      break;
    }
    m.bytes = m.bytes * 10 + d;
  }
  return m;
}

// tag = 1*<any ASTRING-CHAR except "+"> (RFC 9051 §9). Returns "" when not a valid tag.
std::string_view leading_tag(std::string_view text) {
  constexpr std::size_t kTagBytesMax = 64;  // long enough for any real client; keeps replies short
  std::size_t i = 0;
  while (i < text.size() && i <= kTagBytesMax) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c <= 0x20 || c >= 0x7f || c == '(' || c == ')' || c == '{' || c == '%' || c == '*' || c == '"' ||
        c == '\\' || c == '+')
      break;
    ++i;
  }
  if (i == 0 || i > kTagBytesMax) return {};
  if (i < text.size() && text[i] != ' ') return {};
  return text.substr(0, i);
}

constexpr std::size_t kSkipTailBytes = 32;  // longer than any marker "~{9223372036854775807+}"

}  // namespace

std::string_view to_string(ReadErrorKind k) noexcept {
  switch (k) {
    case ReadErrorKind::none: return "none";
    case ReadErrorKind::line_too_long: return "Command line too long";
    case ReadErrorKind::literal_too_big: return "Literal too big";
    case ReadErrorKind::non_sync_too_big: return "Non-synchronizing literal over 4096 octets (LITERAL-)";
    case ReadErrorKind::command_too_big: return "Command too big";
    case ReadErrorKind::too_many_literals: return "Too many literals in one command";
    case ReadErrorKind::bad_literal: return "Bad literal size";
  }
  return "?";
}

CommandReader::CommandReader(ReaderLimits limits) : limits_(limits) {
  MAIL_ASSERT(limits_.line_bytes_max > 0);
  MAIL_ASSERT(limits_.literal_bytes_max <= limits_.command_bytes_max);
}

std::string_view CommandReader::pending_tag() const noexcept { return leading_tag(cmd_.text); }

bool CommandReader::idle() const noexcept {
  return state_ == State::line && cmd_.text.empty() && cmd_.literals.empty() && !ready_;
}

void CommandReader::reset() {
  state_ = State::line;
  start_command();
  raw_.clear();
  ready_ = false;
  error_ = {};
}

void CommandReader::start_command() {
  cmd_.text.clear();
  cmd_.literals.clear();
  line_start_ = 0;
  command_bytes_ = 0;
  literal_left_ = 0;
  skip_tail_.clear();
}

void CommandReader::expect_raw_line() {
  MAIL_ASSERT(idle());
  state_ = State::raw;
  raw_.clear();
}

RawCommand CommandReader::take_command() {
  MAIL_ASSERT(ready_);
  MAIL_ASSERT(state_ == State::line);
  ready_ = false;
  RawCommand out = std::move(cmd_);
  cmd_ = RawCommand{};
  start_command();
  return out;
}

std::string CommandReader::take_raw_line() {
  MAIL_ASSERT(ready_);
  MAIL_ASSERT(state_ == State::line);
  ready_ = false;
  std::string out = std::move(raw_);
  raw_.clear();
  return out;
}

void CommandReader::accept_literal() {
  MAIL_ASSERT(state_ == State::pending);
  MAIL_ASSERT(!cmd_.literals.empty());
  state_ = State::literal;
  if (literal_left_ == 0) {
    state_ = State::line;
    line_start_ = cmd_.text.size();
  }
}

void CommandReader::reject_literal() {
  MAIL_ASSERT(state_ == State::pending);
  state_ = State::line;
  start_command();
}

ReadResult CommandReader::fail(ReadErrorKind kind, bool fatal, std::size_t consumed) {
  MAIL_ASSERT(kind != ReadErrorKind::none);
  error_.kind = kind;
  error_.fatal = fatal;
  error_.tag = std::string(leading_tag(cmd_.text));
  return ReadResult{ReadEvent::error, consumed};
}

// Called when a line of command text has ended (its LF consumed, CR stripped).
ReadResult CommandReader::on_line_end(std::size_t consumed) {
  const std::string_view text = cmd_.text;
  const auto marker = trailing_marker(std::string_view(text).substr(line_start_));
  if (!marker) {
    if (text.empty()) return ReadResult{ReadEvent::need_more, consumed};  // empty line: ignored
    ready_ = true;
    return ReadResult{ReadEvent::command, consumed};
  }
  command_bytes_ = text.size();
  for (const auto& l : cmd_.literals) command_bytes_ += l.bytes.size();

  // A refused literal: say so now; a non-synchronising one is then read and thrown away
  // (the client sends it regardless), a synchronising one never comes (RFC 9051 §4.3).
  const auto refuse = [&](ReadErrorKind kind) {
    const bool fatal = marker->non_sync && (marker->overflow || marker->bytes > limits_.discard_bytes_max);
    ReadResult r = fail(kind, fatal, consumed);
    start_command();
    if (marker->non_sync) {
      literal_left_ = marker->bytes;
      state_ = State::skip_literal;
    } else {
      state_ = State::line;
    }
    return r;
  };
  if (marker->overflow) return refuse(ReadErrorKind::bad_literal);
  if (cmd_.literals.size() >= limits_.literals_max) return refuse(ReadErrorKind::too_many_literals);
  if (marker->non_sync && limits_.literal_minus && marker->bytes > kLiteralMinusBytesMax)
    return refuse(ReadErrorKind::non_sync_too_big);
  if (marker->bytes > limits_.literal_bytes_max) return refuse(ReadErrorKind::literal_too_big);
  if (command_bytes_ + marker->bytes > limits_.command_bytes_max) return refuse(ReadErrorKind::command_too_big);

  Literal lit;
  lit.at = static_cast<std::uint32_t>(text.size());
  lit.binary = marker->binary;
  lit.non_sync = marker->non_sync;
  // Reserve what was announced, capped: a client announcing 64 MiB and sending nothing
  // must not cost 64 MiB.
  lit.bytes.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(marker->bytes, 1u << 20)));
  cmd_.literals.push_back(std::move(lit));
  literal_left_ = marker->bytes;
  if (!marker->non_sync) {
    state_ = State::pending;
    return ReadResult{ReadEvent::literal_pending, consumed};
  }
  state_ = State::literal;
  if (literal_left_ == 0) {
    state_ = State::line;
    line_start_ = cmd_.text.size();
  }
  return ReadResult{ReadEvent::need_more, consumed};  // caller loop continues (see next())
}

ReadResult CommandReader::next(std::string_view in) {
  MAIL_ASSERT(!ready_);  // take_command() / take_raw_line() first
  std::size_t pos = 0;
  while (true) {
    const std::string_view rest = in.substr(pos);
    switch (state_) {
      case State::pending:
        return ReadResult{ReadEvent::literal_pending, pos};

      case State::line: {
        if (rest.empty()) return ReadResult{ReadEvent::need_more, pos};
        const std::size_t lf = rest.find('\n');
        const std::size_t take = lf == std::string_view::npos ? rest.size() : lf;
        if (cmd_.text.size() + take > limits_.line_bytes_max + 1) {  // +1: a CR about to be stripped
          // Over-long: report now, skip to the end of the line keeping only its tail.
          const std::string_view chunk = rest.substr(0, take);
          std::string tail = cmd_.text.size() > kSkipTailBytes ? cmd_.text.substr(cmd_.text.size() - kSkipTailBytes)
                                                               : cmd_.text;
          tail.append(chunk.substr(chunk.size() > kSkipTailBytes ? chunk.size() - kSkipTailBytes : 0));
          if (cmd_.text.size() < 70) cmd_.text.append(chunk.substr(0, 70));  // enough for the tag
          ReadResult r = fail(ReadErrorKind::line_too_long, false, pos + take);
          start_command();
          skip_tail_ = std::move(tail);
          state_ = State::skip_line;
          return r;
        }
        cmd_.text.append(rest.substr(0, take));
        pos += take;
        if (lf == std::string_view::npos) return ReadResult{ReadEvent::need_more, pos};
        ++pos;  // the LF
        if (cmd_.text.size() > line_start_ && cmd_.text.back() == '\r') cmd_.text.pop_back();
        if (cmd_.text.size() > limits_.line_bytes_max) {
          ReadResult r = fail(ReadErrorKind::line_too_long, false, pos);
          start_command();
          return r;
        }
        const ReadResult r = on_line_end(pos);
        if (r.event != ReadEvent::need_more) return r;
        continue;
      }

      case State::literal: {
        if (rest.empty()) return ReadResult{ReadEvent::need_more, pos};
        const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(literal_left_, rest.size()));
        cmd_.literals.back().bytes.append(rest.substr(0, take));
        literal_left_ -= take;
        pos += take;
        if (literal_left_ == 0) {
          state_ = State::line;
          line_start_ = cmd_.text.size();
        }
        continue;
      }

      case State::skip_literal: {
        if (rest.empty()) return ReadResult{ReadEvent::need_more, pos};
        const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(literal_left_, rest.size()));
        literal_left_ -= take;
        pos += take;
        if (literal_left_ == 0) state_ = State::skip_line;  // the rest of the command follows
        continue;
      }

      case State::skip_line: {
        if (rest.empty()) return ReadResult{ReadEvent::need_more, pos};
        const std::size_t lf = rest.find('\n');
        const std::size_t take = lf == std::string_view::npos ? rest.size() : lf;
        skip_tail_.append(rest.substr(take > kSkipTailBytes ? take - kSkipTailBytes : 0, std::min(take, kSkipTailBytes)));
        if (skip_tail_.size() > kSkipTailBytes) skip_tail_.erase(0, skip_tail_.size() - kSkipTailBytes);
        pos += take;
        if (lf == std::string_view::npos) continue;
        ++pos;
        if (!skip_tail_.empty() && skip_tail_.back() == '\r') skip_tail_.pop_back();
        const auto marker = trailing_marker(skip_tail_);
        skip_tail_.clear();
        if (marker && marker->non_sync && !marker->overflow) {
          // The skipped line announced a literal the client sends unasked: discard it too.
          literal_left_ = marker->bytes;
          state_ = State::skip_literal;
        } else {
          state_ = State::line;
          start_command();
        }
        continue;
      }

      case State::raw: {
        if (rest.empty()) return ReadResult{ReadEvent::need_more, pos};
        const std::size_t lf = rest.find('\n');
        const std::size_t take = lf == std::string_view::npos ? rest.size() : lf;
        if (raw_.size() + take > limits_.line_bytes_max + 1) {
          raw_.clear();
          pos += take;
          state_ = State::skip_raw;
          error_ = ReadError{ReadErrorKind::line_too_long, false, {}};
          return ReadResult{ReadEvent::error, pos};
        }
        raw_.append(rest.substr(0, take));
        pos += take;
        if (lf == std::string_view::npos) return ReadResult{ReadEvent::need_more, pos};
        ++pos;
        if (!raw_.empty() && raw_.back() == '\r') raw_.pop_back();
        state_ = State::line;
        ready_ = true;
        return ReadResult{ReadEvent::raw_line, pos};
      }

      case State::skip_raw: {
        if (rest.empty()) return ReadResult{ReadEvent::need_more, pos};
        const std::size_t lf = rest.find('\n');
        if (lf == std::string_view::npos) return ReadResult{ReadEvent::need_more, in.size()};
        pos += lf + 1;
        state_ = State::line;
        continue;
      }
    }
    MAIL_UNREACHABLE();
  }
}

}  // namespace mail::imap
