// SMTP case execution: strict reply framing (RFC 5321 §4.2: CRLF line ends, one code per
// reply, "-" continuation), because a sloppy reply is itself a finding; code classes,
// enhanced status codes (RFC 2034/3463, checked only when advertised), regexes; and the
// EHLO capability probe.
#include <algorithm>
#include <cctype>
#include <sstream>

#include "case_run.h"

namespace mail::conformance {
namespace {

std::string joined_text(const SmtpReply& r) {
  std::string t;
  for (std::size_t i = 0; i < r.texts.size(); ++i) {
    if (i) t += '\n';
    t += r.texts[i];
  }
  return t;
}

bool code_matches(std::string_view pattern, int code) {
  const std::string c = std::to_string(code);
  if (c.size() != 3) return false;
  for (std::size_t i = 0; i < 3; ++i)
    if (pattern[i] != 'x' && pattern[i] != c[i]) return false;
  return true;
}

bool enhanced_matches(std::string_view pattern, std::string_view text) {
  const std::string_view got = text.substr(0, text.find(' '));
  std::size_t pi = 0, gi = 0;
  for (int part = 0; part < 3; ++part) {
    const std::size_t pe = pattern.find('.', pi);
    const std::size_t ge = got.find('.', gi);
    const std::string_view p = pattern.substr(pi, pe == std::string_view::npos ? std::string_view::npos : pe - pi);
    const std::string_view g = got.substr(gi, ge == std::string_view::npos ? std::string_view::npos : ge - gi);
    if (g.empty() || !std::all_of(g.begin(), g.end(), [](char d) { return std::isdigit(static_cast<unsigned char>(d)); }))
      return false;
    if (p != "x" && p != g) return false;
    if ((pe == std::string_view::npos) != (ge == std::string_view::npos)) return false;
    pi = pe + 1;
    gi = ge + 1;
  }
  return true;
}

std::string describe(const SmtpExpect& e) {
  switch (e.kind) {
    case SmtpExpect::Kind::close: return "the server closes the connection";
    case SmtpExpect::Kind::none: return "no reply within " + std::to_string(e.none_ms) + " ms (a close is fine)";
    case SmtpExpect::Kind::reply: break;
  }
  std::string r = e.multiline ? "multiline " : e.single ? "single-line " : "";
  if (e.precondition) r += "if ";
  if (e.negated) r += "any code but ";
  else if (e.codes.size() > 1) r += "any of ";
  for (std::size_t i = 0; i < e.codes.size(); ++i) r += (i ? " " : "") + e.codes[i];
  if (!e.enhanced.empty()) r += " " + e.enhanced;
  if (!e.regex.empty()) r += " /" + e.regex + "/" + (e.icase ? "i" : "");
  return r;
}

// The code part of an expectation (a precondition holds on the code alone).
SmtpExpect code_only(const SmtpExpect& e) {
  SmtpExpect c;
  c.codes = e.codes;
  c.negated = e.negated;
  return c;
}

bool keyword_line(std::string_view text, std::string_view want) {
  const std::string t = ascii_upper(text), w = ascii_upper(want);
  if (t.compare(0, w.size(), w) != 0) return false;
  return t.size() == w.size() || t[w.size()] == ' ' || t[w.size()] == '=';
}

class SmtpCaseRun final : public CaseRun {
 public:
  using CaseRun::CaseRun;

 private:
  // Reads until one reply is complete; 1 = reply, 0 = eof/timeout (got filled), -1 = malformed.
  int read_reply(SmtpReply& reply, std::string& got, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      std::string error;
      const int t = take_smtp_reply(buf_, reply, error);
      if (t == 1) {
        for (std::size_t i = 0; i < reply.texts.size(); ++i)
          r_.transcript.push_back("S: " + std::to_string(reply.code) + (i + 1 < reply.texts.size() ? "-" : " ") +
                                  printable(reply.texts[i]));
        return 1;
      }
      if (t < 0) {
        got = "malformed reply: " + error + ": " + printable(buf_);
        r_.transcript.push_back("S: " + printable(buf_) + "   <- malformed");
        return -1;
      }
      const auto rc = fill(deadline);
      if (rc == Connection::Recv::data) continue;
      if (eof_) {
        got = buf_.empty() ? "connection closed" : "connection closed after partial reply " + printable(buf_);
        r_.transcript.push_back("S: <close>");
        return 0;
      }
      got = buf_.empty() ? "no reply within " + std::to_string(timeout.count()) + " ms" : "incomplete reply " + printable(buf_);
      return 0;
    }
  }

  bool expect(const Step& s) override {
    const SmtpExpect& e = *s.smtp;
    switch (e.kind) {
      case SmtpExpect::Kind::close: return expect_close(s);
      case SmtpExpect::Kind::none: return expect_none(s, e.none_ms);
      case SmtpExpect::Kind::reply: break;
    }
    SmtpReply reply;
    std::string got;
    if (read_reply(reply, got, opt_.reply_timeout) != 1) return fail(s, describe(e), got);
    last_ = reply;
    std::string why;
    const bool enh = opt_.capabilities.contains("ENHANCEDSTATUSCODES");
    SmtpExpect filled = e;
    if (!e.regex.empty()) {
      std::string error;
      const auto re = expand_regex(e.regex, captures_, error);
      if (!re) return fail(s, "known captures", error);
      filled.regex = *re;
    }
    if (e.precondition && !match_smtp_reply(code_only(e), reply, enh, why)) {
      // The case's premise does not hold on this server (e.g. it accepts what the case
      // needs refused): n/a, and the rest of the case is skipped.
      not_applicable_ = "precondition at line " + std::to_string(s.line) + " (" + describe(e) + ") did not hold: got " +
                        printable(reply.raw, 120);
      finished_ = true;
      return true;
    }
    if (!match_smtp_reply(filled, reply, enh, why)) return fail(s, describe(e), printable(reply.raw, 300) + " (" + why + ")");
    return true;
  }

