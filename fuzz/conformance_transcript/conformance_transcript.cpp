// libFuzzer target: the conformance case-file parsers, operator (and contributor) input:
// the server suites' transcripts (conformance/transcript.h: parse_transcript and the `s:`
// expectation compilers it calls, ECMAScript regexes included), the smtp-client suite's
// scripts (conformance/client_script.h: parse_client_transcript), and the text helpers both
// use (case_file.h: words, parse_rfc_line; expand_client_text, expand_regex).
// Byte 0 bit 0 picks the parser; the rest is one *.md file's text.
// Checks: never crash, throw or assert; false exactly when errors were appended; every
// error and every case names a line of the file; cases have an id, a topic and at least one
// RFC number; expansions of every line either fail with a message or succeed.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "conformance/case_file.h"
#include "conformance/client_script.h"
#include "conformance/transcript.h"
#include "core/assert.h"

using namespace mail;
using namespace mail::conformance;

namespace {

int count_lines(std::string_view s) {
  int n = 1;
  for (char c : s) n += c == '\n';
  return n;
}

void check_case(const Case& c, int lines) {
  MAIL_ASSERT(!c.id.empty());
  MAIL_ASSERT(c.topic == "fuzz");
  MAIL_ASSERT(c.line >= 1 && c.line <= lines);
  MAIL_ASSERT(!c.rfc_numbers.empty());
  for (const auto& s : c.steps) MAIL_ASSERT(s.line >= 1 && s.line <= lines);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const int lines = count_lines(text);
  std::vector<LoadError> errors;
  if ((data[0] & 1) == 0) {
    Suite suite;
    const bool ok = parse_transcript(text, "smtp/fuzz.md", suite, errors);
    MAIL_ASSERT(ok == errors.empty());
    for (const auto& c : suite.cases) check_case(c, lines);
  } else {
    ClientSuite suite;
    const bool ok = parse_client_transcript(text, "smtp-client/fuzz.md", suite, errors);
    MAIL_ASSERT(ok == errors.empty());
    for (const auto& c : suite.cases) check_case(c.c, lines);
  }
  for (const auto& e : errors) {
    MAIL_ASSERT(e.line >= 0 && e.line <= lines);
    MAIL_ASSERT(!e.message.empty());
  }

  // The per-line helpers on every line (bounded: the first 64 lines).
  const std::map<std::string, std::string> captures = {{"ID", "4F2A"}, {"TAG", "a1"}};
  std::string_view rest = text;
  for (int i = 0; i < 64 && !rest.empty(); ++i) {
    const std::size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    std::string error;
    const auto x = expand_client_text(line, captures, error);
    MAIL_ASSERT(x.has_value() || !error.empty());
    error.clear();
    const auto r = expand_regex(line, captures, error);
    MAIL_ASSERT(r.has_value() || !error.empty());
    std::string rfc;
    std::vector<std::string> numbers;
    if (case_file::parse_rfc_line(line, rfc, numbers)) MAIL_ASSERT(!numbers.empty());
    for (const auto& w : case_file::words(line)) MAIL_ASSERT(!w.empty() && w.find(' ') == std::string::npos);
  }
  return 0;
}
