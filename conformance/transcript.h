// Conformance transcripts: the Markdown format of docs/CONFORMANCE.md, parsed into cases.
// One `## case: <id>` per RFC requirement, metadata lines (rfc, level, requires, setup),
// one fenced block of steps (```smtp, ```imap or ```pop3). `## setup: <name>` blocks define
// step sequences shared by the whole suite. Pure parsing: no I/O except load_suite_dir().
// Every `s:` line is compiled here, so a malformed expectation is a load error, not a
// runtime surprise. Server-side regexes may name captures as {{NAME}} (filled at run time).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mail::conformance {

// The key word of the RFC sentence a case rests on (RFC 2119): MUST/MUST NOT/REQUIRED/SHALL,
// SHOULD/SHOULD NOT/RECOMMENDED, MAY/OPTIONAL. `advice`: the sentence has none (a lower-case
// "should", a grammar, a code table): reported, never counted as a MUST/SHOULD/MAY failure.
enum class Level : std::uint8_t { must, should, may, advice };
inline constexpr std::size_t kLevelCount = 4;
enum class Protocol : std::uint8_t { smtp, imap, pop3 };
std::string_view to_string(Level) noexcept;
std::string_view to_string(Protocol) noexcept;

// One expected SMTP reply (or the absence of one), compiled from an `s:` line.
struct SmtpExpect {
  enum class Kind : std::uint8_t { reply, close, none };
  Kind kind = Kind::reply;
  std::vector<std::string> codes;  // patterns: "250", "2xx", "25x"; any may match
  std::string enhanced;            // "2.1.0", "5.1.x", "" = not checked
  std::string regex;               // ECMAScript, searched in the reply text; "" = none
  bool icase = false;
  bool multiline = false;  // at least two lines
  bool single = false;     // exactly one line
  bool negated = false;    // `s: not 250`: any reply whose code matches none of `codes`
  // `s: if any-of 501 553 ...`: a precondition. A code outside `codes` ends the case as
  // n/a (the case's premise, e.g. "the server refuses this path", does not hold); with a
  // listed code, the enhanced code and regex are checked as usual.
  bool precondition = false;
  int none_ms = 0;         // Kind::none: how long to wait
};

// One expected IMAP response, compiled from an `s:` or `u:` line (RFC 9051 §2.2.2, §7).
struct ImapExpect {
  enum class Kind : std::uint8_t { tagged, untagged, continuation, close, none };
  Kind kind = Kind::tagged;
  std::string tag;     // Kind::tagged: the command's tag
  std::string status;  // Kind::tagged: "OK", "NO", "BAD"; several = any of ("OK|NO")
  std::string prefix;  // the text after "TAG STATUS ", "* " or "+ " starts with this (any case)
  std::string regex;   // searched in the whole response (literals included); "" = none
  bool icase = false;
  int none_ms = 0;
};

// One expected POP3 response, compiled from an `s:` line (RFC 1939 §3, RFC 5034 §4).
struct Pop3Expect {
  enum class Kind : std::uint8_t { ok, err, continuation, close, none };
  Kind kind = Kind::ok;
  bool multiline = false;  // +OK followed by a dot-terminated body
  std::string regex;       // searched in the status line's text
  bool icase = false;
  int none_ms = 0;
  // "-ERR|close", "+OK|close": the server may have closed the connection instead (RFC 1939
  // §4: after a refused authentication command); the case then ends as n/a, since what it
  // goes on to check cannot be observed.
  bool or_close = false;
};

struct Step {
  enum class Kind : std::uint8_t {
    send,      // c:      line + CRLF
    send_raw,  // c-raw:  bytes as written, no CRLF
    expect,    // s:      one reply (SMTP), a tagged/untagged response (IMAP), +OK/-ERR (POP3)
    contains,  // s-contains: a line of the last reply starts with this keyword/text
    lacks,     // s-lacks:    no line of the last reply starts with it
    line,      // s-line:  POP3 multi-line body line /regex/
    unordered, // u:       IMAP untagged response, any order within a run of u: lines
    capture,   // capture: NAME /regex/ from the last reply
    tls,       // tls:     TLS handshake now (after the server's go-ahead to STARTTLS/STLS)
    reconnect, // reconnect: [MS] drop the connection (no QUIT/LOGOUT), wait MS, open a new one
  };
  Kind kind = Kind::send;
  std::string arg;  // raw text after the prefix
  int line = 0;     // source line, for messages
  std::optional<SmtpExpect> smtp;  // compiled `s:` for SMTP blocks
  std::optional<ImapExpect> imap;  // compiled `s:`/`u:` for IMAP blocks
  std::optional<Pop3Expect> pop3;  // compiled `s:` for POP3 blocks
  std::string capture_name;        // Kind::capture
  std::string capture_regex;       // Kind::capture, Kind::line: the regex
  bool icase = false;              // Kind::line
  int wait_ms = 0;                 // Kind::reconnect: pause between the drop and the connect
};