  bool contains(const Step& s) override {
    if (!last_) return fail(s, "a previous reply", "none");
    bool found = false;
    for (const auto& t : last_->texts) found = found || keyword_line(t, s.arg);
    if (s.kind == Step::Kind::contains && !found) return fail(s, "a line starting with " + s.arg, printable(last_->raw, 300));
    if (s.kind == Step::Kind::lacks && found) return fail(s, "no line starting with " + s.arg, printable(last_->raw, 300));
    return true;
  }

  std::optional<std::string> capture_text() const override {
    if (!last_) return std::nullopt;
    return joined_text(*last_);
  }

  std::optional<SmtpReply> last_;
};

}  // namespace

std::unique_ptr<CaseRun> make_smtp_case_run(std::unique_ptr<Connection> conn, const RunOptions& o, CaseResult& r) {
  return std::make_unique<SmtpCaseRun>(std::move(conn), o, r);
}

int take_smtp_reply(std::string& buf, SmtpReply& reply, std::string& error) {
  SmtpReply r;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t lf = buf.find('\n', pos);
    if (lf == std::string::npos) {
      if (buf.size() - pos > 4096) {
        error = "reply line longer than 4096 octets without LF";
        return -1;
      }
      return 0;
    }
    if (lf == pos || buf[lf - 1] != '\r') {
      error = "reply line ends in a bare LF (RFC 5321 §2.3.8)";
      return -1;
    }
    const std::string_view line(buf.data() + pos, lf - 1 - pos);
    if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
        !std::isdigit(static_cast<unsigned char>(line[1])) || !std::isdigit(static_cast<unsigned char>(line[2]))) {
      error = "reply line does not start with a 3-digit code (RFC 5321 §4.2)";
      return -1;
    }
    const int code = std::stoi(std::string(line.substr(0, 3)));
    if (r.code != 0 && code != r.code) {
      error = "multiline reply changes code from " + std::to_string(r.code) + " to " + std::to_string(code);
      return -1;
    }
    r.code = code;
    const bool last = line.size() == 3 || line[3] == ' ';
    if (!last && line[3] != '-') {
      error = "reply code followed by neither SP nor '-' (RFC 5321 §4.2)";
      return -1;
    }
    r.texts.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
    pos = lf + 1;
    if (last) break;
  }
  r.raw = buf.substr(0, pos);
  buf.erase(0, pos);
  reply = std::move(r);
  return 1;
}

bool match_smtp_reply(const SmtpExpect& e, const SmtpReply& reply, bool enhanced_codes, std::string& why) {
  const bool listed =
      std::any_of(e.codes.begin(), e.codes.end(), [&](const std::string& p) { return code_matches(p, reply.code); });
  if (listed == e.negated) {
    why = "code " + std::to_string(reply.code);
    return false;
  }
  if (e.multiline && reply.texts.size() < 2) {
    why = "single-line reply";
    return false;
  }
  if (e.single && reply.texts.size() != 1) {
    why = std::to_string(reply.texts.size()) + " lines";
    return false;
  }
  if (!e.enhanced.empty() && enhanced_codes && !enhanced_matches(e.enhanced, reply.texts.front())) {
    why = "enhanced code";
    return false;
  }
  if (!e.regex.empty()) {
    const std::regex re(e.regex, e.icase ? std::regex::ECMAScript | std::regex::icase : std::regex::ECMAScript);
    if (!std::regex_search(joined_text(reply), re)) {
      why = "text does not match";
      return false;
    }
  }
  return true;
}

bool probe_smtp_capabilities(Target& target, std::chrono::milliseconds timeout, std::set<std::string>& caps,
                             std::string& error) {
  auto conn = target.connect(error);
  if (!conn) return false;
  std::string buf;
  auto read = [&](SmtpReply& r) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const int t = take_smtp_reply(buf, r, error);
      if (t == 1) return true;
      if (t < 0) return false;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (conn->recv(buf, std::max(left, std::chrono::milliseconds(0))) != Connection::Recv::data) {
        error = "no complete reply (" + printable(buf) + ")";
        return false;
      }
    }
  };
  SmtpReply greeting, ehlo;
  if (!read(greeting)) return false;
  if (greeting.code != 220) {
    error = "greeting " + std::to_string(greeting.code);
    return false;
  }
  if (!conn->send("EHLO conformance.example.test\r\n", error) || !read(ehlo)) return false;
  if (ehlo.code != 250) {
    error = "EHLO answered " + std::to_string(ehlo.code);
    return false;
  }
  for (std::size_t i = 1; i < ehlo.texts.size(); ++i) {
    const std::string line = ascii_upper(ehlo.texts[i]);
    const std::string keyword = line.substr(0, line.find(' '));
    caps.insert(keyword);
    // "AUTH PLAIN LOGIN" also gives AUTH=PLAIN and AUTH=LOGIN, so a case can require a mechanism.
    if (keyword == "AUTH") {
      std::istringstream mechs(line.substr(keyword.size()));
      for (std::string m; mechs >> m;) caps.insert("AUTH=" + m);
    }
  }
  std::string ignored;
  (void)conn->send("QUIT\r\n", ignored);
  return true;
}

}  // namespace mail::conformance
