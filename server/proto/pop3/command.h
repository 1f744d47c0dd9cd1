// pop3::Command — one POP3 command line parsed (RFC 1939 §§4-7, RFC 2449 CAPA, RFC 2595
// STLS, RFC 5034 AUTH, RFC 6856 UTF8). Pure: a line (without CRLF) in, a Command or an
// error text out. Keywords are case-insensitive; message numbers are decimal 1..2^31-1
// (RFC 1939 §3 "msg"), TOP's line count 0..2^31-1. State checks are the session's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace mail::pop3 {

namespace cmd {
struct User { std::string name; };
struct Pass { std::string password; };  // the rest of the line: passwords may hold spaces
struct Apop {};                         // not offered (see session): always -ERR
struct Auth {                            // RFC 5034; empty mechanism = list them (Dovecot/CRAM habit)
  std::string mechanism;
  std::optional<std::string> initial;    // "=" is a zero-length response (RFC 5034 §4)
};
struct Stat {};
struct List { std::optional<std::uint32_t> msg; };
struct Retr { std::uint32_t msg = 0; };
struct Dele { std::uint32_t msg = 0; };
struct Noop {};
struct Rset {};
struct Quit {};
struct Top { std::uint32_t msg = 0; std::uint32_t lines = 0; };
struct Uidl { std::optional<std::uint32_t> msg; };
struct Capa {};
struct Stls {};
struct Utf8 {};
}  // namespace cmd

using Command = std::variant<cmd::User, cmd::Pass, cmd::Apop, cmd::Auth, cmd::Stat, cmd::List, cmd::Retr,
                             cmd::Dele, cmd::Noop, cmd::Rset, cmd::Quit, cmd::Top, cmd::Uidl, cmd::Capa,
                             cmd::Stls, cmd::Utf8>;

struct ParseResult {
  std::optional<Command> command;
  std::string error;  // when !command: the -ERR text
};

[[nodiscard]] ParseResult parse_command(std::string_view line);

// "1".."2147483647", digits only (no sign, no spaces); nullopt otherwise.
[[nodiscard]] std::optional<std::uint32_t> parse_number(std::string_view s, std::uint32_t min);

}  // namespace mail::pop3
