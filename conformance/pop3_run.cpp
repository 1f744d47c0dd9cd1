// POP3 case execution (RFC 1939 §3, RFC 2449, RFC 5034): status lines "+OK"/"-ERR",
// SASL continuations "+ ", and multi-line responses ending in "." CRLF with the
// byte-stuffing undone before matching. s-line:/s-contains: look at the last body;
// capture: sees the last status line and body. Also the CAPA capability probe.
#include <algorithm>
#include <cctype>
#include <sstream>

#include "case_run.h"
#include "imap_run.h"

namespace mail::conformance {
namespace {

std::string describe(const Pop3Expect& e) {
  std::string r;
  switch (e.kind) {
    case Pop3Expect::Kind::close: return "the server closes the connection";
    case Pop3Expect::Kind::none: return "no response within " + std::to_string(e.none_ms) + " ms";
    case Pop3Expect::Kind::ok: r = e.multiline ? "multiline +OK" : "+OK"; break;
    case Pop3Expect::Kind::err: r = "-ERR"; break;
    case Pop3Expect::Kind::continuation: r = "+ (continuation)"; break;
  }
  if (e.or_close) r += " or the connection closed";
  if (!e.regex.empty()) r += " /" + e.regex + "/" + (e.icase ? "i" : "");
  return r;
}

bool status_is(std::string_view line, std::string_view word) {
  return line.substr(0, word.size()) == word && (line.size() == word.size() || line[word.size()] == ' ');
}

class Pop3CaseRun final : public CaseRun {
 public:
  using CaseRun::CaseRun;

 private:
  bool expect(const Step& s) override {
    const Pop3Expect& e = *s.pop3;
    if (e.kind == Pop3Expect::Kind::close) return expect_close(s);
    if (e.kind == Pop3Expect::Kind::none) return expect_none(s, e.none_ms);
    const auto deadline = Clock::now() + opt_.reply_timeout;
    Pop3Response resp;
    for (;;) {
      std::string error;
      const int t = take_pop3_response(buf_, e.multiline, resp, error);
      if (t == 1) break;
      if (t < 0) {
        note_server(buf_ + "   <- malformed");
        return fail(s, describe(e), "malformed response: " + error + ": " + printable(buf_));
      }
      const auto rc = fill(deadline);
      if (rc == Connection::Recv::data) continue;
      if (eof_ && buf_.empty() && e.or_close) {
        r_.transcript.push_back("S: <close>, allowed here (|close)");
        not_applicable_ = "the server closed the connection, which this step allows (RFC 1939 §4: after a refused "
                          "authentication command); the rest of the case cannot be observed";
        finished_ = true;
        return true;
      }
      if (eof_) {
        r_.transcript.push_back("S: <close>");
        return fail(s, describe(e), buf_.empty() ? "connection closed" : "connection closed after " + printable(buf_));
      }
      return fail(s, describe(e), buf_.empty() ? "no response in time" : "incomplete response " + printable(buf_));
    }
    note_server(resp.status);
    for (std::size_t i = 0; i < resp.lines.size() && i < 20; ++i) note_server("  " + resp.lines[i]);
    if (resp.lines.size() > 20) r_.transcript.push_back("S:   ... (" + std::to_string(resp.lines.size()) + " lines)");
    last_ = resp;
    bool kind_ok = false;
    switch (e.kind) {
      case Pop3Expect::Kind::ok: kind_ok = status_is(resp.status, "+OK"); break;
      case Pop3Expect::Kind::err: kind_ok = status_is(resp.status, "-ERR"); break;
      case Pop3Expect::Kind::continuation: kind_ok = status_is(resp.status, "+"); break;
      default: break;
    }
    if (!kind_ok) return fail(s, describe(e), printable(resp.status, 300));
    if (!e.regex.empty()) {
      const auto re = regex_for(s, e.regex, e.icase);
      if (!re) return false;
      if (!std::regex_search(resp.status, *re)) return fail(s, describe(e), printable(resp.status, 300) + " (text does not match)");
    }
    return true;
  }

  bool body_line(const Step& s) override {
    if (!last_) return fail(s, "a previous multi-line response", "none");
    const auto re = regex_for(s, s.capture_regex, s.icase);
    if (!re) return false;
    for (const auto& l : last_->lines)
      if (std::regex_search(l, *re)) return true;
    return fail(s, "a body line matching /" + s.capture_regex + "/", std::to_string(last_->lines.size()) + " lines, none matches");
  }

