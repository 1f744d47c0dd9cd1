// Runner: executes transcript steps over a Connection, matches SMTP replies, and writes the
// table, the per-RFC summary, JUnit XML and JSON. Reply parsing is strict (RFC 5321 §4.2:
// CRLF line ends, one code per reply, "-" continuation), because a sloppy reply is itself
// a finding.
#include "runner.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <iomanip>
#include <map>
#include <regex>
#include <sstream>

namespace mail::conformance {

std::string_view to_string(Verdict v) noexcept {
  switch (v) {
    case Verdict::pass: return "pass";
    case Verdict::fail: return "FAIL";
    case Verdict::not_applicable: return "n/a";
    case Verdict::not_run: return "not-run";
    case Verdict::error: return "ERROR";
  }
  return "?";
}

namespace {

using Clock = std::chrono::steady_clock;

std::string upper(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return r;
}

// Printable form of wire bytes for transcripts: CR/LF/controls escaped, long runs cut.
std::string printable(std::string_view s, std::size_t max = 160) {
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
    else if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      r += "\\x";
      r += hex[c >> 4];
      r += hex[c & 15];
    } else r += static_cast<char>(c);
  }
  return r;
}

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
  if (e.codes.size() > 1) r += "any of ";
  for (std::size_t i = 0; i < e.codes.size(); ++i) r += (i ? " " : "") + e.codes[i];
  if (!e.enhanced.empty()) r += " " + e.enhanced;
  if (!e.regex.empty()) r += " /" + e.regex + "/" + (e.icase ? "i" : "");
  return r;
}

bool keyword_line(std::string_view text, std::string_view want) {
  const std::string t = upper(text), w = upper(want);
  if (t.compare(0, w.size(), w) != 0) return false;
  return t.size() == w.size() || t[w.size()] == ' ' || t[w.size()] == '=';
}

bool selected(const Case& c, const std::string& only) {
  if (only.empty()) return true;
  const std::string id = c.full_id();
  if (only.find_first_of("*?[") != std::string::npos) return fnmatch(only.c_str(), id.c_str(), 0) == 0;
  return id.find(only) != std::string::npos;
}

// Runs the steps of one SMTP case over `conn`; fills `r` on failure and returns false.
class SmtpCaseRun {
 public:
  SmtpCaseRun(Connection& conn, const RunOptions& o, CaseResult& r) : conn_(conn), opt_(o), r_(r) {}

  bool step(const Step& s) {
    switch (s.kind) {
      case Step::Kind::send:
      case Step::Kind::send_raw: return send(s);
      case Step::Kind::expect: return expect(s, *s.smtp);
      case Step::Kind::contains:
      case Step::Kind::lacks: return contains(s);
      case Step::Kind::capture: return capture(s);
      case Step::Kind::line:
      case Step::Kind::unordered: return fail(s, "an SMTP step", "an IMAP/POP3 step in an SMTP case");
    }
    return false;
  }

 private:
  bool fail(const Step& s, std::string expected, std::string got) {
    r_.verdict = Verdict::fail;
    r_.reason = "line " + std::to_string(s.line) + ": " + describe_step(s);
    r_.expected = std::move(expected);
    r_.got = std::move(got);
    return false;
  }
  static std::string describe_step(const Step& s) {
    switch (s.kind) {
      case Step::Kind::send: return "c: " + s.arg;
      case Step::Kind::send_raw: return "c-raw: " + s.arg;
      case Step::Kind::expect: return "s: " + s.arg;
      case Step::Kind::contains: return "s-contains: " + s.arg;
      case Step::Kind::lacks: return "s-lacks: " + s.arg;
      case Step::Kind::capture: return "capture: " + s.arg;
      case Step::Kind::line: return "s-line: " + s.arg;
      case Step::Kind::unordered: return "u: " + s.arg;
    }
    return s.arg;
  }

  bool send(const Step& s) {
    std::string error;
    auto bytes = expand_client_text(s.arg, captures_, error);
    if (!bytes) return fail(s, "a valid client line", error);
    if (s.kind == Step::Kind::send) *bytes += "\r\n";
    r_.transcript.push_back("C: " + printable(*bytes));
    if (!conn_.send(*bytes, error)) return fail(s, "to send " + printable(*bytes, 60), "send failed: " + error);
    return true;
  }

