// Runner: decides per case (selected? applicable? credentials?), runs it over a fresh
// connection with the protocol's CaseRun (smtp_run.cpp, imap_run.cpp, pop3_run.cpp), and
// writes the table, the per-RFC summary, JUnit XML and JSON.
#include "runner.h"

#include "case_run.h"
#include "core/assert.h"

#include <fnmatch.h>

#include <algorithm>
#include <array>
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

bool selected(const Case& c, const std::string& only) {
  if (only.empty()) return true;
  const std::string id = c.full_id();
  if (only.find_first_of("*?[") != std::string::npos) return fnmatch(only.c_str(), id.c_str(), 0) == 0;
  return id.find(only) != std::string::npos;
}

// Whether any client step of the case (or its setups) uses the credentials.
bool needs_credentials(const Case& c, const Suite& suite) {
  auto uses = [](const std::vector<Step>& steps) {
    for (const auto& s : steps) {
      if (s.kind != Step::Kind::send && s.kind != Step::Kind::send_raw) continue;
      for (const char* name : {"{{USER", "{{PASSWORD", "{{AUTH_PLAIN}}"})
        if (s.arg.find(name) != std::string::npos) return true;
    }
    return false;
  };
  if (uses(c.steps)) return true;
  for (const auto& name : c.setups)
    if (uses(suite.setups.at(name))) return true;
  return false;
}

}  // namespace

