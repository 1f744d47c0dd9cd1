// The log sinks: the text and JSON line formats (escaping, the service/connection fields),
// one write(2) per line into a pipe, and the syslog priority mapping and message (no
// syslog daemon needed: SyslogLog itself is not called).
#include <fcntl.h>
#include <syslog.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "io/stderr_log.h"
#include "io/syslog_log.h"

namespace mail::io {
namespace {

using namespace std::string_literals;

std::string json(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

// Reads the pipe to EOF, one read() per packet (pipe2 O_DIRECT: a read returns what one
// write() wrote, so one element per write).
std::vector<std::string> read_packets(int fd) {
  std::vector<std::string> out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.emplace_back(buf, static_cast<std::size_t>(n));
  return out;
}

TEST(JsonLog, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(json(""), R"("")");
  EXPECT_EQ(json("plain text 123"), R"("plain text 123")");
  EXPECT_EQ(json(R"(say "hi" \o/)"), R"("say \"hi\" \\o/")");
  EXPECT_EQ(json("a\r\nb\tc"), R"("a\u000d\u000ab\u0009c")");
  EXPECT_EQ(json("nul\0x\x1f\x7f"s), R"("nul\u0000x\u001f\u007f")");
}

TEST(JsonLog, PassesValidUtf8AndReplacesEveryInvalidByte) {
  EXPECT_EQ(json("d\xc3\xabmo \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"),
            "\"d\xc3\xabmo \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"");  // ë € 😀 U+10FFFF
  EXPECT_EQ(json("\xff"), R"("\ufffd")");
  EXPECT_EQ(json("\x80x"), R"("\ufffdx")");                        // stray continuation byte
  EXPECT_EQ(json("ab\xc3"), R"("ab\ufffd")");                      // truncated at the end
  EXPECT_EQ(json("\xe2\x82x"), R"("\ufffd\ufffdx")");              // truncated in the middle
  EXPECT_EQ(json("\xc0\xaf"), R"("\ufffd\ufffd")");                // overlong '/'
  EXPECT_EQ(json("\xe0\x80\xaf"), R"("\ufffd\ufffd\ufffd")");      // overlong, 3 bytes
  EXPECT_EQ(json("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");      // surrogate U+D800
  EXPECT_EQ(json("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");  // above U+10FFFF
  EXPECT_EQ(json("\xf5\x80\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");
}

TEST(JsonLog, ServiceAndConnectionPrefix) {
  auto p = parse_log_prefix("smtp[12]: connect from 127.0.0.1:4711 (smtp)");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->service, "smtp");
  EXPECT_EQ(p->connection, 12u);
  p = parse_log_prefix("mail-in_2[999999999999999]: x");  // 15 digits
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->service, "mail-in_2");
  EXPECT_EQ(p->connection, 999'999'999'999'999u);
  for (std::string_view no : {"smtp: listening on 127.0.0.1:25", "36185FDA4EF2: maildir delivery failed", "smtp[]: x",
                              "smtp[12] x", "smtp[12]:x", "smtp[1a]: x", "Smtp[1]: x", "[1]: x", "1smtp[1]: x",
                              "smtp[1234567890123456]: x", "cloudsdial: SIGTERM, shutting down", ""}) {
    EXPECT_FALSE(parse_log_prefix(no).has_value()) << no;
  }
  EXPECT_TRUE(parse_log_prefix(std::string(32, 'a') + "[1]: x").has_value());
  EXPECT_FALSE(parse_log_prefix(std::string(33, 'a') + "[1]: x").has_value());
}

TEST(JsonLog, LineShape) {
  const WallTime t{1'700'000'000'123'456};
  EXPECT_EQ(format_json_line(t, rt::LogLevel::info, "smtp[12]: connect from 127.0.0.1:4711 (smtp)"),
            R"j({"time":"2023-11-14T22:13:20.123456Z","level":"info","message":"smtp[12]: connect from 127.0.0.1:4711 (smtp)",)j"
            R"("service":"smtp","connection":12})");
  EXPECT_EQ(format_json_line(t, rt::LogLevel::warn, "smtp: refused 10.0.0.1:5: too many \"connections\"\r\n"),
            R"({"time":"2023-11-14T22:13:20.123456Z","level":"warn",)"
            R"("message":"smtp: refused 10.0.0.1:5: too many \"connections\"\u000d\u000a"})");
  EXPECT_EQ(format_json_line(std::nullopt, rt::LogLevel::error, "x[3]: y"),
            R"({"level":"error","message":"x[3]: y","service":"x","connection":3})");
  EXPECT_EQ(format_json_line(std::nullopt, rt::LogLevel::debug, "d"), R"({"level":"debug","message":"d"})");
  EXPECT_EQ(format_text_line(t, rt::LogLevel::warn, "a\r\nb"), "2023-11-14T22:13:20.123456Z warn  a  b");
  EXPECT_EQ(format_text_line(t, rt::LogLevel::debug, "d"), "2023-11-14T22:13:20.123456Z debug d");
}

TEST(JsonLog, OneWritePerLineIntoAPipe) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_DIRECT), 0);  // packet mode: each write() is read back alone
  StderrLog log(rt::LogLevel::info, fds[1], LogFormat::json);
  log.write(rt::LogLevel::debug, "dropped");
  log.write(rt::LogLevel::info, "smtp[1]: evil\r\n{\"forged\":1}");
  log.write(rt::LogLevel::error, "bad \xff byte");
  ::close(fds[1]);
  const auto packets = read_packets(fds[0]);
  ::close(fds[0]);
  ASSERT_EQ(packets.size(), 2u);
  const std::string head = R"({"time":")";
  for (const auto& p : packets) {
    ASSERT_GT(p.size(), head.size() + 29) << p;
    EXPECT_EQ(p.substr(0, head.size()), head) << p;
    EXPECT_EQ(p.substr(head.size() + 26, 3), "Z\",") << p;  // "YYYY-MM-DDTHH:MM:SS.uuuuuuZ",
    EXPECT_EQ(p.back(), '\n') << p;
    EXPECT_EQ(p.find('\n'), p.size() - 1) << p;  // exactly one line per write
  }
  EXPECT_EQ(packets[0].substr(head.size() + 29),
            R"("level":"info","message":"smtp[1]: evil\u000d\u000a{\"forged\":1}","service":"smtp","connection":1})"
            "\n");
  EXPECT_EQ(packets[1].substr(head.size() + 29), R"("level":"error","message":"bad \ufffd byte"})"
                                                 "\n");
}

