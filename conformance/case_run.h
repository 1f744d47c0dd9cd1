// CaseRun: what every protocol's case execution shares — the connection (replaced by a TLS
// one at a `tls:` step), the receive buffer, captures, sending client lines, `close` and
// `none` checks, and failure reporting. SmtpCaseRun, ImapCaseRun and Pop3CaseRun add the
// response framing and matching of their protocol. Internal to mail::conformance.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "core/ascii.h"  // ascii_upper, iequals for the protocol runners
#include "runner.h"

namespace mail::conformance {

// Printable form of wire bytes for transcripts: CR/LF/controls escaped, long runs cut.
std::string printable(std::string_view s, std::size_t max = 160);

class CaseRun {
 public:
  using Clock = std::chrono::steady_clock;
  CaseRun(std::unique_ptr<Connection> conn, const RunOptions& o, CaseResult& r);
  virtual ~CaseRun() = default;
  CaseRun(const CaseRun&) = delete;
  CaseRun& operator=(const CaseRun&) = delete;

  // Runs `steps` in order (a run of consecutive u: lines is one unordered group). Returns
  // false with the result filled on the first step that does not hold; true at the end or
  // once a `tls: or-close` handshake failed (finished() then says so).
  bool run(const std::vector<Step>& steps);
  bool finished() const noexcept { return finished_; }
  // How a `reconnect:` step opens its new connection (the runner: the case's Target, so
  // --tls/--starttls apply as to the first). Without one, `reconnect:` fails the case.
  void set_reconnect(std::function<std::unique_ptr<Connection>(std::string& error)> f) { reconnect_ = std::move(f); }
  // The server has said nothing on this connection and a wait for it timed out: the
  // greeting is slower than --timeout. An ERROR of the run, not a FAIL of the case's clause.
  bool silent_timeout() const noexcept { return silent_timeout_ && !heard_; }
  // A precondition step (`s: if ...`) did not hold: the case is n/a for this reason.
  const std::string& not_applicable() const noexcept { return not_applicable_; }

 protected:
  virtual bool expect(const Step& s) = 0;
  virtual bool contains(const Step& s) = 0;  // s-contains / s-lacks
  virtual bool unordered(const std::vector<const Step*>& group);
  virtual bool body_line(const Step& s);
  virtual void on_send() {}  // a client line went out (IMAP: a new command's responses begin)
  // The text `capture:` searches: the last response(s). Empty optional = none yet.
  virtual std::optional<std::string> capture_text() const = 0;

  bool fail(const Step& s, std::string expected, std::string got);
  static std::string describe_step(const Step& s);
  // One recv into buf_ waiting until `deadline`; records eof.
  Connection::Recv fill(Clock::time_point deadline);
  // `s: close`: nothing more arrives, then the connection ends. `s: none`: nothing within ms.
  bool expect_close(const Step& s);
  bool expect_none(const Step& s, int ms);
  // Compiles a server-side regex with captures filled in; nullopt = failed (result set).
  std::optional<std::regex> regex_for(const Step& s, const std::string& re, bool icase);
  void note_server(std::string_view text) { r_.transcript.push_back("S: " + printable(text, 300)); }

  std::unique_ptr<Connection> conn_;
  const RunOptions& opt_;
  CaseResult& r_;
  std::string buf_;
  bool eof_ = false;
  std::map<std::string, std::string> captures_;
  bool finished_ = false;  // a `tls: or-close` handshake failed: the case passed, skip the rest
  std::string not_applicable_;  // set with finished_ by a precondition that did not hold
  bool heard_ = false;           // any byte from the server on this connection
  bool silent_timeout_ = false;  // a wait timed out before the first byte

 private:
  friend std::unique_ptr<CaseRun> make_case_run(Protocol, std::unique_ptr<Connection>, const RunOptions&, CaseResult&,
                                                const std::string&);
  bool send(const Step& s);
  bool tls(const Step& s);
  bool capture(const Step& s);
  bool reconnect(const Step& s);
  std::function<std::unique_ptr<Connection>(std::string&)> reconnect_;
};

// The protocol's CaseRun over `conn`, with the credential captures (USER, PASSWORD, ...)
// and UNIQUE already set.
std::unique_ptr<CaseRun> make_case_run(Protocol p, std::unique_ptr<Connection> conn, const RunOptions& o,
                                       CaseResult& r, const std::string& unique);

std::unique_ptr<CaseRun> make_smtp_case_run(std::unique_ptr<Connection> conn, const RunOptions& o, CaseResult& r);
std::unique_ptr<CaseRun> make_imap_case_run(std::unique_ptr<Connection> conn, const RunOptions& o, CaseResult& r);
std::unique_ptr<CaseRun> make_pop3_case_run(std::unique_ptr<Connection> conn, const RunOptions& o, CaseResult& r);

}  // namespace mail::conformance