struct Case {
  std::string file;   // path as loaded
  std::string topic;  // file stem: "sequencing"
  std::string id;     // "rcpt-before-mail-503"
  int line = 0;
  std::string rfc;            // as written: "5321 §4.1.4"
  std::vector<std::string> rfc_numbers;  // "5321", ... (first = the summary bucket)
  Level level = Level::must;
  std::string level_text;     // "MUST NOT" as written
  std::vector<std::string> requires_caps;  // "PIPELINING"; "!STARTTLS" = must NOT be offered
  std::vector<std::string> setups;  // names of ## setup: blocks, run first, in order
  std::string summary;
  // The RFC sentence the case rests on, verbatim (whitespace aside) from the first RFC of
  // `rfc`; it contains the key word of `level` (conformance/quotes_check.py checks both).
  std::string quote;
  // Positive controls ("topic/id"): cases that accept the valid form of what this case
  // refuses. A pass counts only when every control passed in the same run; else n/a, so
  // a server that refuses everything never passes a refusal case.
  std::vector<std::string> controls;
  // Prerequisites ("topic/id"): the case applies only when every one of them passed in the
  // same run (else n/a, whatever its own verdict): "VRFY keeps the transaction" needs a
  // server with VRFY.
  std::vector<std::string> needs;
  Protocol protocol = Protocol::smtp;
  std::vector<Step> steps;
  std::string full_id() const { return topic + "/" + id; }
};

struct Suite {
  std::vector<Case> cases;
  std::map<std::string, std::vector<Step>> setups;
};

struct LoadError {
  std::string file;
  int line = 0;
  std::string message;
};

// Parses one transcript file's text into `suite` (cases appended, setups merged).
// Returns false and appends to `errors` for every malformed line; valid cases are kept.
bool parse_transcript(std::string_view text, const std::string& file, Suite& suite,
                      std::vector<LoadError>& errors);

// Parses every `*.md` file of `dir` in name order; then checks that every case's setups
// exist. Returns false when anything failed (with `errors` filled).
bool load_suite_dir(const std::string& dir, Suite& suite, std::vector<LoadError>& errors);

// Compiles one SMTP `s:` argument ("250 2.1.0 /ok/i", "any-of 501 553", "close",
// "none 200", "multiline 250"). Returns nullopt and sets `error` when malformed.
std::optional<SmtpExpect> parse_smtp_expect(std::string_view arg, std::string& error);

// Compiles one IMAP `s:`/`u:` argument ("a1 OK", "a1 OK|NO /re/", "* /re/", "+",
// "close", "none 300"). Returns nullopt and sets `error` when malformed.
std::optional<ImapExpect> parse_imap_expect(std::string_view arg, std::string& error);
// Compiles one POP3 `s:` argument ("+OK /re/", "-ERR", "multiline +OK", "+", "close",
// "none 300"). Returns nullopt and sets `error` when malformed.
std::optional<Pop3Expect> parse_pop3_expect(std::string_view arg, std::string& error);

// Replaces every {{NAME}} of a server-side regex with the captured value, regex-escaped.
// Returns nullopt and sets `error` for an unknown capture.
std::optional<std::string> expand_regex(std::string_view regex, const std::map<std::string, std::string>& captures,
                                        std::string& error);

// Expands a client line: escapes \r \n \t \\ \xHH, and templates {{repeat N TEXT}} and
// {{NAME}} (a captured value). Returns nullopt and sets `error` on a bad escape/template
// or an unknown capture.
std::optional<std::string> expand_client_text(std::string_view in, const std::map<std::string, std::string>& captures,
                                              std::string& error);

}  // namespace mail::conformance
