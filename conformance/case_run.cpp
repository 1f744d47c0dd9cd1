// CaseRun: the protocol-independent steps (c:, c-raw:, capture:, tls:, close, none) and
// failure reporting. A `tls:` step replaces the connection by a TLS one over it; bytes the
// server sent between its go-ahead and the handshake are a finding (RFC 3207 §4.2: the
// server must not send before the handshake), so they fail the case.
#include "case_run.h"

#include <thread>

#include "proto/sasl/base64.h"
#include "tls_connection.h"

namespace mail::conformance {

std::string printable(std::string_view s, std::size_t max) {
  std::string r;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (r.size() >= max) {
      r += "...(" + std::to_string(s.size()) + " bytes)";
      break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\r') r += "\\r";
    else if (c == '\n') r += "\\n";
    else if (c == '\\') r += "\\\\";
    else if (c < 0x20 || c >= 0x7f) {  // 8-bit too: reports stay ASCII (valid JSON/XML)
      static const char* hex = "0123456789abcdef";
      r += "\\x";
      r += hex[c >> 4];
      r += hex[c & 15];
    } else r += static_cast<char>(c);
  }
  return r;
}

CaseRun::CaseRun(std::unique_ptr<Connection> conn, const RunOptions& o, CaseResult& r)
    : conn_(std::move(conn)), opt_(o), r_(r) {}

bool CaseRun::run(const std::vector<Step>& steps) {
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    bool ok = true;
    switch (s.kind) {
      case Step::Kind::send:
      case Step::Kind::send_raw: ok = send(s); break;
      case Step::Kind::expect: ok = expect(s); break;
      case Step::Kind::contains:
      case Step::Kind::lacks: ok = contains(s); break;
      case Step::Kind::capture: ok = capture(s); break;
      case Step::Kind::tls: ok = tls(s); break;
      case Step::Kind::reconnect: ok = reconnect(s); break;
      case Step::Kind::line: ok = body_line(s); break;
      case Step::Kind::unordered: {
        std::vector<const Step*> group;
        for (; i < steps.size() && steps[i].kind == Step::Kind::unordered; ++i) group.push_back(&steps[i]);
        --i;
        ok = unordered(group);
        break;
      }
    }
    if (!ok) return false;
    if (finished_) return true;
  }
  return true;
}

bool CaseRun::unordered(const std::vector<const Step*>& group) {
  return fail(*group.front(), "a step of this protocol", "u: (unordered untagged) is IMAP only");
}

bool CaseRun::body_line(const Step& s) { return fail(s, "a step of this protocol", "s-line: is POP3 only"); }

bool CaseRun::fail(const Step& s, std::string expected, std::string got) {
  r_.verdict = Verdict::fail;
  r_.reason = "line " + std::to_string(s.line) + ": " + describe_step(s);
  r_.expected = std::move(expected);
  r_.got = std::move(got);
  return false;
}

std::string CaseRun::describe_step(const Step& s) {
  switch (s.kind) {
    case Step::Kind::send: return "c: " + s.arg;
    case Step::Kind::send_raw: return "c-raw: " + s.arg;
    case Step::Kind::expect: return "s: " + s.arg;
    case Step::Kind::contains: return "s-contains: " + s.arg;
    case Step::Kind::lacks: return "s-lacks: " + s.arg;
    case Step::Kind::capture: return "capture: " + s.arg;
    case Step::Kind::line: return "s-line: " + s.arg;
    case Step::Kind::unordered: return "u: " + s.arg;
    case Step::Kind::tls: return "tls: " + s.arg;
    case Step::Kind::reconnect: return "reconnect: " + s.arg;
  }
  return s.arg;
}

Connection::Recv CaseRun::fill(Clock::time_point deadline) {
  if (eof_) return Connection::Recv::eof;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  const auto rc = conn_->recv(buf_, std::max(left, std::chrono::milliseconds(0)));
  if (rc == Connection::Recv::eof || rc == Connection::Recv::error) eof_ = true;
  if (rc == Connection::Recv::data) heard_ = true;
  if (rc == Connection::Recv::timeout && !heard_) silent_timeout_ = true;
  return rc;
}

bool CaseRun::send(const Step& s) {
  std::string error;
  auto bytes = expand_client_text(s.arg, captures_, error);
  if (!bytes) return fail(s, "a valid client line", error);
  if (s.kind == Step::Kind::send) *bytes += "\r\n";
  r_.transcript.push_back("C: " + printable(*bytes));
  on_send();
  if (!conn_->send(*bytes, error)) return fail(s, "to send " + printable(*bytes, 60), "send failed: " + error);
  return true;
}