  // Reads until one reply is complete; 1 = reply, 0 = eof/timeout (got filled), -1 = malformed.
  int read_reply(SmtpReply& reply, std::string& got, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      std::string error;
      const int t = take_smtp_reply(buf_, reply, error);
      if (t == 1) {
        for (std::size_t i = 0; i < reply.texts.size(); ++i)
          r_.transcript.push_back("S: " + std::to_string(reply.code) + (i + 1 < reply.texts.size() ? "-" : " ") + printable(reply.texts[i]));
        return 1;
      }
      if (t < 0) {
        got = "malformed reply: " + error + ": " + printable(buf_);
        r_.transcript.push_back("S: " + printable(buf_) + "   <- malformed");
        return -1;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      const auto rc = eof_ ? Connection::Recv::eof : conn_.recv(buf_, std::max(left, std::chrono::milliseconds(0)));
      if (rc == Connection::Recv::data) continue;
      if (rc == Connection::Recv::eof || rc == Connection::Recv::error) {
        eof_ = true;
        got = buf_.empty() ? "connection closed" : "connection closed after partial reply " + printable(buf_);
        r_.transcript.push_back("S: <close>");
        return 0;
      }
      got = buf_.empty() ? "no reply within " + std::to_string(timeout.count()) + " ms"
                         : "incomplete reply " + printable(buf_);
      return 0;
    }
  }

  bool expect(const Step& s, const SmtpExpect& e) {
    switch (e.kind) {
      case SmtpExpect::Kind::close: {
        const auto deadline = Clock::now() + opt_.reply_timeout;
        for (;;) {
          SmtpReply reply;
          std::string error;
          if (take_smtp_reply(buf_, reply, error) != 0)
            return fail(s, describe(e), "more output: " + printable(buf_));
          if (eof_) return true;
          const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
          const auto rc = conn_.recv(buf_, std::max(left, std::chrono::milliseconds(0)));
          if (rc == Connection::Recv::eof || rc == Connection::Recv::error) {
            eof_ = true;
            if (!buf_.empty()) return fail(s, describe(e), "more output before the close: " + printable(buf_));
            r_.transcript.push_back("S: <close>");
            return true;
          }
          if (rc == Connection::Recv::timeout) return fail(s, describe(e), "the connection stays open");
        }
      }
      case SmtpExpect::Kind::none: {
        // "No reply" holds when nothing arrives, and also when the server hangs up without
        // a word: the point is that no reply was produced.
        if (!buf_.empty()) return fail(s, describe(e), "got " + printable(buf_));
        if (eof_) return true;
        const auto rc = conn_.recv(buf_, std::chrono::milliseconds(e.none_ms));
        if (rc == Connection::Recv::data) return fail(s, describe(e), "got " + printable(buf_));
        if (rc != Connection::Recv::timeout) {
          eof_ = true;
          r_.transcript.push_back("S: <close>");
        }
        return true;
      }
      case SmtpExpect::Kind::reply: break;
    }
    SmtpReply reply;
    std::string got;
    if (read_reply(reply, got, opt_.reply_timeout) != 1) return fail(s, describe(e), got);
    last_ = reply;
    std::string why;
    const bool enh = opt_.capabilities.contains("ENHANCEDSTATUSCODES");
    if (!match_smtp_reply(e, reply, enh, why)) return fail(s, describe(e), printable(reply.raw, 300) + " (" + why + ")");
    return true;
  }

  bool contains(const Step& s) {
    if (!last_) return fail(s, "a previous reply", "none");
    bool found = false;
    for (const auto& t : last_->texts) found = found || keyword_line(t, s.arg);
    if (s.kind == Step::Kind::contains && !found) return fail(s, "a line starting with " + s.arg, printable(last_->raw, 300));
    if (s.kind == Step::Kind::lacks && found) return fail(s, "no line starting with " + s.arg, printable(last_->raw, 300));
    return true;
  }

  bool capture(const Step& s) {
    if (!last_) return fail(s, "a previous reply", "none");
    const std::regex re(s.capture_regex, std::regex::ECMAScript);
    const std::string text = joined_text(*last_);
    std::smatch m;
    if (!std::regex_search(text, m, re)) return fail(s, "/" + s.capture_regex + "/ in the reply", printable(text, 300));
    captures_[s.capture_name] = m.size() > 1 ? m[1].str() : m[0].str();
    return true;
  }

  Connection& conn_;
  const RunOptions& opt_;
  CaseResult& r_;
  std::string buf_;
  bool eof_ = false;
  std::optional<SmtpReply> last_;
  std::map<std::string, std::string> captures_;
};

}  // namespace

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
  if (std::none_of(e.codes.begin(), e.codes.end(), [&](const std::string& p) { return code_matches(p, reply.code); })) {
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
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      const int t = take_smtp_reply(buf, r, error);
      if (t == 1) return true;
      if (t < 0) return false;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
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
    const std::string& t = ehlo.texts[i];
    caps.insert(upper(t.substr(0, t.find(' '))));
  }
  std::string ignored;
  (void)conn->send("QUIT\r\n", ignored);
  return true;
}

