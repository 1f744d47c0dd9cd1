// Conformance transcripts: the Markdown format of docs/CONFORMANCE.md, parsed into cases.
// One `## case: <id>` per RFC requirement, metadata lines (rfc, level, requires, setup),
// one fenced block of steps (```smtp, ```imap or ```pop3). `## setup: <name>` blocks define
// step sequences shared by the whole suite. Pure parsing: no I/O except load_suite_dir().
// Every `s:` line is compiled here, so a malformed expectation is a load error, not a
// runtime surprise.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mail::conformance {

enum class Level : std::uint8_t { must, should, may };
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
  int none_ms = 0;         // Kind::none: how long to wait
};

struct Step {
  enum class Kind : std::uint8_t {
    send,      // c:      line + CRLF
    send_raw,  // c-raw:  bytes as written, no CRLF
    expect,    // s:      one reply (SMTP), a tagged/untagged response (IMAP), +OK/-ERR (POP3)
    contains,  // s-contains: a line of the last reply starts with this keyword/text
    lacks,     // s-lacks:    no line of the last reply starts with it
    line,      // s-line:  POP3 multi-line body line /regex/ (parsed; not run yet)
    unordered, // u:       IMAP untagged response, any order within a run of u: lines
    capture,   // capture: NAME /regex/ from the last reply
  };
  Kind kind = Kind::send;
  std::string arg;  // raw text after the prefix
  int line = 0;     // source line, for messages
  std::optional<SmtpExpect> smtp;  // compiled `s:` for SMTP blocks
  std::string capture_name;        // Kind::capture
  std::string capture_regex;
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

// Expands a client line: escapes \r \n \t \\ \xHH, and templates {{repeat N TEXT}} and
// {{NAME}} (a captured value). Returns nullopt and sets `error` on a bad escape/template
// or an unknown capture.
std::optional<std::string> expand_client_text(std::string_view in, const std::map<std::string, std::string>& captures,
                                              std::string& error);

}  // namespace mail::conformance