  bool contains(const Step& s) override {
    if (!last_) return fail(s, "a previous response", "none");
    const std::string want = ascii_upper(s.arg);
    bool found = false;
    for (const auto& l : last_->lines) {
      const std::string u = ascii_upper(l);
      found = found || (u.rfind(want, 0) == 0 && (u.size() == want.size() || u[want.size()] == ' '));
    }
    if (s.kind == Step::Kind::contains && !found) return fail(s, "a body line starting with " + s.arg, "none does");
    if (s.kind == Step::Kind::lacks && found) return fail(s, "no body line starting with " + s.arg, "one does");
    return true;
  }

  std::optional<std::string> capture_text() const override {
    if (!last_) return std::nullopt;
    std::string all = last_->status;
    for (const auto& l : last_->lines) all += "\n" + l;
    return all;
  }

  std::optional<Pop3Response> last_;
};

// One CRLF line off `buf` from `pos`: returns the line (no CRLF) and moves `pos`; nullopt
// when incomplete; sets `bad` on a bare LF.
std::optional<std::string_view> line_at(const std::string& buf, std::size_t& pos, bool& bad) {
  const std::size_t lf = buf.find('\n', pos);
  if (lf == std::string::npos) return std::nullopt;
  if (lf == pos || buf[lf - 1] != '\r') {
    bad = true;
    return std::nullopt;
  }
  const std::string_view l(buf.data() + pos, lf - 1 - pos);
  pos = lf + 1;
  return l;
}

}  // namespace

std::unique_ptr<CaseRun> make_pop3_case_run(std::unique_ptr<Connection> conn, const RunOptions& o, CaseResult& r) {
  return std::make_unique<Pop3CaseRun>(std::move(conn), o, r);
}

int take_pop3_response(std::string& buf, bool multi, Pop3Response& out, std::string& error) {
  std::size_t pos = 0;
  bool bad = false;
  const auto status = line_at(buf, pos, bad);
  if (bad) {
    error = "status line ends in a bare LF (RFC 1939 §3)";
    return -1;
  }
  if (!status) {
    if (buf.size() > 4096) {
      error = "status line longer than 4096 octets";
      return -1;
    }
    return 0;
  }
  Pop3Response r;
  r.status = std::string(*status);
  if (multi && status_is(r.status, "+OK")) {
    for (;;) {
      const auto l = line_at(buf, pos, bad);
      if (bad) {
        error = "body line ends in a bare LF (RFC 1939 §3)";
        return -1;
      }
      if (!l) return 0;
      if (*l == ".") break;
      // Byte-stuffing (RFC 1939 §3): a line starting with "." had one more prepended.
      r.lines.emplace_back(!l->empty() && l->front() == '.' ? l->substr(1) : *l);
    }
  }
  buf.erase(0, pos);
  out = std::move(r);
  return 1;
}

bool probe_pop3_capabilities(Target& target, const RunOptions& o, std::set<std::string>& caps, std::string& error) {
  auto conn = target.connect(error);
  if (!conn) return false;
  std::string buf;
  auto read = [&](bool multi, Pop3Response& r) {
    const auto deadline = std::chrono::steady_clock::now() + o.reply_timeout;
    for (;;) {
      const int t = take_pop3_response(buf, multi, r, error);
      if (t == 1) return true;
      if (t < 0) return false;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (conn->recv(buf, std::max(left, std::chrono::milliseconds(0))) != Connection::Recv::data) {
        error = "no complete response (" + printable(buf) + ")";
        return false;
      }
    }
  };
  Pop3Response greeting, capa;
  if (!read(false, greeting)) return false;
  if (!status_is(greeting.status, "+OK")) {
    error = "greeting " + printable(greeting.status, 80);
    return false;
  }
  if (!conn->send("CAPA\r\n", error) || !read(true, capa)) return false;
  // A server without CAPA (RFC 2449 is optional) answers -ERR: it has no capabilities.
  for (const auto& l : capa.lines) {
    std::istringstream words(ascii_upper(l));
    std::string tag;
    words >> tag;
    if (tag.empty()) continue;
    caps.insert(tag);
    if (tag == "SASL")
      for (std::string m; words >> m;) caps.insert("SASL=" + m);
  }
  std::string ignored;
  (void)conn->send("QUIT\r\n", ignored);
  return true;
}

}  // namespace mail::conformance
