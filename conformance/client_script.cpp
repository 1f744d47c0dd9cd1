// Parser of the smtp-client case files (client_script.h). Line-oriented like transcript.cpp:
// `## case:` starts a case, `key: value` metadata lines follow, one ```smtp-client block
// holds the server's replies, the message and the expectations. Prose is ignored.
#include "client_script.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "case_file.h"
#include "core/assert.h"

namespace mail::conformance {
namespace {

using case_file::trim;
using case_file::words;

std::string upper(std::string_view s) {
  std::string r(s);
  for (char& ch : r) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return r;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char d) { return std::isdigit(static_cast<unsigned char>(d)); });
}

// "/re/" or "/re/i" -> regex, icase; false when not of that form or not a valid regex.
bool parse_slash_regex(std::string_view s, std::string& regex, bool& icase, std::string& error) {
  s = trim(s);
  if (s.size() < 2 || s.front() != '/') {
    error = "wants /regex/ or /regex/i";
    return false;
  }
  icase = false;
  if (s.back() == 'i' && s.size() >= 3 && s[s.size() - 2] == '/') {
    icase = true;
    s.remove_suffix(1);
  }
  if (s.back() != '/' || s.size() < 2) {
    error = "wants /regex/ or /regex/i";
    return false;
  }
  regex = std::string(s.substr(1, s.size() - 2));
  try {
    std::regex probe(regex, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    error = std::string("bad regex: ") + e.what();
    return false;
  }
  return true;
}

const std::vector<std::string_view> kStages{"greeting", "EHLO", "HELO", "MAIL", "RCPT", "DATA", "DOT", "BDAT",
                                            "BDAT-LAST", "RSET", "NOOP", "QUIT", "STARTTLS", "AUTH", "SASL", "*"};
const std::vector<std::string_view> kOutcomes{"delivered", "transient", "permanent", "failed"};

// The 220 a case may pipeline injected bytes after is an ordinary reply; only the defaults
// know what comes after QUIT or STARTTLS (client_runner.cpp acts on the verb).
ReplyItem line_item(std::string text) {
  ReplyItem i;
  i.kind = ReplyItem::Kind::line;
  i.bytes = std::move(text);
  return i;
}

}  // namespace

ReplyScript default_reply(std::string_view key) {
  if (key == "greeting") return {line_item("220 mx.example.test ESMTP conformance")};
  if (key == "EHLO" || key == "HELO") return {line_item("250 mx.example.test")};
  if (key == "MAIL") return {line_item("250 2.1.0 ok")};
  if (key == "RCPT") return {line_item("250 2.1.5 ok")};
  if (key == "DATA") return {line_item("354 go ahead")};
  if (key == "DOT" || key == "BDAT-LAST") return {line_item("250 2.0.0 queued")};
  if (key == "BDAT") return {line_item("250 2.0.0 chunk received")};
  if (key == "RSET" || key == "NOOP") return {line_item("250 2.0.0 ok")};
  if (key == "QUIT") return {line_item("221 2.0.0 bye")};
  if (key == "STARTTLS") return {line_item("220 2.0.0 ready to start TLS")};
  if (key == "AUTH" || key == "SASL") return {line_item("235 2.7.0 authenticated")};
  return {line_item("500 5.5.2 command not recognized")};
}

const ReplyScript& reply_for(const ClientCase& c, const std::string& key, int n, ReplyScript& scratch) {
  MAIL_ASSERT(n >= 1);
  if (auto it = c.replies.find(key + "#" + std::to_string(n)); it != c.replies.end()) return it->second;
  if (auto it = c.replies.find(key); it != c.replies.end()) return it->second;
  scratch = default_reply(key);
  return scratch;
}

