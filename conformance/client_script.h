// The smtp-client suite's case format (conformance/smtp-client/*.md, docs/CONFORMANCE.md
// "SMTP client suite"): per case the RFC sentence it rests on (quoted verbatim), its level,
// what the scripted server answers at each stage, the transaction the client is asked to
// send, and what the client must or must not do, as `expect:` lines judged afterwards.
// Pure parsing and pure checks: no I/O except load_client_suite_dir() and the RFC files
// check_quote() reads. Every expectation is compiled at load time (a bad one is a load
// error); each case also carries a conformance::Case so the server suite's reports apply.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transcript.h"

namespace mail::conformance {

// One item of a scripted server reply: a line (CRLF appended), raw bytes (nothing
// appended) or an action.
struct ReplyItem {
  enum class Kind : std::uint8_t {
    line,     // "250 ok" -> "250 ok\r\n"
    raw,      // !raw BYTES: exactly the bytes (escapes expanded)
    pause,    // !pause MS: wait, watching for client bytes sent before the reply is complete
    close,    // !close: drop the connection without a further word
    silence,  // !silence: never answer; wait until the client gives up (closes) or the case ends
  };
  Kind kind = Kind::line;
  std::string bytes;  // line / raw: expanded
  int ms = 0;         // pause
};

// The reply to one stage. Keys: greeting, EHLO, HELO, MAIL, RCPT, DATA, DOT (the end of
// data), BDAT, BDAT-LAST, RSET, NOOP, QUIT, STARTTLS, AUTH, SASL (a line after a 334), and
// * (any other command). "RCPT#2" is the reply to the second RCPT only.
using ReplyScript = std::vector<ReplyItem>;

// One compiled `expect:` line (judged on the recorded session, docs/CONFORMANCE.md).
struct ClientExpect {
  enum class Kind : std::uint8_t {
    sent,             // sent VERB: some command has this verb (CONTENT: message content went out)
    not_sent,         // not-sent VERB
    first,            // first VERB|VERB2: the first command
    next,             // next VERB[#n] A|B|CLOSE: what follows the n-th (default 1st) VERB
    last,             // last VERB|CLOSE: the last thing the client did
    waits,            // waits all|VERB: no client byte arrived while a held reply was pending
    content,          // content /re/: the content as sent (wire form) matches (content-if-sent: or none sent)
    content_lacks,    // content-lacks /re/
    command,          // command /re/: some command line matches
    no_command,       // no-command /re/
    lines_max,        // lines-max N: every command line, CRLF included, <= N octets
    content_lines_max,// content-lines-max N: every content line <= N octets (a stuffed dot not counted)
    ascii,            // ascii: no octet > 0x7F in anything the client sent
    crlf_only,        // crlf-only: no bare CR or LF in anything the client sent
    size_covers,      // size-covers: MAIL's SIZE= is at least the content's size (RFC 1870 §6)
    outcome,          // outcome N|all delivered|transient|permanent|failed (our client only)
    pipelines,        // pipelines: the client sent something while a held reply was pending
  };
  Kind kind = Kind::sent;
  std::string text;                  // the line as written, for reports
  std::string verb;                  // sent / not_sent / next / waits (upper case)
  int occurrence = 1;                // next VERB#n
  std::vector<std::string> choices;  // first / next / last: accepted verbs (CLOSE included)
  std::string regex;                 // content / command
  bool icase = false;
  bool if_sent = false;              // content-if-sent: holds as well when no content was sent
  std::uint64_t number = 0;          // lines_max
  int recipient = 0;                 // outcome: 1-based; 0 = every recipient
  std::string outcome;               // delivered / transient / permanent / failed
  bool wire() const noexcept { return kind != Kind::outcome; }
};

// The transaction the client under test is asked to send.
struct ClientMessage {
  std::string from = "sender@example.org";
  std::vector<std::string> to;       // default: postmaster@example.test
  std::string content;               // expanded; default a small 7-bit message
  std::vector<std::string> mail_params;  // "BODY=8BITMIME", "SMTPUTF8", "RET=HDRS", "ENVID=x"
  std::vector<std::string> rcpt_params;  // "NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;x@y"
};

struct ClientCase {
  Case c;             // id, topic, rfc, level, summary: what the reports print
  std::string quote;  // the RFC sentence, verbatim (whitespace-normalised)
  bool ours_only = false;  // `client: ours`: wire-observable only with our timeouts/settings
  bool auth = false;       // `auth: yes`: our client is given credentials (PLAIN/LOGIN)
  // `normative: procedure`: the quote states a procedure without a key word (RFC 5321
  // §4.5.2 transparency); the verbatim check applies, the key-word check does not.
  bool procedure = false;
  int hold_ms = 0;         // `hold: MS` inside the block: every reply waits this long first
  std::map<std::string, ReplyScript> replies;  // "EHLO", "RCPT#2", ...
  ClientMessage message;
  std::vector<ClientExpect> expects;
  // `when:` lines: the clause applies only if these hold (the client used STARTTLS, BDAT,
  // SIZE, pipelining); otherwise the case is n/a. Same syntax as expect:.
  std::vector<ClientExpect> when;
};

struct ClientSuite {
  std::vector<ClientCase> cases;
};

// The default reply for a stage key without a script ("EHLO" -> "250 mx.example.test").
ReplyScript default_reply(std::string_view key);
// The script for the `n`-th (1-based) command of `key`: "KEY#n", else "KEY", else the default.
const ReplyScript& reply_for(const ClientCase& c, const std::string& key, int n, ReplyScript& scratch);

// Parses one file's text (cases appended). False with `errors` for every malformed line;
// valid cases are kept.
bool parse_client_transcript(std::string_view text, const std::string& file, ClientSuite& suite,
                             std::vector<LoadError>& errors);
// Every *.md of `dir` in name order.
bool load_client_suite_dir(const std::string& dir, ClientSuite& suite, std::vector<LoadError>& errors);

// Compiles one `expect:` argument; nullopt with `error` when malformed.
std::optional<ClientExpect> parse_client_expect(std::string_view arg, std::string& error);

// The RFC text with page breaks (form feeds, running headers and footers) removed and every
// run of whitespace made one space: what quotes are searched in.
std::string normalise_rfc_text(std::string_view text);
// Empty when `c.quote` occurs verbatim (whitespace-normalised) in rfc<N>.txt of `rfc_dir`
// for one of the RFCs of the case's rfc: line, and contains its level's key word (MUST, MUST NOT, SHOULD, SHOULD NOT, MAY;
// any case for RFCs that do not cite RFC 2119, which wrote "must" in lower case); else why not.
std::string check_quote(const ClientCase& c, const std::string& rfc_dir);

}  // namespace mail::conformance
