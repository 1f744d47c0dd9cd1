// The SMTP client the smtp-client suite judges: ours (node::SmtpClientConnection driving
// smtp::ClientSession over a production io::AsioEnv on a thread of its own, the delivery
// stack the relay uses) or any program started as `--client-command 'CMD {host} {port}'`
// through /bin/sh. Either one connects only to the loopback port it is given; nothing here
// chooses an address. Ours reports each recipient's outcome; a command does not (outcome
// checks are then n/a).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client_script.h"

namespace mail::conformance {

// What the client reported once it ended, per recipient in message order:
// "delivered", "transient" (a 4yz decided it) or "permanent" (a 5yz, ours or the server's).
struct ClientOutcome {
  bool known = false;  // the client reports outcomes at all (ours)
  std::vector<std::string> recipients;
  std::string detail;  // one line: the deciding reply, or why there is no result
  std::string error;   // the client could not run (connect failed, ...): the case is ERROR
};

class ClientUnderTest {
 public:
  virtual ~ClientUnderTest() = default;
  virtual std::string describe() const = 0;
  virtual bool reports_outcome() const = 0;
  // Starts one run that connects to 127.0.0.1:`port` and sends `c.message` (with the
  // suite's credentials when c.auth). False with `error` when it cannot even start.
  virtual bool start(std::uint16_t port, const ClientCase& c, std::string& error) = 0;
  // Waits until the run ended, at most `grace`; then ends it. Exactly once per start().
  virtual ClientOutcome finish(std::chrono::milliseconds grace) = 0;
};

// The credentials the suite gives a client for `auth: yes` cases (PLAIN/LOGIN).
inline constexpr const char* kClientUser = "conformance";
inline constexpr const char* kClientPassword = "conformance-pass-1";

// Our client. Its settings (docs/CONFORMANCE.md): EHLO name client.example.org; PIPELINING,
// CHUNKING (4096-octet chunks) and STARTTLS used when offered (the certificate is not
// verified: the scripted server's is self-signed); every RFC 5321 §4.5.3.2 timeout 1500 ms,
// so a silent server is given up on within the case; AUTH PLAIN/LOGIN, also without TLS.
std::unique_ptr<ClientUnderTest> make_our_client();

// `command` through /bin/sh -c with {host} {port} {from} {to} (comma-separated) and
// {message_file} (the content, as CRLF lines, in a file made for the run) substituted;
// stdin /dev/null, stdout and stderr kept for the report. It is killed (its process group)
// when it outlives the case.
std::unique_ptr<ClientUnderTest> make_command_client(std::string command);

}  // namespace mail::conformance
