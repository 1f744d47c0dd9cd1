// Transcript parser (docs/CONFORMANCE.md). Line-oriented: headings start cases and setups,
// known `key: value` lines are metadata, one fenced block holds the steps. Anything else is
// prose and ignored, so a transcript reads as documentation.
#include "transcript.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <regex>
#include <sstream>

#include "case_file.h"

namespace mail::conformance {

std::string_view to_string(Level l) noexcept {
  switch (l) {
    case Level::must: return "MUST";
    case Level::should: return "SHOULD";
    case Level::may: return "MAY";
    case Level::advice: return "advice";
  }
  return "?";
}

std::string_view to_string(Protocol p) noexcept {
  switch (p) {
    case Protocol::smtp: return "smtp";
    case Protocol::imap: return "imap";
    case Protocol::pop3: return "pop3";
  }
  return "?";
}

namespace {

using case_file::trim;
using case_file::words;

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool is_code_pattern(std::string_view w) {
  if (w.size() != 3) return false;
  if (w[0] < '1' || w[0] > '5') return false;
  for (char c : w.substr(1))
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != 'x') return false;
  return true;
}

bool is_enhanced_pattern(std::string_view w) {
  // class.subject.detail, each a number or x
  int parts = 0;
  std::size_t i = 0;
  while (i <= w.size()) {
    const std::size_t dot = w.find('.', i);
    const std::string_view part = w.substr(i, dot == std::string_view::npos ? std::string_view::npos : dot - i);
    if (part.empty() || part.size() > 3) return false;
    if (part != "x" && !std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    i = dot + 1;
  }
  return parts == 3 && (w[0] == '2' || w[0] == '4' || w[0] == '5' || w[0] == 'x');
}

// Splits a trailing /regex/ or /regex/i off `s`; returns false when a '/' opens no regex.
bool split_regex(std::string_view& s, std::string& regex, bool& icase, std::string& error) {
  const std::size_t open = s.find('/');
  if (open == std::string_view::npos) return true;
  std::string_view rest = s.substr(open + 1);
  std::size_t close = rest.rfind('/');
  if (close == std::string_view::npos) {
    error = "unterminated /regex/";
    return false;
  }
  const std::string_view flags = rest.substr(close + 1);
  if (flags != "" && flags != "i") {
    error = "unknown regex flags '" + std::string(flags) + "'";
    return false;
  }
  regex = std::string(rest.substr(0, close));
  icase = flags == "i";
  try {
    // {{NAME}} captures are filled in at run time; test-compile with a stand-in.
    std::string probe = regex;
    for (std::size_t at; (at = probe.find("{{")) != std::string::npos;) {
      const std::size_t end = probe.find("}}", at);
      if (end == std::string::npos) break;
      probe.replace(at, end + 2 - at, "x");
    }
    std::regex test(probe, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    error = "bad regex /" + regex + "/: " + e.what();
    return false;
  }
  s = trim(s.substr(0, open));
  return true;
}

const std::vector<std::string_view> kMetaKeys = {"rfc", "level", "requires", "setup", "summary", "quote", "control", "needs"};

struct Block {
  Protocol protocol = Protocol::smtp;
  std::vector<Step> steps;
};

// Parses one step line of a block; returns false with `error` on a malformed line.
bool parse_step(std::string_view line, int lineno, Protocol proto, Step& step, std::string& error) {
  static const std::vector<std::pair<std::string_view, Step::Kind>> kPrefixes = {
      {"c-raw:", Step::Kind::send_raw}, {"c:", Step::Kind::send},          {"s-contains:", Step::Kind::contains},
      {"s-lacks:", Step::Kind::lacks},  {"s-line:", Step::Kind::line},     {"s:", Step::Kind::expect},
      {"u:", Step::Kind::unordered},    {"capture:", Step::Kind::capture},   {"tls:", Step::Kind::tls},
      {"reconnect:", Step::Kind::reconnect},
  };
  step.line = lineno;
  for (const auto& [prefix, kind] : kPrefixes) {
    if (!starts_with(line, prefix)) continue;
    step.kind = kind;
    std::string_view arg = line.substr(prefix.size());
    if (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);  // one separating space
    if (kind != Step::Kind::send && kind != Step::Kind::send_raw) arg = trim(arg);
    step.arg = std::string(arg);
    switch (kind) {
      case Step::Kind::expect:
        if (proto == Protocol::smtp) {
          step.smtp = parse_smtp_expect(arg, error);
          return step.smtp.has_value();
        }
        if (proto == Protocol::pop3) {
          step.pop3 = parse_pop3_expect(arg, error);
          return step.pop3.has_value();
        }
        step.imap = parse_imap_expect(arg, error);
        return step.imap.has_value();
      case Step::Kind::unordered:
        if (proto != Protocol::imap) {
          error = "u: (unordered untagged) is IMAP only";
          return false;
        }
        if (!starts_with(arg, "*")) {
          error = "u: lines are untagged responses and start with '*'";
          return false;
        }
        step.imap = parse_imap_expect(arg, error);
        return step.imap.has_value();
      case Step::Kind::line: {
        if (proto != Protocol::pop3) {
          error = "s-line: is POP3 only";
          return false;
        }
        std::string_view re = arg;
        if (!split_regex(re, step.capture_regex, step.icase, error)) return false;
        if (step.capture_regex.empty() || !re.empty()) {
          error = "s-line: /regex/";
          return false;
        }
        return true;
      }
      case Step::Kind::tls:
        return true;
      case Step::Kind::reconnect: {
        step.wait_ms = 200;  // time for the server to see the drop (and release a maildrop lock)
        if (arg.empty()) return true;
        int ms = 0;
        for (const char ch : arg) {
          if (ch < '0' || ch > '9' || ms > 60000) {
            error = "reconnect: [MILLISECONDS] (at most 60000)";
            return false;
          }
          ms = ms * 10 + (ch - '0');
        }
        if (ms > 60000) {
          error = "reconnect: [MILLISECONDS] (at most 60000)";
          return false;
        }
        step.wait_ms = ms;
        return true;
      }
      case Step::Kind::capture: {
        const std::size_t sp = arg.find(' ');
        if (sp == std::string_view::npos) {
          error = "capture: NAME /regex/";
          return false;
        }
        step.capture_name = std::string(arg.substr(0, sp));
        std::string_view re = trim(arg.substr(sp + 1));
        bool icase = false;
        if (!split_regex(re, step.capture_regex, icase, error)) return false;
        if (step.capture_regex.empty() || !re.empty()) {
          error = "capture: NAME /regex/ (the regex is required)";
          return false;
        }
        return true;
      }
      case Step::Kind::contains:
      case Step::Kind::lacks:
        if (arg.empty()) {
          error = "s-contains:/s-lacks: need a text";
          return false;
        }
        return true;
      case Step::Kind::send:
      case Step::Kind::send_raw: {
        // Validate escapes and template syntax now (captures are resolved at run time).
        std::string e;
        std::map<std::string, std::string> none;
        if (!expand_client_text(arg, none, e) && e.find("unknown capture") == std::string::npos) {
          error = e;
          return false;
        }
        return true;
      }
    }
    error = "empty step";
    return false;
  }
  error = "unknown step '" + std::string(line.substr(0, 20)) + "' (c:, c-raw:, s:, s-contains:, s-lacks:, s-line:, u:, capture:, tls:, reconnect:)";
  return false;
}

}  // namespace

std::optional<SmtpExpect> parse_smtp_expect(std::string_view arg, std::string& error) {
  SmtpExpect e;
  std::string_view s = trim(arg);
  if (s == "close") {
    e.kind = SmtpExpect::Kind::close;
    return e;
  }
  if (starts_with(s, "none")) {
    e.kind = SmtpExpect::Kind::none;
    const auto w = words(s);
    e.none_ms = 500;
    if (w.size() == 2 && std::all_of(w[1].begin(), w[1].end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) &&
        w[1].size() < 7) {
      e.none_ms = std::stoi(w[1]);
    } else if (w.size() != 1) {
      error = "s: none [MILLISECONDS]";
      return std::nullopt;
    }
    return e;
  }
  if (!split_regex(s, e.regex, e.icase, error)) return std::nullopt;
  auto w = words(s);
  std::size_t i = 0;
  bool any_of = false;
  for (; i < w.size(); ++i) {
    if (w[i] == "multiline") {
      e.multiline = true;
    } else if (w[i] == "single") {
      e.single = true;
    } else if (w[i] == "any-of") {
      any_of = true;
    } else if (w[i] == "if") {
      e.precondition = true;
    } else if (w[i] == "not") {
      // "not 250 251": any code but these (RFC 5321 §3.5.3 "MUST NOT return 250").
      e.negated = true;
      any_of = true;
    } else {
      break;
    }
  }
  for (; i < w.size() && is_code_pattern(w[i]); ++i) {
    e.codes.push_back(w[i]);
    if (!any_of) {
      ++i;
      break;
    }
  }
  if (e.codes.empty()) {
    error = "s: wants a reply code (250, 2xx, any-of 501 553), close or none";
    return std::nullopt;
  }
  if (i < w.size() && is_enhanced_pattern(w[i])) e.enhanced = w[i++];
  if (i != w.size()) {
    error = "unexpected '" + w[i] + "' in s: (codes, enhanced code, /regex/)";
    return std::nullopt;
  }
  if (e.multiline && e.single) {
    error = "s: multiline and single contradict";
    return std::nullopt;
  }
  return e;
}

namespace {
// "none" or "none N": fills `ms`; false when the argument is malformed.
bool parse_none(std::string_view s, int& ms) {
  const auto w = words(s);
  ms = 500;
  if (w.size() == 1) return true;
  if (w.size() == 2 && !w[1].empty() && w[1].size() < 7 &&
      std::all_of(w[1].begin(), w[1].end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    ms = std::stoi(w[1]);
    return true;
  }
  return false;
}
}  // namespace

std::optional<ImapExpect> parse_imap_expect(std::string_view arg, std::string& error) {
  ImapExpect e;
  std::string_view s = trim(arg);
  if (s == "close") {
    e.kind = ImapExpect::Kind::close;
    return e;
  }
  if (starts_with(s, "none")) {
    e.kind = ImapExpect::Kind::none;
    if (!parse_none(s, e.none_ms)) {
      error = "s: none [MILLISECONDS]";
      return std::nullopt;
    }
    return e;
  }
  if (!split_regex(s, e.regex, e.icase, error)) return std::nullopt;
  const auto w = words(s);
  // Everything after the first `skip` words is a literal prefix of the rest of the response.
  auto rest_after = [&](std::size_t skip) {
    std::string_view r = s;
    for (std::size_t k = 0; k < skip; ++k) {
      r = trim(r);
      const std::size_t sp = r.find_first_of(" \t");
      r = sp == std::string_view::npos ? std::string_view() : r.substr(sp);
    }
    return std::string(trim(r));
  };
  if (!w.empty() && w[0] == "*") {
    e.kind = ImapExpect::Kind::untagged;
    e.prefix = rest_after(1);
    return e;
  }
  if (!w.empty() && w[0] == "+") {
    e.kind = ImapExpect::Kind::continuation;
    e.prefix = rest_after(1);
    return e;
  }
  if (w.size() >= 2) {
    bool ok = true;
    std::istringstream alts(w[1]);
    std::string alt;
    // CLOSE: "or the server closes the connection instead" (the case then ends as passed):
    // for clauses that allow either, such as "refused, then usable or closed cleanly".
    while (std::getline(alts, alt, '|')) ok = ok && (alt == "OK" || alt == "NO" || alt == "BAD" || alt == "CLOSE");
    if (ok) {
      e.kind = ImapExpect::Kind::tagged;
      e.tag = w[0];
      e.status = w[1];
      e.prefix = rest_after(2);
      return e;
    }
  }
  error = "IMAP s: wants 'TAG OK|NO|BAD|CLOSE [text] [/re/]', '* [text] [/re/]', '+ [text] [/re/]', close or none";
  return std::nullopt;
}

std::optional<Pop3Expect> parse_pop3_expect(std::string_view arg, std::string& error) {
  Pop3Expect e;
  std::string_view s = trim(arg);
  if (s == "close") {
    e.kind = Pop3Expect::Kind::close;
    return e;
  }
  if (starts_with(s, "none")) {
    e.kind = Pop3Expect::Kind::none;
    if (!parse_none(s, e.none_ms)) {
      error = "s: none [MILLISECONDS]";
      return std::nullopt;
    }
    return e;
  }
  if (!split_regex(s, e.regex, e.icase, error)) return std::nullopt;
  auto w = words(s);
  if (!w.empty() && w[0] == "multiline") {
    e.multiline = true;
    w.erase(w.begin());
  }
  constexpr std::string_view kOrClose = "|close";
  if (w.size() == 1 && w[0].size() > kOrClose.size() && std::string_view(w[0]).ends_with(kOrClose)) {
    e.or_close = true;
    w[0].resize(w[0].size() - kOrClose.size());
  }
  if (w.size() == 1 && w[0] == "+OK") return e;
  if (w.size() == 1 && w[0] == "-ERR" && !e.multiline) {
    e.kind = Pop3Expect::Kind::err;
    return e;
  }
  if (w.size() == 1 && w[0] == "+" && !e.multiline) {
    e.kind = Pop3Expect::Kind::continuation;
    return e;
  }
  error = "POP3 s: wants '+OK [/re/]', 'multiline +OK [/re/]', '-ERR [/re/]', '+' (each may end in |close), close or none";
  return std::nullopt;
}

std::optional<std::string> expand_regex(std::string_view regex, const std::map<std::string, std::string>& captures,
                                        std::string& error) {
  std::string out;
  for (std::size_t i = 0; i < regex.size(); ++i) {
    if (regex[i] == '{' && i + 1 < regex.size() && regex[i + 1] == '{') {
      const std::size_t end = regex.find("}}", i + 2);
      if (end != std::string_view::npos) {
        const std::string name(trim(regex.substr(i + 2, end - i - 2)));
        const auto it = captures.find(name);
        if (it == captures.end()) {
          error = "unknown capture {{" + name + "}}";
          return std::nullopt;
        }
        for (char c : it->second) {
          if (std::string_view("\\^$.|?*+()[]{}/").find(c) != std::string_view::npos) out += '\\';
          out += c;
        }
        i = end + 1;
        continue;
      }
    }
    out += regex[i];
  }
  return out;
}

std::optional<std::string> expand_client_text(std::string_view in, const std::map<std::string, std::string>& captures,
                                              std::string& error) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '\\') {
      if (i + 1 >= in.size()) {
        error = "dangling backslash";
        return std::nullopt;
      }
      const char n = in[++i];
      switch (n) {
        case 'r': out += '\r'; break;
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case '\\': out += '\\'; break;
        case '{': out += '{'; break;
        case 'x': {
          if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
              !std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
            error = "\\x needs two hex digits";
            return std::nullopt;
          }
          out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
          i += 2;
          break;
        }
        default:
          error = std::string("unknown escape \\") + n;
          return std::nullopt;
      }
      continue;
    }
    if (c == '{' && i + 1 < in.size() && in[i + 1] == '{') {
      const std::size_t end = in.find("}}", i + 2);
      if (end == std::string_view::npos) {
        error = "unterminated {{template}}";
        return std::nullopt;
      }
      const std::string_view inner = trim(in.substr(i + 2, end - i - 2));
      i = end + 1;
      if (starts_with(inner, "repeat ")) {
        std::string_view rest = trim(inner.substr(7));
        const std::size_t sp = rest.find(' ');
        const std::string_view num = rest.substr(0, sp);
        if (sp == std::string_view::npos || num.empty() || num.size() > 8 ||
            !std::all_of(num.begin(), num.end(), [](char d) { return std::isdigit(static_cast<unsigned char>(d)); })) {
          error = "{{repeat N TEXT}}";
          return std::nullopt;
        }
        const auto n = std::stoul(std::string(num));
        auto unit = expand_client_text(rest.substr(sp + 1), captures, error);
        if (!unit) return std::nullopt;
        if (n * unit->size() > (64u << 20)) {
          error = "{{repeat}} expands beyond 64 MiB";
          return std::nullopt;
        }
        for (unsigned long k = 0; k < n; ++k) out += *unit;
        continue;
      }
      auto it = captures.find(std::string(inner));
      if (it == captures.end()) {
        error = "unknown capture {{" + std::string(inner) + "}}";
        return std::nullopt;
      }
      out += it->second;
      continue;
    }
    out += c;
  }
  return out;
}

