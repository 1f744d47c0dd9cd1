// Test helpers for the runner tests (runner_test.cpp, verdicts_test.cpp, protocols_test.cpp):
// a line-based toy server as a Connection/Target, and parsing a transcript that must load.
// In-process only (no sockets, no clock): a toy's answers are there the moment the line is
// sent. Tests only.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conformance/runner.h"
#include "conformance/transcript.h"

namespace mail::conformance::test {

// Sends `greeting` first (nothing when empty), then answers each complete CRLF line with
// `answer(line)` (the line without its CRLF). No answer yet is Recv::timeout. An answer
// that ends in kToyClose closes the connection after the text before it.
inline constexpr std::string_view kToyClose = "\x04close";

class LineToyConnection final : public Connection {
 public:
  using Answer = std::function<std::string(const std::string& line)>;
  LineToyConnection(std::string greeting, Answer a) : answer_(std::move(a)), out_(std::move(greeting)) {}
  bool send(std::string_view bytes, std::string&) override {
    in_ += bytes;
    for (std::size_t eol; (eol = in_.find("\r\n")) != std::string::npos;) {
      const std::string line = in_.substr(0, eol);
      in_.erase(0, eol + 2);
      std::string answer = answer_(line);
      if (answer.size() >= kToyClose.size() && answer.compare(answer.size() - kToyClose.size(), kToyClose.size(), kToyClose) == 0) {
        answer.resize(answer.size() - kToyClose.size());
        closing_ = true;
      }
      out_ += answer;
    }
    return true;
  }
  Recv recv(std::string& buf, std::chrono::milliseconds) override {
    if (out_.empty()) return closing_ ? Recv::eof : Recv::timeout;
    buf += out_;
    out_.clear();
    return Recv::data;
  }

 private:
  Answer answer_;
  std::string in_, out_;
  bool closing_ = false;
};

// A fresh LineToyConnection per connect(), described as `description`. Tests derive their
// toys from it (what the greeting is, what EHLO answers).
class LineToyServer : public Target {
 public:
  LineToyServer(std::string description, std::string greeting, LineToyConnection::Answer a)
      : description_(std::move(description)), greeting_(std::move(greeting)), answer_(std::move(a)) {}
  std::string describe() const override { return description_; }
  std::unique_ptr<Connection> connect(std::string&) override {
    return std::make_unique<LineToyConnection>(greeting_, answer_);
  }

 private:
  std::string description_, greeting_;
  LineToyConnection::Answer answer_;
};

// Parses `text` as the transcript file `file`; every load error fails the test.
inline Suite parse_ok(std::string_view text, const std::string& file = "t/toy.md") {
  Suite s;
  std::vector<LoadError> errors;
  const bool ok = parse_transcript(text, file, s, errors);
  for (const auto& e : errors) ADD_FAILURE() << e.line << ": " << e.message;
  EXPECT_TRUE(ok);
  return s;
}

}  // namespace mail::conformance::test
