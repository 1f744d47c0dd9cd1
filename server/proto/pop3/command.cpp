// pop3::parse_command (see header). Must not: allocate beyond the arguments, accept a
// number it cannot represent, or look at session state.
#include "proto/pop3/command.h"

#include <vector>

#include "core/ascii.h"

namespace mail::pop3 {

namespace {

constexpr std::uint32_t kNumberMax = 2147483647u;  // 2^31 - 1

// Arguments separated by single spaces (RFC 1939 §3); tolerant of repeated spaces.
std::vector<std::string_view> split_args(std::string_view rest) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && rest[i] == ' ') ++i;
    if (i >= rest.size()) break;
    std::size_t j = rest.find(' ', i);
    if (j == std::string_view::npos) j = rest.size();
    out.push_back(rest.substr(i, j - i));
    i = j;
  }
  return out;
}

ParseResult err(std::string_view text) { return ParseResult{std::nullopt, std::string(text)}; }
ParseResult ok(Command c) { return ParseResult{std::move(c), {}}; }

}  // namespace

std::optional<std::uint32_t> parse_number(std::string_view s, std::uint32_t min) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v < min || v > kNumberMax) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

ParseResult parse_command(std::string_view line) {
  const auto sp = line.find(' ');
  const std::string_view keyword = line.substr(0, sp);
  const std::string_view rest = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
  if (keyword.empty()) return err("Unknown command");
  const auto args = split_args(rest);
  auto no_args = [&](Command c) { return args.empty() ? ok(std::move(c)) : err("Too many arguments"); };
  auto opt_msg = [&](auto make) -> ParseResult {
    if (args.empty()) return ok(make(std::nullopt));
    if (args.size() > 1) return err("Too many arguments");
    auto n = parse_number(args[0], 1);
    if (!n) return err("Invalid message number");
    return ok(make(n));
  };
  auto one_msg = [&](auto make) -> ParseResult {
    if (args.size() != 1) return err("Expected one message number");
    auto n = parse_number(args[0], 1);
    if (!n) return err("Invalid message number");
    return ok(make(*n));
  };

  if (iequals(keyword, "USER")) {
    if (args.size() != 1) return err("Expected one user name");
    return ok(cmd::User{std::string(args[0])});
  }
  if (iequals(keyword, "PASS")) {
    // RFC 1939 §7: the password is the argument; taken whole (it may contain spaces).
    if (sp == std::string_view::npos || rest.empty()) return err("Expected a password");
    return ok(cmd::Pass{std::string(rest)});
  }
  if (iequals(keyword, "APOP")) return ok(cmd::Apop{});
  if (iequals(keyword, "AUTH")) {
    if (args.empty()) return ok(cmd::Auth{});
    if (args.size() > 2) return err("Too many arguments");
    cmd::Auth a{std::string(args[0]), std::nullopt};
    if (args.size() == 2) a.initial = std::string(args[1]);
    return ok(std::move(a));
  }
  if (iequals(keyword, "STAT")) return no_args(cmd::Stat{});
  if (iequals(keyword, "LIST")) return opt_msg([](std::optional<std::uint32_t> n) { return cmd::List{n}; });
  if (iequals(keyword, "UIDL")) return opt_msg([](std::optional<std::uint32_t> n) { return cmd::Uidl{n}; });
  if (iequals(keyword, "RETR")) return one_msg([](std::uint32_t n) { return cmd::Retr{n}; });
  if (iequals(keyword, "DELE")) return one_msg([](std::uint32_t n) { return cmd::Dele{n}; });
  if (iequals(keyword, "TOP")) {
    if (args.size() != 2) return err("Expected a message number and a line count");
    auto n = parse_number(args[0], 1);
    if (!n) return err("Invalid message number");
    auto lines = parse_number(args[1], 0);
    if (!lines) return err("Invalid line count");
    return ok(cmd::Top{*n, *lines});
  }
  if (iequals(keyword, "NOOP")) return no_args(cmd::Noop{});
  if (iequals(keyword, "RSET")) return no_args(cmd::Rset{});
  if (iequals(keyword, "QUIT")) return no_args(cmd::Quit{});
  if (iequals(keyword, "CAPA")) return no_args(cmd::Capa{});
  if (iequals(keyword, "STLS")) return no_args(cmd::Stls{});
  if (iequals(keyword, "UTF8")) return no_args(cmd::Utf8{});
  return err("Unknown command");
}

}  // namespace mail::pop3