bool parse_transcript(std::string_view text, const std::string& file, Suite& suite, std::vector<LoadError>& errors) {
  const std::size_t errors_before = errors.size();
  const std::string topic = std::filesystem::path(file).stem().string();
  auto fail = [&](int line, std::string msg) { errors.push_back(LoadError{file, line, std::move(msg)}); };

  enum class Where : std::uint8_t { prose, case_meta, setup_meta, fence };
  Where where = Where::prose;
  Where before_fence = Where::prose;
  Case current;
  bool have_case = false;
  std::string setup_name;
  Block block;
  bool block_seen = false;

  auto finish = [&]() {
    if (have_case) {
      if (!block_seen) fail(current.line, "case '" + current.id + "' has no fenced step block");
      // rfc_numbers, not rfc: a malformed `rfc:` line sets the text but no number, and the
      // reports index every case by its first number (fuzz/conformance_transcript).
      else if (current.rfc_numbers.empty()) fail(current.line, "case '" + current.id + "' has no rfc: line");
      else if (current.level_text.empty()) fail(current.line, "case '" + current.id + "' has no level: line");
      else suite.cases.push_back(std::move(current));
    }
    have_case = false;
    current = Case{};
    setup_name.clear();
    block_seen = false;
  };

  std::istringstream in{std::string(text)};
  std::string raw;
  int lineno = 0;
  while (std::getline(in, raw)) {
    ++lineno;
    std::string_view line = raw;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (where == Where::fence) {
      if (starts_with(trim(line), "```")) {
        where = before_fence;
        if (before_fence == Where::case_meta) {
          current.protocol = block.protocol;
          current.steps = std::move(block.steps);
        } else if (before_fence == Where::setup_meta) {
          suite.setups[setup_name] = std::move(block.steps);
        }
        block = Block{};
        continue;
      }
      if (trim(line).empty() || starts_with(trim(line), "#")) continue;
      Step step;
      std::string error;
      if (!parse_step(line, lineno, block.protocol, step, error)) {
        fail(lineno, error);
        continue;
      }
      block.steps.push_back(std::move(step));
      continue;
    }
    if (starts_with(line, "## ")) {
      finish();
      const std::string_view h = trim(line.substr(3));
      if (starts_with(h, "case:")) {
        current.file = file;
        current.topic = topic;
        current.id = std::string(trim(h.substr(5)));
        current.line = lineno;
        have_case = !current.id.empty();
        if (!have_case) fail(lineno, "## case: needs an id");
        for (const auto& c : suite.cases)
          if (c.topic == topic && c.id == current.id) fail(lineno, "duplicate case id '" + current.id + "'");
        where = Where::case_meta;
      } else if (starts_with(h, "setup:")) {
        setup_name = std::string(trim(h.substr(6)));
        if (setup_name.empty()) fail(lineno, "## setup: needs a name");
        where = Where::setup_meta;
      } else {
        where = Where::prose;
      }
      continue;
    }
    if (starts_with(line, "# ")) {
      finish();
      where = Where::prose;
      continue;
    }
    if (starts_with(trim(line), "```")) {
      if (where == Where::prose) {
        // A fence in prose (an example): skip it whole.
        while (std::getline(in, raw)) {
          ++lineno;
          if (starts_with(trim(raw), "```")) break;
        }
        continue;
      }
      const std::string_view lang = trim(trim(line).substr(3));
      if (lang == "smtp") block.protocol = Protocol::smtp;
      else if (lang == "imap") block.protocol = Protocol::imap;
      else if (lang == "pop3") block.protocol = Protocol::pop3;
      else {
        fail(lineno, "step block language must be smtp, imap or pop3, not '" + std::string(lang) + "'");
        block.protocol = Protocol::smtp;
      }
      if (block_seen) fail(lineno, "only one step block per case or setup");
      block_seen = true;
      before_fence = where;
      where = Where::fence;
      continue;
    }
    if (where != Where::case_meta) continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, colon);
    if (std::find(kMetaKeys.begin(), kMetaKeys.end(), key) == kMetaKeys.end()) continue;
    const std::string_view value = trim(line.substr(colon + 1));
    if (key == "rfc") {
      if (!case_file::parse_rfc_line(value, current.rfc, current.rfc_numbers))
        fail(lineno, "rfc: must start with an RFC number: 'rfc: 5321 §4.1.4'");
    } else if (key == "level") {
      current.level_text = std::string(value);
      if (starts_with(value, "MUST")) current.level = Level::must;
      else if (starts_with(value, "SHOULD")) current.level = Level::should;
      else if (value == "MAY") current.level = Level::may;
      else if (value == "advice") current.level = Level::advice;
      else fail(lineno, "level: MUST, MUST NOT, SHOULD, SHOULD NOT, MAY or advice");
    } else if (key == "requires") {
      for (auto& w : words(value)) current.requires_caps.push_back(w);
    } else if (key == "setup") {
      for (auto& w : words(value)) current.setups.push_back(w);
    } else if (key == "summary") {
      current.summary = std::string(value);
    } else if (key == "quote") {
      current.quote = std::string(value);
    } else if (key == "control") {
      // "control: none -- why" records that the refused form has no valid counterpart.
      const auto w = words(value);
      if (w.empty() || w[0] != "none")
        for (const auto& id : w) current.controls.push_back(id);
    } else if (key == "needs") {
      for (auto& w : words(value)) current.needs.push_back(w);
    }
  }
  if (where == Where::fence) fail(lineno, "unterminated ``` block");
  finish();
  return errors.size() == errors_before;
}

bool load_suite_dir(const std::string& dir, Suite& suite, std::vector<LoadError>& errors) {
  const auto files = case_file::read_case_dir(dir, "transcripts", errors);
  if (!files) return false;
  bool ok = true;
  for (const auto& f : *files) ok = parse_transcript(f.text, f.path, suite, errors) && ok;
  for (const auto& c : suite.cases)
    for (const auto& s : c.setups)
      if (!suite.setups.contains(s)) {
        errors.push_back(LoadError{c.file, c.line, "case '" + c.id + "' uses unknown setup '" + s + "'"});
        ok = false;
      }
  for (const auto& c : suite.cases) {
    std::vector<std::string> named = c.controls;
    named.insert(named.end(), c.needs.begin(), c.needs.end());
    for (const auto& want : named) {
      const bool known = std::any_of(suite.cases.begin(), suite.cases.end(),
                                     [&](const Case& k) { return k.full_id() == want && k.protocol == c.protocol; });
      if (!known || want == c.full_id()) {
        errors.push_back(LoadError{c.file, c.line, "case '" + c.id + "' names unknown control or need '" + want + "'"});
        ok = false;
      }
    }
  }
  return ok;
}

}  // namespace mail::conformance