CaseResult run_case(const Case& c, const Suite& suite, Target& target, const RunOptions& options) {
  CaseResult r;
  r.c = &c;
  const auto start = Clock::now();
  auto done = [&]() {
    r.millis = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    return r;
  };
  if (c.protocol != Protocol::smtp) {
    r.verdict = Verdict::not_run;
    r.reason = std::string(to_string(c.protocol)) + " execution comes with that server (parsed only)";
    return done();
  }
  for (const auto& req : c.requires_caps) {
    const bool negated = !req.empty() && req[0] == '!';
    const std::string cap = upper(negated ? std::string_view(req).substr(1) : std::string_view(req));
    if (!options.capabilities_known) {
      r.verdict = Verdict::not_applicable;
      r.reason = "target capabilities unknown";
      return done();
    }
    const bool has = options.capabilities.contains(cap);
    if (negated == has) {
      r.verdict = Verdict::not_applicable;
      r.reason = negated ? cap + " is advertised" : cap + " is not advertised";
      return done();
    }
  }
  std::string error;
  auto conn = target.connect(error);
  if (!conn) {
    r.verdict = Verdict::error;
    r.reason = "connect: " + error;
    return done();
  }
  SmtpCaseRun run(*conn, options, r);
  for (const auto& name : c.setups)
    for (const auto& s : suite.setups.at(name))
      if (!run.step(s)) {
        r.reason = "setup '" + name + "' " + r.reason;
        return done();
      }
  for (const auto& s : c.steps)
    if (!run.step(s)) return done();
  r.verdict = Verdict::pass;
  return done();
}

std::vector<CaseResult> run_suite(const Suite& suite, Protocol protocol, Target& target, const RunOptions& options) {
  std::vector<CaseResult> results;
  for (const auto& c : suite.cases) {
    if (c.protocol != protocol || !selected(c, options.only)) continue;
    results.push_back(run_case(c, suite, target, options));
  }
  return results;
}

void print_table(std::ostream& out, const std::vector<CaseResult>& results, bool verbose_failures) {
  std::size_t width = 20;
  for (const auto& r : results) width = std::max(width, r.c->full_id().size());
  for (const auto& r : results) {
    out << std::left << std::setw(8) << to_string(r.verdict) << std::setw(static_cast<int>(width) + 2) << r.c->full_id()
        << std::setw(7) << to_string(r.c->level) << "RFC " << r.c->rfc << "\n";
    if (r.verdict == Verdict::pass) continue;
    if (!r.reason.empty()) out << "        " << r.reason << "\n";
    if (r.verdict != Verdict::fail || !verbose_failures) continue;
    out << "        expected: " << r.expected << "\n"
        << "        got:      " << r.got << "\n";
    const std::size_t from = r.transcript.size() > 12 ? r.transcript.size() - 12 : 0;
    if (from > 0) out << "          ...\n";
    for (std::size_t i = from; i < r.transcript.size(); ++i) out << "          " << r.transcript[i] << "\n";
  }
}

namespace {
struct Tally {
  int pass[3] = {0, 0, 0};
  int total[3] = {0, 0, 0};
  int na = 0, not_run = 0;
};
std::map<int, Tally> tally(const std::vector<CaseResult>& results) {
  std::map<int, Tally> t;
  for (const auto& r : results) {
    Tally& x = t[std::stoi(r.c->rfc_numbers.front())];
    const auto l = static_cast<std::size_t>(r.c->level);
    if (r.verdict == Verdict::not_applicable) ++x.na;
    else if (r.verdict == Verdict::not_run) ++x.not_run;
    else {
      ++x.total[l];
      if (r.verdict == Verdict::pass) ++x.pass[l];
    }
  }
  return t;
}
}  // namespace

void print_summary(std::ostream& out, const std::vector<CaseResult>& results) {
  int pass = 0, fail = 0, na = 0, other = 0;
  for (const auto& r : results) {
    if (r.verdict == Verdict::pass) ++pass;
    else if (r.verdict == Verdict::fail) ++fail;
    else if (r.verdict == Verdict::not_applicable) ++na;
    else ++other;
  }
  for (const auto& [rfc, x] : tally(results)) {
    out << "RFC " << rfc << ":";
    const char* sep = " ";
    for (int l = 0; l < 3; ++l) {
      if (x.total[l] == 0) continue;
      out << sep << x.pass[l] << "/" << x.total[l] << " " << to_string(static_cast<Level>(l));
      sep = ", ";
    }
    if (x.na) out << sep << x.na << " n/a";
    if (x.not_run) out << sep << x.not_run << " not run";
    out << "\n";
  }
  out << results.size() << " cases: " << pass << " pass, " << fail << " fail, " << na << " n/a";
  if (other) out << ", " << other << " error/not-run";
  out << "\n";
}