std::optional<ClientExpect> parse_client_expect(std::string_view arg, std::string& error) {
  ClientExpect e;
  e.text = std::string(trim(arg));
  auto w = words(arg);
  if (w.empty()) {
    error = "expect: needs a check";
    return std::nullopt;
  }
  const std::string kind = w[0];
  const std::string_view rest = trim(trim(arg).substr(kind.size()));
  auto choices = [](const std::string& s) {
    std::vector<std::string> r;
    std::istringstream in(s);
    std::string item;
    while (std::getline(in, item, '|'))
      if (!item.empty()) r.push_back(upper(item));
    return r;
  };
  if (kind == "sent" || kind == "not-sent") {
    e.kind = kind == "sent" ? ClientExpect::Kind::sent : ClientExpect::Kind::not_sent;
    if (w.size() != 2) {
      error = kind + " wants one VERB (or CONTENT)";
      return std::nullopt;
    }
    e.verb = upper(w[1]);
  } else if (kind == "first" || kind == "last") {
    e.kind = kind == "first" ? ClientExpect::Kind::first : ClientExpect::Kind::last;
    if (w.size() != 2) {
      error = kind + " wants VERB|VERB2|...";
      return std::nullopt;
    }
    e.choices = choices(w[1]);
  } else if (kind == "next") {
    e.kind = ClientExpect::Kind::next;
    if (w.size() != 3) {
      error = "next wants VERB[#n] A|B|CLOSE";
      return std::nullopt;
    }
    std::string v = upper(w[1]);
    if (const auto hash = v.find('#'); hash != std::string::npos) {
      const std::string n = v.substr(hash + 1);
      if (!all_digits(n) || n.size() > 3 || std::stoi(n) < 1) {
        error = "next VERB#n wants n >= 1";
        return std::nullopt;
      }
      e.occurrence = std::stoi(n);
      v.resize(hash);
    }
    e.verb = v;
    e.choices = choices(w[2]);
  } else if (kind == "waits") {
    e.kind = ClientExpect::Kind::waits;
    if (w.size() != 2) {
      error = "waits wants all, greeting or a VERB";
      return std::nullopt;
    }
    e.verb = w[1] == "all" || w[1] == "greeting" ? w[1] : upper(w[1]);
  } else if (kind == "content" || kind == "content-if-sent" || kind == "content-lacks" || kind == "command" ||
             kind == "no-command") {
    e.if_sent = kind == "content-if-sent";
    e.kind = kind == "content" || kind == "content-if-sent" ? ClientExpect::Kind::content
             : kind == "content-lacks" ? ClientExpect::Kind::content_lacks
             : kind == "command"       ? ClientExpect::Kind::command
                                       : ClientExpect::Kind::no_command;
    if (!parse_slash_regex(rest, e.regex, e.icase, error)) {
      error = kind + ": " + error;
      return std::nullopt;
    }
  } else if (kind == "lines-max" || kind == "content-lines-max") {
    e.kind = kind == "lines-max" ? ClientExpect::Kind::lines_max : ClientExpect::Kind::content_lines_max;
    if (w.size() != 2 || !all_digits(w[1]) || w[1].size() > 9) {
      error = kind + " wants a number of octets";
      return std::nullopt;
    }
    e.number = std::stoull(w[1]);
  } else if (kind == "ascii" || kind == "crlf-only" || kind == "size-covers" || kind == "pipelines") {
    e.kind = kind == "ascii"       ? ClientExpect::Kind::ascii
             : kind == "crlf-only" ? ClientExpect::Kind::crlf_only
             : kind == "pipelines" ? ClientExpect::Kind::pipelines
                                   : ClientExpect::Kind::size_covers;
    if (w.size() != 1) {
      error = kind + " takes no argument";
      return std::nullopt;
    }
  } else if (kind == "outcome") {
    e.kind = ClientExpect::Kind::outcome;
    if (w.size() != 3 || (w[1] != "all" && (!all_digits(w[1]) || w[1].size() > 3 || std::stoi(w[1]) < 1)) ||
        std::find(kOutcomes.begin(), kOutcomes.end(), w[2]) == kOutcomes.end()) {
      error = "outcome wants N|all delivered|transient|permanent|failed";
      return std::nullopt;
    }
    e.recipient = w[1] == "all" ? 0 : std::stoi(w[1]);
    e.outcome = w[2];
  } else {
    error = "unknown check '" + kind +
            "' (sent, not-sent, first, next, last, waits, content, content-if-sent, content-lacks, command, no-command, "
            "lines-max, content-lines-max, ascii, crlf-only, size-covers, outcome, pipelines)";
    return std::nullopt;
  }
  return e;
}

