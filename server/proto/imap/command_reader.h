// IMAP command framing: a resumable reader fed arbitrary byte chunks that yields one
// complete command at a time = its logical line text plus its literals (RFC 9051 §4.3,
// §2.2.1): synchronising {n}, non-synchronising {n+} (LITERAL+ / LITERAL-, RFC 7888 and
// RFC 9051 §4.3) and literal8 ~{n} / ~{n+} (RFC 3516 §4.3). Literal bytes are kept apart
// from the line text, so binary and NUL content never confuses the parser. Every size is
// checked against ReaderLimits before it is buffered; a refused command is skipped without
// buffering (a refused synchronising literal is never read). Also a raw-line mode for
// AUTHENTICATE continuations (RFC 9051 §6.2.2) and IDLE's DONE (RFC 2177 §3).
// No I/O, no clock; memory is bounded by line_bytes_max + command_bytes_max.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mail::imap {

struct ReaderLimits {
  // Text of one command, excluding literal bytes and CRLFs (Dovecot's
  // imap_max_line_length is 64 KiB).
  std::uint32_t line_bytes_max = 64 * 1024;
  // One literal (the APPENDLIMIT we advertise, RFC 7889 §3).
  std::uint64_t literal_bytes_max = 64ull << 20;
  // Text plus literals of one command.
  std::uint64_t command_bytes_max = (64ull << 20) + (64 * 1024);
  // Literals in one command (a Dovecot-like bound on per-literal bookkeeping).
  std::uint32_t literals_max = 1000;
  // LITERAL- (RFC 7888 §4, RFC 9051 §4.3): {n+} must be <= 4096. False = LITERAL+: any
  // non-synchronising literal up to literal_bytes_max.
  bool literal_minus = false;
  // Bytes of a refused non-synchronising literal we read and discard to stay in sync;
  // beyond it the error is fatal (the session answers and closes).
  std::uint64_t discard_bytes_max = 1ull << 20;
};
inline constexpr std::uint32_t kLiteralMinusBytesMax = 4096;  // RFC 7888 §4
static_assert(ReaderLimits{}.literal_bytes_max <= ReaderLimits{}.command_bytes_max);
static_assert(ReaderLimits{}.line_bytes_max <= ReaderLimits{}.command_bytes_max);
static_assert(kLiteralMinusBytesMax <= ReaderLimits{}.literal_bytes_max);

// One literal of a command. `at` is the offset in RawCommand::text just after the
// marker's "}" (the marker itself, e.g. "{5}" or "~{5+}", stays in the text; the CRLF
// after it does not).
struct Literal {
  std::uint32_t at = 0;
  bool binary = false;    // literal8 "~{n}" (RFC 3516): may contain NUL
  bool non_sync = false;  // "{n+}"
  std::string bytes;
};

// One complete command. `text` holds the line fragments joined without their CRLFs.
struct RawCommand {
  std::string text;
  std::vector<Literal> literals;
};

enum class ReadEvent : std::uint8_t {
  need_more,        // every byte given was consumed; call again with more input
  command,          // take_command() holds a complete command
  raw_line,         // (after expect_raw_line()) take_raw_line() holds one line, no CRLF
  literal_pending,  // a synchronising literal {n} was announced; the session must call
                    // accept_literal() (and send "+ ...") or reject_literal() (and send a
                    // tagged NO/BAD) before calling next() again
  error,            // error() says what; the rest of the command is skipped by the reader
};

enum class ReadErrorKind : std::uint8_t {
  none,
  line_too_long,         // text beyond line_bytes_max: BAD (fatal if it never ends)
  literal_too_big,       // a literal beyond literal_bytes_max: NO [TOOBIG] (RFC 7889 §4, 9051 §7.1)
  non_sync_too_big,      // LITERAL-: {n+} over 4096: BAD [TOOBIG] (RFC 7888 §4)
  command_too_big,       // text + literals beyond command_bytes_max: NO [TOOBIG]
  too_many_literals,     // more than literals_max: BAD
  bad_literal,           // a literal marker with an unparsable count (overflow): BAD
};
std::string_view to_string(ReadErrorKind) noexcept;

struct ReadError {
  ReadErrorKind kind = ReadErrorKind::none;
  // The session must close the connection after answering: the stream cannot be
  // resynchronised (an unterminated line, or a non-synchronising literal bigger than
  // discard_bytes_max).
  bool fatal = false;
  std::string tag;  // the command's tag when it was readable, else empty (answer with "*")
};

struct ReadResult {
  ReadEvent event = ReadEvent::need_more;
  std::size_t consumed = 0;  // bytes of `in` used; the rest must be offered again
};

class CommandReader {
 public:
  explicit CommandReader(ReaderLimits limits = {});

  // Consumes bytes of `in` until one event happens. With need_more, all of `in` was
  // consumed (buffered or discarded). After command / raw_line / literal_pending / error,
  // the unconsumed tail of `in` must be offered again on the next call. While a literal
  // is pending, next() returns literal_pending with consumed == 0.
  ReadResult next(std::string_view in);

  // The command produced by ReadEvent::command (moved out; valid once per event).
  RawCommand take_command();
  // The line produced by ReadEvent::raw_line, without CR LF.
  std::string take_raw_line();
  // The error reported by ReadEvent::error.
  const ReadError& error() const noexcept { return error_; }

  // The next line is read raw (AUTHENTICATE continuation, IDLE "DONE"), limited by
  // line_bytes_max. Only at a command boundary.
  void expect_raw_line();

  // For literal_pending: its size, and the command text so far (tag, verb, args: enough
  // for the session to decide, e.g. APPEND to a mailbox over quota).
  std::uint64_t pending_literal_bytes() const noexcept { return literal_left_; }
  std::string_view pending_text() const noexcept { return cmd_.text; }
  // The whole pending command: its last literal announced, not yet read (empty bytes).
  const RawCommand& pending_command() const noexcept { return cmd_; }
  std::string_view pending_tag() const noexcept;
  // The session sent "+ ..." (RFC 9051 §7.5): the literal bytes follow.
  void accept_literal();
  // The session answered the command with a tagged NO/BAD: the client will not send the
  // literal (RFC 9051 §4.3), so the reader drops the command and waits for the next one.
  void reject_literal();

  // True between commands (nothing buffered, no literal, not skipping).
  bool idle() const noexcept;
  // Forget everything (STARTTLS, COMPRESS: the byte stream restarts).
  void reset();

 private:
  enum class State : std::uint8_t {
    line,          // reading command text up to LF
    literal,       // reading literal bytes
    pending,       // waiting for accept_literal() / reject_literal()
    skip_line,     // discarding an over-long line up to LF
    skip_literal,  // discarding a refused non-synchronising literal
    raw,           // reading one raw line
    skip_raw,      // discarding an over-long raw line
  };
  ReadResult on_line_end(std::size_t consumed);
  ReadResult fail(ReadErrorKind kind, bool fatal, std::size_t consumed);
  void start_command();

  ReaderLimits limits_;
  State state_ = State::line;
  RawCommand cmd_;
  std::string raw_;
  std::size_t line_start_ = 0;       // offset in cmd_.text where the current line began
  std::uint64_t command_bytes_ = 0;  // text + literals so far, for command_bytes_max
  std::uint64_t literal_left_ = 0;   // literal: bytes still to read; skip_literal: to discard
  bool ready_ = false;               // a command or raw line is waiting to be taken
  ReadError error_;
  // skip_line: remembers the tail of the discarded line to spot a trailing {n+} marker.
  std::string skip_tail_;
};

}  // namespace mail::imap
