// The network level of the remote-MX personalities (personality.h): a listener wrapper that
// puts a PersonalityStream in front of every connection a personality host accepts on its
// SMTP port. The stream reads the client's command lines (RFC 5321 §4.1) to know which
// stage each server reply answers, and then changes the conversation without touching the
// server: a refused stage is a command substitution (the server is handed NOOP — RSET for
// DATA — and the client gets the configured reply in place of the server's answer to it), so
// the server's state always matches what the client was told; slowness, silence, garbling
// and the drop after the final dot act on the reply bytes. End-of-data codes change what is
// stored and live in personality_handler.h instead. Inside TLS nothing is visible: after a
// STARTTLS the connection passes through untouched (and by default the personality hides
// STARTTLS from its EHLO reply). AUTH also turns the stream into a pass-through.
// Must not: draw from any stream but the host's personality stream; act on a host without
// a personality (its listener then only forwards, making the same calls as before).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/env.h"
#include "sim_net.h"
#include "world.h"

namespace mail::sim {

class SimEnv;

// Holds the connections a silent personality keeps open after the server let go of them
// (the client must see nothing, not a close), until the host crashes or the World ends.
// One per boot of a host.
class PersonalityKeeper {
 public:
  struct Held;
  PersonalityKeeper();
  ~PersonalityKeeper();
  PersonalityKeeper(const PersonalityKeeper&) = delete;
  PersonalityKeeper& operator=(const PersonalityKeeper&) = delete;
  void hold(std::unique_ptr<Held> held);
  std::size_t held() const noexcept { return held_.size(); }

 private:
  std::vector<std::unique_ptr<Held>> held_;
};

// The HostNet listen filter for a mail host: wraps the listener on `smtp_port`; each
// accepted connection gets a PersonalityStream when the World has a personality for the
// host at that moment, and is passed on untouched otherwise.
HostNet::ListenFilter personality_listen_filter(SimEnv& env, std::uint16_t smtp_port);

}  // namespace mail::sim