bool parse_client_transcript(std::string_view text, const std::string& file, ClientSuite& suite,
                             std::vector<LoadError>& errors) {
  const std::size_t errors_before = errors.size();
  std::string topic = std::filesystem::path(file).stem().string();
  enum class Where : std::uint8_t { prose, meta, fence };
  Where where = Where::prose;
  std::optional<ClientCase> current;
  bool block_seen = false;
  int lineno = 0;
  auto fail = [&](int line, std::string message) { errors.push_back(LoadError{file, line, std::move(message)}); };
  auto finish = [&] {
    if (!current) return;
    ClientCase& c = *current;
    const std::size_t errors_at_finish = errors.size();
    if (c.c.rfc_numbers.empty()) fail(c.c.line, "case '" + c.c.id + "' has no rfc: line");
    if (c.c.level_text.empty()) fail(c.c.line, "case '" + c.c.id + "' has no level: line");
    if (c.quote.empty()) fail(c.c.line, "case '" + c.c.id + "' has no quote: line (the RFC sentence, verbatim)");
    if (!block_seen) fail(c.c.line, "case '" + c.c.id + "' has no ```smtp-client block");
    if (c.expects.empty()) fail(c.c.line, "case '" + c.c.id + "' has no expect: line");
    if (c.message.to.empty()) c.message.to.push_back("postmaster@example.test");
    if (c.message.content.empty()) c.message.content = "Subject: conformance\r\n\r\nhello\r\n";
    // Only a complete case is kept (as parse_transcript does): the reports index cases by
    // their first RFC number (fuzz/conformance_transcript found incomplete ones kept).
    if (errors.size() == errors_at_finish) suite.cases.push_back(std::move(c));
    current.reset();
  };
  std::istringstream in{std::string(text)};
  std::string raw;
  while (std::getline(in, raw)) {
    ++lineno;
    const std::string_view line = trim(raw);
    if (where == Where::fence) {
      if (line.starts_with("```")) {
        where = Where::prose;
        continue;
      }
      if (line.empty() || line.starts_with("#")) continue;
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) {
        fail(lineno, "expected 'KEY: value' in the smtp-client block");
        continue;
      }
      const std::string key(line.substr(0, colon));
      // Exactly one space after the colon separates; the rest is the value as written.
      std::string_view value = std::string_view(raw).substr(raw.find(':') + 1);
      if (value.starts_with(' ')) value.remove_prefix(1);
      while (!value.empty() && value.back() == '\r') value.remove_suffix(1);
      ClientCase& c = *current;
      std::string error;
      const std::map<std::string, std::string> no_captures;
      if (key == "expect" || key == "when") {
        auto e = parse_client_expect(value, error);
        if (!e) fail(lineno, error);
        else if (key == "when" && !e->wire()) fail(lineno, "when: takes wire checks only, not outcome");
        else (key == "expect" ? c.expects : c.when).push_back(std::move(*e));
      } else if (key == "hold") {
        if (!all_digits(trim(value)) || trim(value).size() > 5) fail(lineno, "hold: wants milliseconds");
        else c.hold_ms = std::stoi(std::string(trim(value)));
      } else if (key == "from" || key == "to") {
        auto x = expand_client_text(trim(value), no_captures, error);  // \xHH for UTF-8 addresses
        if (!x) fail(lineno, key + ": " + error);
        else if (key == "from") c.message.from = std::move(*x);
        else c.message.to.push_back(std::move(*x));
      } else if (key == "content" || key == "content-raw") {
        auto x = expand_client_text(value, no_captures, error);
        if (!x) fail(lineno, key + ": " + error);
        else c.message.content += *x + (key == "content" ? "\r\n" : "");
      } else if (key == "mail-param") {
        c.message.mail_params.push_back(std::string(trim(value)));
      } else if (key == "rcpt-param") {
        c.message.rcpt_params.push_back(std::string(trim(value)));
      } else {
        // A stage: "EHLO", "RCPT#2", "greeting", ...
        std::string stage = key;
        const auto hash = key.find('#');
        const std::string base = hash == std::string::npos ? key : key.substr(0, hash);
        if (std::find(kStages.begin(), kStages.end(), base) == kStages.end() ||
            (hash != std::string::npos && (!all_digits(key.substr(hash + 1)) || key.substr(hash + 1).size() > 3))) {
          fail(lineno, "unknown key '" + key +
                           "' (a stage: greeting EHLO HELO MAIL RCPT DATA DOT BDAT BDAT-LAST RSET NOOP QUIT STARTTLS "
                           "AUTH SASL *, optionally #n; or expect, when, hold, from, to, content, content-raw, "
                           "mail-param, rcpt-param)");
          continue;
        }
        ReplyItem item;
        if (value.starts_with("!")) {
          const auto w = words(value);
          if (w[0] == "!close" && w.size() == 1) item.kind = ReplyItem::Kind::close;
          else if (w[0] == "!silence" && w.size() == 1) item.kind = ReplyItem::Kind::silence;
          else if (w[0] == "!pause" && w.size() == 2 && all_digits(w[1]) && w[1].size() <= 5) {
            item.kind = ReplyItem::Kind::pause;
            item.ms = std::stoi(w[1]);
          } else if (w[0] == "!raw" && value.size() > 5) {
            item.kind = ReplyItem::Kind::raw;
            auto x = expand_client_text(value.substr(5), no_captures, error);
            if (!x) {
              fail(lineno, "!raw: " + error);
              continue;
            }
            item.bytes = std::move(*x);
          } else {
            fail(lineno, "unknown action '" + std::string(value) + "' (!close, !silence, !pause MS, !raw BYTES)");
            continue;
          }
        } else {
          auto x = expand_client_text(value, no_captures, error);
          if (!x) {
            fail(lineno, error);
            continue;
          }
          item.kind = ReplyItem::Kind::line;
          item.bytes = std::move(*x);
        }
        c.replies[stage].push_back(std::move(item));
      }
      continue;
    }
    if (line.starts_with("## ")) {
      finish();
      const std::string_view h = trim(line.substr(3));
      if (h.starts_with("case:")) {
        current.emplace();
        block_seen = false;
        current->c.file = file;
        current->c.topic = topic;
        current->c.id = std::string(trim(h.substr(5)));
        current->c.line = lineno;
        current->c.protocol = Protocol::smtp;
        if (current->c.id.empty()) fail(lineno, "## case: needs an id");
        for (const auto& other : suite.cases)
          if (other.c.topic == topic && other.c.id == current->c.id) fail(lineno, "duplicate case id '" + current->c.id + "'");
        where = Where::meta;
      } else {
        where = Where::prose;
      }
      continue;
    }
    if (line.starts_with("# ")) {
      finish();
      where = Where::prose;
      continue;
    }
    if (line.starts_with("```")) {
      if (where != Where::meta) {
        while (std::getline(in, raw)) {  // an example fence in prose: skip it whole
          ++lineno;
          if (trim(raw).starts_with("```")) break;
        }
        continue;
      }
      if (trim(line.substr(3)) != "smtp-client") fail(lineno, "the case block's language must be smtp-client");
      if (block_seen) fail(lineno, "only one smtp-client block per case");
      block_seen = true;
      where = Where::fence;
      continue;
    }
    if (where != Where::meta) continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    ClientCase& c = *current;
    if (key == "rfc") {
      if (!case_file::parse_rfc_line(value, c.c.rfc, c.c.rfc_numbers))
        fail(lineno, "rfc: must start with an RFC number: 'rfc: 5321 §4.1.4'");
    } else if (key == "level") {
      c.c.level_text = std::string(value);
      if (value == "MUST" || value == "MUST NOT") c.c.level = Level::must;
      else if (value == "SHOULD" || value == "SHOULD NOT") c.c.level = Level::should;
      else if (value == "MAY") c.c.level = Level::may;
      else fail(lineno, "level: MUST, MUST NOT, SHOULD, SHOULD NOT or MAY");
    } else if (key == "quote") {
      c.quote = std::string(value);
    } else if (key == "summary") {
      c.c.summary = std::string(value);
    } else if (key == "client") {
      if (value == "ours") c.ours_only = true;
      else fail(lineno, "client: ours is the only value (the case is n/a for --client-command)");
    } else if (key == "normative") {
      if (value == "procedure") c.procedure = true;
      else fail(lineno, "normative: procedure is the only value");
    } else if (key == "auth") {
      if (value == "yes") c.auth = true;
      else fail(lineno, "auth: yes is the only value");
    }
  }
  if (where == Where::fence) fail(lineno, "unterminated ``` block");
  finish();
  return errors.size() == errors_before;
}