namespace {
std::string xml_escape(std::string_view s) {
  std::string r;
  for (char c : s) {
    switch (c) {
      case '<': r += "&lt;"; break;
      case '>': r += "&gt;"; break;
      case '&': r += "&amp;"; break;
      case '"': r += "&quot;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') r += "?";
        else r += c;
    }
  }
  return r;
}

std::string json_escape(std::string_view s) {
  std::string r = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"') r += "\\\"";
    else if (c == '\\') r += "\\\\";
    else if (c == '\n') r += "\\n";
    else if (u < 0x20) {
      static const char* hex = "0123456789abcdef";
      r += "\\u00";
      r += hex[u >> 4];
      r += hex[u & 15];
    } else r += c;
  }
  return r + "\"";
}
}  // namespace

void write_junit(std::ostream& out, const std::vector<CaseResult>& results, const std::string& suite_name) {
  int failures = 0, errors = 0, skipped = 0;
  double total = 0;
  for (const auto& r : results) {
    failures += r.verdict == Verdict::fail;
    errors += r.verdict == Verdict::error;
    skipped += r.verdict == Verdict::not_applicable || r.verdict == Verdict::not_run;
    total += r.millis;
  }
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
      << "  <testsuite name=\"" << xml_escape(suite_name) << "\" tests=\"" << results.size() << "\" failures=\"" << failures
      << "\" errors=\"" << errors << "\" skipped=\"" << skipped << "\" time=\"" << total / 1000 << "\">\n";
  for (const auto& r : results) {
    out << "    <testcase classname=\"" << xml_escape(suite_name + "." + r.c->topic) << "\" name=\""
        << xml_escape(r.c->id + " [RFC " + r.c->rfc + ", " + r.c->level_text + "]") << "\" time=\"" << r.millis / 1000 << "\"";
    if (r.verdict == Verdict::pass) {
      out << "/>\n";
      continue;
    }
    out << ">\n";
    if (r.verdict == Verdict::fail) {
      std::string body = "expected: " + r.expected + "\ngot:      " + r.got + "\n";
      for (const auto& t : r.transcript) body += t + "\n";
      out << "      <failure message=\"" << xml_escape(r.reason) << "\">" << xml_escape(body) << "</failure>\n";
    } else if (r.verdict == Verdict::error) {
      out << "      <error message=\"" << xml_escape(r.reason) << "\"/>\n";
    } else {
      out << "      <skipped message=\"" << xml_escape(r.reason) << "\"/>\n";
    }
    out << "    </testcase>\n";
  }
  out << "  </testsuite>\n</testsuites>\n";
}

void write_json(std::ostream& out, const std::vector<CaseResult>& results, const std::string& target) {
  out << "{\n  \"target\": " << json_escape(target) << ",\n  \"cases\": [\n";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    out << "    {\"id\": " << json_escape(r.c->full_id()) << ", \"rfc\": " << json_escape(r.c->rfc)
        << ", \"level\": " << json_escape(r.c->level_text) << ", \"verdict\": " << json_escape(to_string(r.verdict))
        << ", \"millis\": " << r.millis;
    if (!r.reason.empty()) out << ", \"reason\": " << json_escape(r.reason);
    if (r.verdict == Verdict::fail) {
      out << ", \"expected\": " << json_escape(r.expected) << ", \"got\": " << json_escape(r.got) << ", \"transcript\": [";
      for (std::size_t k = 0; k < r.transcript.size(); ++k) out << (k ? ", " : "") << json_escape(r.transcript[k]);
      out << "]";
    }
    out << "}" << (i + 1 < results.size() ? "," : "") << "\n";
  }
  out << "  ],\n  \"summary\": {";
  bool first = true;
  for (const auto& [rfc, x] : tally(results)) {
    out << (first ? "" : ", ") << "\"" << rfc << "\": {";
    first = false;
    for (int l = 0; l < 3; ++l)
      out << "\"" << to_string(static_cast<Level>(l)) << "\": [" << x.pass[l] << ", " << x.total[l] << "], ";
    out << "\"n/a\": " << x.na << ", \"not_run\": " << x.not_run << "}";
  }
  out << "}\n}\n";
}

bool any_must_failed(const std::vector<CaseResult>& results) {
  return std::any_of(results.begin(), results.end(), [](const CaseResult& r) {
    return r.c->level == Level::must && (r.verdict == Verdict::fail || r.verdict == Verdict::error);
  });
}

}  // namespace mail::conformance
