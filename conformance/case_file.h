// What the two case-file parsers share (transcript.cpp: the server suites; client_script.cpp:
// the smtp-client suite): trimming and word splitting of a line, the `rfc:` metadata line,
// and reading a directory of *.md case files in name order. Knows neither format; I/O only
// in read_case_dir().
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transcript.h"

namespace mail::conformance::case_file {

// `s` without leading spaces/tabs and trailing spaces/tabs/CRs.
std::string_view trim(std::string_view s);

// The whitespace-separated words of `s`.
std::vector<std::string> words(std::string_view s);

// An `rfc:` value ("5321 §4.1.4, 1123 §5.2.7"): `rfc` gets it as written, `numbers` every
// number that starts a comma-separated item. False when none does (the caller reports it).
bool parse_rfc_line(std::string_view value, std::string& rfc, std::vector<std::string>& numbers);

struct CaseFileText {
  std::string path;  // as found: "<dir>/<name>.md"
  std::string text;
};

// Every regular `*.md` file of `dir`, read whole, in name order. nullopt, with a LoadError
// on line 0 appended, for an unreadable directory or one without *.md files ("no *.md
// <what>").
std::optional<std::vector<CaseFileText>> read_case_dir(const std::string& dir, std::string_view what,
                                                       std::vector<LoadError>& errors);

}  // namespace mail::conformance::case_file
