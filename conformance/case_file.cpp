// The helpers both case-file parsers use (case_file.h). Line-level text only, plus the one
// directory walk; no knowledge of either case format.
#include "case_file.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mail::conformance::case_file {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> r;
  std::istringstream in{std::string(s)};
  std::string w;
  while (in >> w) r.push_back(w);
  return r;
}

bool parse_rfc_line(std::string_view value, std::string& rfc, std::vector<std::string>& numbers) {
  rfc = std::string(value);
  // Every "NNNN" that starts a comma-separated item is an RFC number.
  std::istringstream items{std::string(value)};
  std::string item;
  while (std::getline(items, item, ',')) {
    const auto w = words(item);
    if (!w.empty() && std::all_of(w[0].begin(), w[0].end(), [](char d) { return std::isdigit(static_cast<unsigned char>(d)); }))
      numbers.push_back(w[0]);
  }
  return !numbers.empty();
}

std::optional<std::vector<CaseFileText>> read_case_dir(const std::string& dir, std::string_view what,
                                                       std::vector<LoadError>& errors) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.is_regular_file() && entry.path().extension() == ".md") files.push_back(entry.path());
  if (ec) {
    errors.push_back(LoadError{dir, 0, "cannot read directory: " + ec.message()});
    return std::nullopt;
  }
  if (files.empty()) {
    std::string message = "no *.md ";
    message += what;
    errors.push_back(LoadError{dir, 0, std::move(message)});
    return std::nullopt;
  }
  std::sort(files.begin(), files.end());
  std::vector<CaseFileText> out;
  out.reserve(files.size());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    out.push_back(CaseFileText{f.string(), ss.str()});
  }
  return out;
}

}  // namespace mail::conformance::case_file
