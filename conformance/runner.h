// The conformance runner: runs transcript cases against a Target (a live server over TCP,
// or our smtp::ServerSession in-process) and reports per case and per RFC.
// SMTP, IMAP and POP3 cases run over the same Connection abstraction (TLS is a Connection
// over a Connection). A case whose `requires:` capability the target does not advertise is
// not-applicable, never failed. No global state; the only I/O is through Connection.
#pragma once

#include <chrono>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "transcript.h"

namespace mail::tls {
class TlsContext;
}

namespace mail::conformance {

// One client connection to the server under test.
class Connection {
 public:
  enum class Recv : std::uint8_t { data, eof, timeout, error };
  virtual ~Connection() = default;
  // Sends all of `bytes`; false (with `error`) when the connection is gone.
  virtual bool send(std::string_view bytes, std::string& error) = 0;
  // Appends whatever arrives to `buf`, waiting at most `timeout` for the first byte.
  // An in-process target never waits: everything it will say is already there.
  virtual Recv recv(std::string& buf, std::chrono::milliseconds timeout) = 0;
};

class Target {
 public:
  virtual ~Target() = default;
  virtual std::string describe() const = 0;
  // A fresh connection (one per case); nullptr with `error` when connecting failed.
  virtual std::unique_ptr<Connection> connect(std::string& error) = 0;
};

// One SMTP reply as read from the wire (RFC 5321 §4.2).
struct SmtpReply {
  int code = 0;
  std::vector<std::string> texts;  // per line, after "250-" / "250 "
  std::string raw;                 // the lines as received, CRLF included
};

// Takes one complete reply off the front of `buf`. Returns 1 with `reply` filled, 0 when
// more bytes are needed, -1 when the bytes are not a well-formed reply (`error` says why).
int take_smtp_reply(std::string& buf, SmtpReply& reply, std::string& error);

// Whether `reply` satisfies `e` (Kind::reply); `why` explains a mismatch. Enhanced codes
// are checked only when `enhanced_codes` (the target advertised ENHANCEDSTATUSCODES).
bool match_smtp_reply(const SmtpExpect& e, const SmtpReply& reply, bool enhanced_codes, std::string& why);

enum class Verdict : std::uint8_t { pass, fail, not_applicable, not_run, error };
std::string_view to_string(Verdict) noexcept;

struct CaseResult {
  const Case* c = nullptr;
  Verdict verdict = Verdict::pass;
  std::string reason;    // fail / n-a / error: one line
  std::string expected;  // fail: the step that did not hold
  std::string got;       // fail: what came instead
  std::vector<std::string> transcript;  // "C: ...", "S: ..." up to the failure
  double millis = 0;
};

struct RunOptions {
  std::string only;  // glob (or substring) on "topic/id"; empty = all
  std::chrono::milliseconds reply_timeout{5000};
  std::set<std::string> capabilities;  // EHLO keywords / CAPABILITY atoms / CAPA tags (upper case)
  bool capabilities_known = false;
  // --user/--password: the captures USER, PASSWORD, USER_B64, PASSWORD_B64, AUTH_PLAIN.
  // A case whose client lines use them is n/a without them.
  std::string user, password;
  // For `tls:` steps; a verify-nothing client context is made on demand when null.
  std::shared_ptr<tls::TlsContext> tls_context;
  std::string tls_server_name;  // SNI (and the name verified when the context verifies)
  std::uint64_t run_id = 0;     // feeds the UNIQUE capture: "c<run_id>-<topic><line>"
};

// Greets, sends EHLO and QUITs; returns the EHLO keywords (upper case). `error` on failure.
bool probe_smtp_capabilities(Target& target, std::chrono::milliseconds timeout, std::set<std::string>& caps,
                             std::string& error);

CaseResult run_case(const Case& c, const Suite& suite, Target& target, const RunOptions& options);
std::vector<CaseResult> run_suite(const Suite& suite, Protocol protocol, Target& target, const RunOptions& options);

// Lists the cases of `protocol` matching `only` ("topic/id LEVEL RFC ...") and then the
// number of cases per RFC (first of each case's rfc: line) and level, and per section.
void print_case_list(std::ostream& out, const Suite& suite, Protocol protocol, const std::string& only);

// Reports.
void print_table(std::ostream& out, const std::vector<CaseResult>& results, bool verbose_failures = true);
// The root cause of a FAIL or ERROR, as a key that equal causes share: what the server
// answered (first line, addresses and long numbers masked) and what was expected instead,
// or the error's reason. Empty for other verdicts.
std::string cause_of(const CaseResult& r);
// One line per root cause ("9 cases: got `503 5.5.4 bad parameters`: a, b, ..."), most
// cases first, so a developer sees one line per defect; nothing when all passed.
void print_causes(std::ostream& out, const std::vector<CaseResult>& results);
// "RFC 5321: 120/122 MUST, 30/31 SHOULD, 2/2 MAY (3 n/a)" per RFC, first RFC of each case.
void print_summary(std::ostream& out, const std::vector<CaseResult>& results);
void write_junit(std::ostream& out, const std::vector<CaseResult>& results, const std::string& suite_name);
void write_json(std::ostream& out, const std::vector<CaseResult>& results, const std::string& target);
bool any_must_failed(const std::vector<CaseResult>& results);

}  // namespace mail::conformance
