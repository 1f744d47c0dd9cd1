// The smtp-client suite's runner: for each case it listens on 127.0.0.1:<ephemeral>, starts
// the client under test against that port, plays the case's scripted server with blocking
// sockets on the calling thread (replies per stage, holds, pauses, silence, drops, STARTTLS
// with a self-signed certificate), records what the client did, and judges the case's
// expectations on that record and on the client's reported outcome. It never connects
// anywhere and listens on loopback only. Verdicts and reports are the server suite's
// (runner.h): a setup problem is ERROR, never FAIL.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "client_script.h"
#include "client_under_test.h"
#include "runner.h"

namespace mail::tls {
class TlsContext;
}

namespace mail::conformance {

// What the scripted server saw the client do, in order.
struct ClientEventRec {
  enum class Kind : std::uint8_t { command, content, tls, tls_failed, client_close, server_close };
  Kind kind = Kind::command;
  std::string verb;  // command: the first word upper-cased; CONTENT, TLS, TLSFAIL, CLOSE, SERVERCLOSE
  std::string line;  // command: the line without its line end; content: the chunk as sent
};

struct ClientSessionRecord {
  std::vector<ClientEventRec> events;
  std::vector<std::string> early;           // "MAIL#1", "greeting": client bytes came while that reply was held
  std::vector<std::string> command_lines;   // as received, line end included
  std::string content;                      // every content chunk as sent (DATA: up to the CRLF before ".")
  bool content_by_data = false;             // dot-stuffed (DATA) rather than counted (BDAT)
  std::string client_bytes;                 // everything the client sent outside TLS records
  std::vector<std::string> transcript;      // "C: ...", "S: ..."
  bool connected = false;
};

// Judges `c`'s expectations. Outcome checks use `outcome` when it is known, and are
// skipped otherwise. Returns true when all hold; else false with `expected` (the check)
// and `got` (what was seen).
bool judge_client_case(const ClientCase& c, const ClientSessionRecord& rec, const ClientOutcome& outcome,
                       std::string& expected, std::string& got);
// The same for a list of checks (a case's `when:` conditions).
bool judge_checks(const std::vector<ClientExpect>& checks, const ClientSessionRecord& rec, const ClientOutcome& outcome,
                  std::string& expected, std::string& got);

struct ClientRunOptions {
  std::string only;  // glob (or substring) on "topic/id"; empty = all
  std::chrono::milliseconds case_timeout{5000};  // the scripted session's length limit
  std::chrono::milliseconds connect_timeout{5000};
};

// A server context with a fresh self-signed certificate for mx.example.test; nullptr with
// `error` when OpenSSL refuses.
std::shared_ptr<tls::TlsContext> make_scripted_server_tls(std::string& error);

CaseResult run_client_case(const ClientCase& c, ClientUnderTest& client, tls::TlsContext& server_tls,
                           const ClientRunOptions& options);
std::vector<CaseResult> run_client_suite(const ClientSuite& suite, ClientUnderTest& client,
                                         tls::TlsContext& server_tls, const ClientRunOptions& options);

// `cloudsdial conformance --suite smtp-client [--client-command CMD] ...`: loads, runs,
// prints the table and summary, writes --junit/--json. Exit 0 / 1 / 2 as for the server suite.
struct ConformanceArgs;
int run_client_suite_main(const ConformanceArgs& cli);

}  // namespace mail::conformance