CaseResult run_case(const Case& c, const Suite& suite, Target& target, const RunOptions& options) {
  CaseResult r;
  r.c = &c;
  const auto start = Clock::now();
  auto done = [&]() {
    r.millis = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    return r;
  };
  if (needs_credentials(c, suite) && options.user.empty()) {
    r.verdict = Verdict::not_applicable;
    r.reason = "needs --user and --password";
    return done();
  }
  for (const auto& req : c.requires_caps) {
    const bool negated = !req.empty() && req[0] == '!';
    const std::string cap = ascii_upper(negated ? std::string_view(req).substr(1) : std::string_view(req));
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
  // A value distinct per case and per run (mailbox names on servers that keep state).
  // Appended in place: `"c" + std::to_string(...)` prepends, which GCC 12 at -O2 reports as
  // an overlapping memcpy (-Wrestrict, GCC bug 105329).
  std::string unique = "c";
  unique.append(std::to_string(options.run_id)).append("-").append(c.topic).append(std::to_string(c.line));
  auto run = make_case_run(c.protocol, std::move(conn), options, r, unique);
  run->set_reconnect([&target](std::string& e) { return target.connect(e); });
  // A greeting slower than --timeout says nothing about the case's clause: it is an ERROR
  // of the run, and says so.
  auto slow_greeting = [&]() {
    if (!run->silent_timeout()) return false;
    r.verdict = Verdict::error;
    r.reason = "no greeting within --timeout (" + std::to_string(options.reply_timeout.count()) +
               " ms): an error of the run, not of this case; a slow server needs a longer --timeout";
    return true;
  };
  for (const auto& name : c.setups) {
    if (!run->run(suite.setups.at(name))) {
      if (slow_greeting()) return done();
      // The setup is not the clause under test: a step it cannot run (a server that refuses
      // the sender, an EHLO it answers otherwise) makes the case an ERROR, never a FAIL.
      r.verdict = Verdict::error;
      r.reason = "setup '" + name + "' could not run (" + r.reason + ": expected " + r.expected + ", got " + r.got + ")";
      return done();
    }
    if (run->finished()) break;
  }
  if (!run->finished() && !run->run(c.steps)) {
    slow_greeting();
    return done();
  }
  if (!run->not_applicable().empty()) {
    r.verdict = Verdict::not_applicable;
    r.reason = run->not_applicable();
    return done();
  }
  r.verdict = Verdict::pass;
  return done();
}

std::vector<CaseResult> run_suite(const Suite& suite, Protocol protocol, Target& target, const RunOptions& options) {
  std::vector<CaseResult> results;
  for (const auto& c : suite.cases) {
    if (c.protocol != protocol || !selected(c, options.only)) continue;
    results.push_back(run_case(c, suite, target, options));
  }
  // Positive controls: a refusal counts only when the valid form was accepted in the same
  // run. Controls that --only left out are run now (they are not reported themselves).
  std::map<std::string, Verdict> verdicts;
  for (const auto& r : results) verdicts[r.c->full_id()] = r.verdict;
  auto verdict_of = [&](const std::string& want) {
    if (!verdicts.contains(want)) {
      for (const auto& k : suite.cases)
        if (k.protocol == protocol && k.full_id() == want) verdicts[want] = run_case(k, suite, target, options).verdict;
    }
    const auto it = verdicts.find(want);
    MAIL_ASSERT(it != verdicts.end());  // load_suite_dir checked that every control and need exists
    return it->second;
  };
  for (auto& r : results) {
    if (r.verdict == Verdict::not_applicable) continue;
    // A prerequisite that did not pass makes any verdict moot: the case does not apply.
    for (const auto& want : r.c->needs) {
      const Verdict v = verdict_of(want);
      if (v == Verdict::pass) continue;
      r.verdict = Verdict::not_applicable;
      r.reason = "needs " + want + ", which did not pass (" + std::string(to_string(v)) + ")";
      break;
    }
    if (r.verdict != Verdict::pass) continue;
    for (const auto& want : r.c->controls) {
      const Verdict v = verdict_of(want);
      if (v == Verdict::pass) continue;
      r.verdict = Verdict::not_applicable;
      r.reason = "positive control " + want + " did not pass (" + std::string(to_string(v)) +
                 "): the refusal proves nothing on a server that refuses the valid form too";
      break;
    }
  }
  return results;
}

void print_case_list(std::ostream& out, const Suite& suite, Protocol protocol, const std::string& only) {
  std::map<int, std::array<int, kLevelCount>> per_rfc;
  std::map<std::pair<int, std::string>, int> per_section;
  std::size_t n = 0;
  for (const auto& c : suite.cases) {
    if (c.protocol != protocol || !selected(c, only)) continue;
    ++n;
    out << std::left << std::setw(48) << c.full_id() << std::setw(11) << c.level_text << "RFC " << c.rfc << "\n";
    const int rfc = std::stoi(c.rfc_numbers.front());
    ++per_rfc[rfc][static_cast<std::size_t>(c.level)];
    // The first section named after the first RFC number: "5321 §4.1.4, §3.3" -> "§4.1.4".
    std::string section = c.rfc.substr(c.rfc.find(' ') == std::string::npos ? c.rfc.size() : c.rfc.find(' ') + 1);
    section = section.substr(0, section.find_first_of(", "));
    ++per_section[{rfc, section}];
  }
  out << "\n" << n << " cases\n\nRFC     MUST SHOULD  MAY advice  total\n";
  for (const auto& [rfc, l] : per_rfc)
    out << std::left << std::setw(6) << rfc << std::right << std::setw(6) << l[0] << std::setw(7) << l[1] << std::setw(5)
        << l[2] << std::setw(7) << l[3] << std::setw(7) << l[0] + l[1] + l[2] + l[3] << "\n";
  out << "\nper section (first RFC, first section):\n";
  for (const auto& [key, count] : per_section) out << "  RFC " << key.first << " " << key.second << ": " << count << "\n";
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

std::string cause_of(const CaseResult& r) {
  if (r.verdict != Verdict::fail && r.verdict != Verdict::error) return "";
  static const std::regex kLine("line [0-9]+");
  static const std::regex kPath("<[^>]*>");
  static const std::regex kNumber("[0-9]{4,}");
  // Queue ids and the like ("queued as 15B2C4A2"): letters and digits mixed, 6 or more.
  static const std::regex kId("\\b(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{6,}\\b");
  // ESMTP keywords and parameters named in a reply ("Unsupported option BODY=9BIT"): the
  // same defect names a different one in each case.
  static const std::regex kKeyword("\\b[A-Z][A-Z0-9-]{2,}(=[^ ]*)?");
  static const std::regex kCode("\\b[1-5][0-9x][0-9x]\\b");
  if (r.verdict == Verdict::error) return "error: " + std::regex_replace(r.reason, kLine, "line N");
  std::string got = r.got.substr(0, r.got.find("\\r\\n"));
  if (got.rfind("got ", 0) == 0) got.erase(0, 4);  // "got 250 ..." where no reply was expected
  const std::string code = got.size() >= 3 ? got.substr(0, 3) : "";
  if (got.size() > 3)
    got = code + std::regex_replace(
                     std::regex_replace(std::regex_replace(std::regex_replace(got.substr(3), kPath, "<...>"), kId, "ID"),
                                        kNumber, "N"),
                     kKeyword, "X");
  // The expectation is part of the cause: "250 OK" where a malformed path should have been
  // refused and "250 OK" where a malformed SIZE should have been are two defects. But a
  // refusal with the wrong code is one defect, whichever codes each case allows.
  bool refusal_for_refusal = !code.empty() && (code[0] == '4' || code[0] == '5');
  int listed = 0;
  for (auto it = std::sregex_iterator(r.expected.begin(), r.expected.end(), kCode); it != std::sregex_iterator(); ++it) {
    const std::string want = it->str();
    ++listed;
    refusal_for_refusal = refusal_for_refusal && (want[0] == '4' || want[0] == '5');
    bool same = true;
    for (std::size_t k = 0; k < 3; ++k) same = same && (want[k] == 'x' || want[k] == code[k]);
    refusal_for_refusal = refusal_for_refusal && !same;
  }
  const std::string expected = refusal_for_refusal && listed > 0 ? "another refusal code" : r.expected;
  return "got `" + got + "` where " + expected + " was expected";
}

void print_causes(std::ostream& out, const std::vector<CaseResult>& results) {
  std::map<std::string, std::vector<std::string>> by_cause;
  for (const auto& r : results) {
    const std::string cause = cause_of(r);
    if (!cause.empty()) by_cause[cause].push_back(r.c->full_id() + " (" + std::string(to_string(r.c->level)) + ")");
  }
  if (by_cause.empty()) return;
  std::vector<std::pair<std::string, std::vector<std::string>>> sorted(by_cause.begin(), by_cause.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second.size() > b.second.size(); });
  out << "failures and errors by cause (" << sorted.size() << "):\n";
  for (const auto& [cause, cases] : sorted) {
    out << "  " << cases.size() << (cases.size() == 1 ? " case: " : " cases: ") << cause << ":";
    const char* sep = " ";
    for (const auto& id : cases) {
      out << sep << id;
      sep = ", ";
    }
    out << "\n";
  }
}

namespace {
struct Tally {
  int pass[kLevelCount] = {0, 0, 0, 0};
  int total[kLevelCount] = {0, 0, 0, 0};
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
    for (int l = 0; l < static_cast<int>(kLevelCount); ++l) {
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
    if (r.verdict == Verdict::fail || r.verdict == Verdict::error) out << ", \"cause\": " << json_escape(cause_of(r));
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
    for (int l = 0; l < static_cast<int>(kLevelCount); ++l)
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
