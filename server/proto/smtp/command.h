// SMTP command lines: the verb table and the split of one line into verb and argument
// (RFC 5321 §4.1.1, §2.4 case-insensitive verbs), plus BDAT (RFC 3030 §2) and EHLO/HELO
// argument checks. Pure functions over one line without its CRLF: no I/O, no state, no
// allocation. The session owns sequencing; this table only says in which states a verb
// may run, whether it is junk (Postfix smtpd_junk_command_limit) or forbidden on sight.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "proto/smtp/server_session.h"

namespace mail::smtp {

enum class Verb : std::uint8_t {
  ehlo, helo, mail, rcpt, data, bdat, rset, noop, quit, vrfy, expn, help, starttls, auth,
  forbidden,  // HTTP verbs and header-like lines: 554 5.7.0 and close (Postfix smtpd_forbidden_commands)
};

// States in which the session reads command lines; a bit set over State.
using StateSet = std::uint8_t;
constexpr StateSet state_bit(State s) noexcept { return static_cast<StateSet>(1u << static_cast<unsigned>(s)); }
constexpr StateSet kCommandStates =
    state_bit(State::greeting) | state_bit(State::ready) | state_bit(State::mail) | state_bit(State::rcpt) |
    state_bit(State::bdat);
static_assert(static_cast<unsigned>(State::closed) < 8, "StateSet is 8 bits wide");

struct CommandSpec {
  std::string_view verb;  // upper case, as matched case-insensitively
  Verb id;
  StateSet allowed;       // outside these the session answers with a sequence error
  bool junk;              // counts toward junk_commands_max
};

// One entry per verb we recognise, including the ones refused on sight.
inline constexpr std::array kCommandTable = {
    CommandSpec{"EHLO", Verb::ehlo, kCommandStates, true},  // RFC 5321 §4.1.1.1; junk as in Postfix
    CommandSpec{"HELO", Verb::helo, kCommandStates, true},
    CommandSpec{"MAIL", Verb::mail, state_bit(State::ready), false},                             // §4.1.1.2
    CommandSpec{"RCPT", Verb::rcpt, state_bit(State::mail) | state_bit(State::rcpt), false},     // §4.1.1.3
    CommandSpec{"DATA", Verb::data, state_bit(State::rcpt), false},                              // §4.1.1.4
    // BDAT runs in every state: even a refused BDAT must skip its chunk (RFC 3030 §2), so
    // the handler sequences it after reading the size.
    CommandSpec{"BDAT", Verb::bdat, kCommandStates, false},
    CommandSpec{"RSET", Verb::rset, kCommandStates, true},  // §4.1.1.5, §4.1.4: any time
    CommandSpec{"NOOP", Verb::noop, kCommandStates, true},  // §4.1.1.9
    CommandSpec{"QUIT", Verb::quit, kCommandStates, false}, // §4.1.1.10
    CommandSpec{"VRFY", Verb::vrfy, kCommandStates, true},  // §4.1.1.6, §3.5.3
    CommandSpec{"EXPN", Verb::expn, kCommandStates, true},  // §4.1.1.7
    CommandSpec{"HELP", Verb::help, kCommandStates, true},  // §4.1.1.8
    CommandSpec{"STARTTLS", Verb::starttls, state_bit(State::greeting) | state_bit(State::ready), false},  // RFC 3207 §4
    CommandSpec{"AUTH", Verb::auth, kCommandStates, false},  // RFC 4954: not offered here -> 502
    // An HTTP client (or a proxy abuse scanner) talking to port 25: close at once.
    CommandSpec{"GET", Verb::forbidden, kCommandStates, false},
    CommandSpec{"POST", Verb::forbidden, kCommandStates, false},
    CommandSpec{"HEAD", Verb::forbidden, kCommandStates, false},
    CommandSpec{"PUT", Verb::forbidden, kCommandStates, false},
    CommandSpec{"CONNECT", Verb::forbidden, kCommandStates, false},
    CommandSpec{"OPTIONS", Verb::forbidden, kCommandStates, false},
    CommandSpec{"USER-AGENT:", Verb::forbidden, kCommandStates, false},
    CommandSpec{"HOST:", Verb::forbidden, kCommandStates, false},
    CommandSpec{"RECEIVED:", Verb::forbidden, kCommandStates, false},  // message content sent as commands
};

inline constexpr std::size_t kVerbCount = static_cast<std::size_t>(Verb::forbidden) + 1;

struct Command {
  const CommandSpec* spec = nullptr;  // nullptr: unknown verb (500 5.5.2)
  std::string_view verb;              // as sent
  std::string_view arg;               // after the verb, leading and trailing SP/HTAB removed
};

enum class LineDefect : std::uint8_t { none, nul, empty };

// Splits `line` (no CRLF) into verb and argument. The verb ends at the first SP or HTAB
// (Postfix is equally lenient about the separator). Never fails: an unknown verb gives
// spec == nullptr. Does not look for NUL; see line_defect().
Command parse_command(std::string_view line) noexcept;

// A defect that makes the line unusable whatever its verb: NUL anywhere (RFC 5321 §4.1.1
// commands are text; Dovecot CVE-2019-11500 class) or nothing but blanks.
LineDefect line_defect(std::string_view line) noexcept;

// RFC 3030 §2: bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ]; chunk-size = 1*DIGIT;
// end-marker = "LAST" (case-insensitive, as all SMTP keywords). nullopt when malformed
// or when the size does not fit 64 bits (checked arithmetic).
struct BdatArgs {
  std::uint64_t size = 0;
  bool last = false;
};
std::optional<BdatArgs> parse_bdat_args(std::string_view arg) noexcept;

// RFC 5321 §4.1.1.1 EHLO/HELO argument: a Domain or address literal (U-labels allowed,
// RFC 6531 §3.7.1), or — Postfix-like leniency — one printable ASCII token of at most 255
// octets (NetBIOS names with '_', bare IPv4 addresses). Empty, blanks inside, control
// characters or invalid UTF-8 are refused (501 5.5.4).
bool is_acceptable_helo(std::string_view arg) noexcept;

// Case-insensitive ASCII prefix test ("FROM:" before a MAIL path).
bool starts_with_nocase(std::string_view s, std::string_view prefix) noexcept;

}  // namespace mail::smtp