TEST(JsonLog, ConcurrentWritersNeverInterleave) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_DIRECT), 0);
  StderrLog log(rt::LogLevel::info, fds[1], LogFormat::json);
  constexpr int kThreads = 4;
  constexpr int kLines = 200;
  std::vector<std::string> packets;
  std::thread reader([&] { packets = read_packets(fds[0]); });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&log, t] {
      for (int i = 0; i < kLines; ++i) log.write(rt::LogLevel::info, "w[" + std::to_string(t) + "]: line " + std::to_string(i));
    });
  }
  for (auto& w : writers) w.join();
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);
  ASSERT_EQ(packets.size(), static_cast<std::size_t>(kThreads * kLines));
  for (const auto& p : packets) {
    EXPECT_EQ(p.find('\n'), p.size() - 1) << p;
    EXPECT_NE(p.find(R"(,"service":"w","connection":)"), std::string::npos) << p;
  }
}

TEST(SyslogLog, LevelMapping) {
  EXPECT_EQ(syslog_priority(rt::LogLevel::debug), LOG_DEBUG);
  EXPECT_EQ(syslog_priority(rt::LogLevel::info), LOG_INFO);
  EXPECT_EQ(syslog_priority(rt::LogLevel::warn), LOG_WARNING);
  EXPECT_EQ(syslog_priority(rt::LogLevel::error), LOG_ERR);
}

TEST(SyslogLog, MessageHasNoTimestamp) {
  EXPECT_EQ(format_syslog_message(LogFormat::text, rt::LogLevel::info, "smtp[1]: a\r\nb\0c"s), "smtp[1]: a  b c");
  EXPECT_EQ(format_syslog_message(LogFormat::json, rt::LogLevel::warn, "smtp[1]: a\n"),
            R"({"level":"warn","message":"smtp[1]: a\u000a","service":"smtp","connection":1})");
}

// sd-daemon(3) prefixes: the journal reads "<N>" as the syslog severity; no time stamp (the
// journal stamps the line), and CR/LF/NUL cannot split or cut a line.
TEST(JournalLog, PriorityPrefixAndNoTimestamp) {
  EXPECT_EQ(format_journal_line(rt::LogLevel::error, "cloudsdial: no"), "<3>cloudsdial: no");
  EXPECT_EQ(format_journal_line(rt::LogLevel::warn, "w"), "<4>w");
  EXPECT_EQ(format_journal_line(rt::LogLevel::info, "smtp[1]: a\r\nb\0c"s), "<6>smtp[1]: a  b c");
  EXPECT_EQ(format_journal_line(rt::LogLevel::debug, ""), "<7>");
}

TEST(JournalLog, StderrLogWritesJournalLines) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  {
    StderrLog log(rt::LogLevel::info, fds[1], LogFormat::journal);
    log.write(rt::LogLevel::warn, "disk\nfull");
    log.write(rt::LogLevel::debug, "dropped below the minimum");
  }
  ::close(fds[1]);
  char buf[256] = {};
  const ssize_t n = ::read(fds[0], buf, sizeof buf - 1);
  ::close(fds[0]);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)), "<4>disk full\n");
}

}  // namespace
}  // namespace mail::io