bool CaseRun::tls(const Step& s) {
  if (!buf_.empty()) return fail(s, "nothing from the server before the TLS handshake", printable(buf_, 200));
  if (eof_) return fail(s, "an open connection for the TLS handshake", "connection closed");
  std::string error;
  std::shared_ptr<tls::TlsContext> ctx = opt_.tls_context;
  if (!ctx) ctx = make_client_tls_context("", error);
  if (!ctx) return fail(s, "a TLS client context", error);
  auto upgraded = tls_handshake(std::move(conn_), *ctx, opt_.tls_server_name, opt_.reply_timeout, error);
  if (!upgraded) {
    eof_ = true;
    conn_ = nullptr;
    if (s.arg == "or-close") {
      // The server took what followed the command as handshake bytes (RFC 9051 §6.2.1
      // option 1): a failed handshake is the conformant outcome, and the case ends here.
      r_.transcript.push_back("   <TLS handshake failed: " + error + "; allowed by tls: or-close>");
      finished_ = true;
      return true;
    }
    return fail(s, "a TLS handshake", error);
  }
  conn_ = std::move(upgraded);
  r_.transcript.push_back("   <TLS established>");
  return true;
}

// A dropped connection: closed without a word (no QUIT/LOGOUT), whatever was pending
// discarded; after `wait_ms` a new connection to the same target, whose greeting the next
// step expects. Captures carry over: "the same unique-id in the next session".
bool CaseRun::reconnect(const Step& s) {
  if (!reconnect_) return fail(s, "a target to reconnect to", "none (reconnect: needs the runner's target)");
  conn_ = nullptr;
  buf_.clear();
  eof_ = false;
  r_.transcript.push_back("   <connection dropped; new connection after " + std::to_string(s.wait_ms) + " ms>");
  if (s.wait_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(s.wait_ms));
  std::string error;
  conn_ = reconnect_(error);
  if (!conn_) {
    eof_ = true;
    return fail(s, "a new connection", "connect: " + error);
  }
  return true;
}

bool CaseRun::capture(const Step& s) {
  const auto text = capture_text();
  if (!text) return fail(s, "a previous response", "none");
  auto re = regex_for(s, s.capture_regex, false);
  if (!re) return false;
  std::smatch m;
  if (!std::regex_search(*text, m, *re)) return fail(s, "/" + s.capture_regex + "/ in the response", printable(*text, 300));
  captures_[s.capture_name] = m.size() > 1 ? m[1].str() : m[0].str();
  return true;
}

bool CaseRun::expect_close(const Step& s) {
  const auto deadline = Clock::now() + opt_.reply_timeout;
  for (;;) {
    if (!buf_.empty()) return fail(s, "the server closes the connection", "more output: " + printable(buf_));
    if (eof_) return true;
    const auto rc = fill(deadline);
    if (rc == Connection::Recv::timeout) return fail(s, "the server closes the connection", "the connection stays open");
    if (eof_ && buf_.empty()) {
      r_.transcript.push_back("S: <close>");
      return true;
    }
  }
}

bool CaseRun::expect_none(const Step& s, int ms) {
  // "No reply" holds when nothing arrives, and also when the server hangs up without a
  // word: the point is that no reply was produced.
  const std::string what = "no reply within " + std::to_string(ms) + " ms (a close is fine)";
  if (!buf_.empty()) return fail(s, what, "got " + printable(buf_));
  if (eof_) return true;
  const auto rc = fill(Clock::now() + std::chrono::milliseconds(ms));
  if (rc == Connection::Recv::data) return fail(s, what, "got " + printable(buf_));
  if (eof_) r_.transcript.push_back("S: <close>");
  return true;
}

std::optional<std::regex> CaseRun::regex_for(const Step& s, const std::string& re, bool icase) {
  std::string error;
  const auto expanded = expand_regex(re, captures_, error);
  if (!expanded) {
    fail(s, "known captures", error);
    return std::nullopt;
  }
  try {
    return std::regex(*expanded, icase ? std::regex::ECMAScript | std::regex::icase : std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    fail(s, "a valid regex", e.what());
    return std::nullopt;
  }
}

std::unique_ptr<CaseRun> make_case_run(Protocol p, std::unique_ptr<Connection> conn, const RunOptions& o,
                                       CaseResult& r, const std::string& unique) {
  std::unique_ptr<CaseRun> run;
  switch (p) {
    case Protocol::smtp: run = make_smtp_case_run(std::move(conn), o, r); break;
    case Protocol::imap: run = make_imap_case_run(std::move(conn), o, r); break;
    case Protocol::pop3: run = make_pop3_case_run(std::move(conn), o, r); break;
  }
  run->captures_["UNIQUE"] = unique;
  if (!o.user.empty()) {
    run->captures_["USER"] = o.user;
    run->captures_["PASSWORD"] = o.password;
    run->captures_["USER_B64"] = sasl::base64_encode(o.user);
    run->captures_["PASSWORD_B64"] = sasl::base64_encode(o.password);
    run->captures_["AUTH_PLAIN"] = sasl::base64_encode(std::string(1, '\0') + o.user + std::string(1, '\0') + o.password);
    run->captures_["AUTH_PLAIN_WRONG"] =
        sasl::base64_encode(std::string(1, '\0') + o.user + std::string(1, '\0') + o.password + "-wrong");
  }
  return run;
}

}  // namespace mail::conformance