bool load_client_suite_dir(const std::string& dir, ClientSuite& suite, std::vector<LoadError>& errors) {
  const auto files = case_file::read_case_dir(dir, "case files", errors);
  if (!files) return false;
  bool ok = true;
  for (const auto& f : *files) ok = parse_client_transcript(f.text, f.path, suite, errors) && ok;
  return ok;
}

std::string normalise_rfc_text(std::string_view text) {
  // Drop the page furniture an RFC's plain text carries at every page break: the footer
  // ("Klensin   Standards Track   [Page 49]"), the form feed and the running header
  // ("RFC 5321   SMTP   October 2008"), so a quote may span a page break. A word
  // hyphenated at a line end ("sender-" / "SMTP") is joined without a space.
  auto is_footer = [](std::string_view l) {
    l = trim(l);
    return l.ends_with("]") && l.find("[Page ") != std::string_view::npos;
  };
  auto is_header = [](std::string_view l) {
    l = trim(l);
    return l.starts_with("RFC ") && l.size() > 4 && all_digits(l.substr(l.size() - 4)) && l.find("  ") != std::string_view::npos;
  };
  std::string out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::erase(line, '\f');
    if (is_footer(line) || is_header(line)) continue;
    const std::string_view body = trim(line);
    if (body.empty()) continue;
    if (!out.empty() && out.back() != '-') out += ' ';
    for (char ch : body) {
      const bool space = ch == ' ' || ch == '\t' || ch == '\r';
      if (!space) out += ch;
      else if (out.back() != ' ') out += ' ';
    }
  }
  return out;
}

std::string check_quote(const ClientCase& c, const std::string& rfc_dir) {
  std::string quote;
  for (char ch : c.quote) {
    if (ch == ' ' || ch == '\t') {
      if (!quote.empty() && quote.back() != ' ') quote += ' ';
    } else {
      quote += ch;
    }
  }
  while (!quote.empty() && quote.back() == ' ') quote.pop_back();
  if (quote.empty()) return "no quote";
  std::string key = c.c.level_text;  // "MUST NOT", "SHOULD", ...
  for (const auto& number : c.c.rfc_numbers) {
    std::ifstream f(rfc_dir + "/rfc" + number + ".txt", std::ios::binary);
    if (!f) continue;
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string raw = ss.str();
    const std::string text = normalise_rfc_text(raw);
    if (text.find(quote) == std::string::npos) continue;
    // RFCs that do not cite RFC 2119 (1870, 2920, 6152) wrote the key words in either case.
    const bool cites_2119 = raw.find("2119") != std::string::npos;
    const bool has_key = cites_2119 ? quote.find(key) != std::string::npos
                                    : upper(quote).find(upper(key)) != std::string::npos;
    if (!has_key && !c.procedure) return "the quote does not contain its level's key word " + key;
    return {};
  }
  return "the quote is not in RFC " + c.c.rfc + " (" + rfc_dir + "/rfcNNNN.txt): " + quote;
}

}  // namespace mail::conformance
