// The relay decision (issue 13 "Relay policy"; RFC 5321 §3.6.1-2 and §4.1.3, RFC 2505 §2.6
// anti-relay): where a recipient address goes, and whether this client may send there.
// It is the ONE place an address is split for routing, so RCPT and the router can never
// disagree. The local part is never interpreted ('%', '!', a quoted '@' and source routes
// never choose a destination). Pure: no I/O, no DNS, no user lookup, no clock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip_address.h"
#include "proto/smtp/address.h"
#include "proto/smtp/reply.h"

namespace mail::smtp {

struct RelayPolicy {
  std::vector<std::string> local_domains;  // lower-case ASCII (A-labels), no trailing dot (asserted)
  std::vector<IpAddress> own_addresses;    // our listener/host addresses; loopback always counts as ours
  std::vector<Cidr> trusted_networks;      // [relay] trusted_networks; empty by default (loopback NOT trusted)
};

struct RelayClient {
  bool authenticated = false;
  std::string address;  // peer IP text ("192.0.2.1", "::ffff:10.1.2.3"); unparsable = untrusted
};

enum class Destination : std::uint8_t { local, remote };

struct AddressRoute {
  Destination where = Destination::local;
  // Canonical: lower-case ASCII, one trailing dot removed; an address literal normalised as
  // "[192.0.2.1]" / "[IPv6:2001:db8::1]" (RFC 5952 text, mapped IPv6 as IPv4); for one of OUR
  // literals: local_domains[0] (or "" when there is none). An unrecognised
  // General-address-literal stays as sent, and is remote.
  std::string domain;
  bool own_literal = false;
};

// Lower-case ASCII with one trailing dot removed: the form local_domains are kept in.
std::string canonical_domain(std::string_view domain);

// Where `mailbox` goes. Only the domain is looked at: "u%remote@local", "remote!u@local" and
// "\"u@remote\"@local" are LOCAL (the user lookup then fails with 550 5.1.1, never a relay).
// A literal of our own address (loopback, or in own_addresses) is local (RFC 5321 §4.1.3);
// any other literal is remote.
AddressRoute route_of(const Mailbox& mailbox, const RelayPolicy& policy);

enum class RelayVerdict : std::uint8_t { local, relay, deny };

struct RelayDecision {
  RelayVerdict verdict = RelayVerdict::deny;
  AddressRoute route;
  Reply reply;  // deny only: "554 5.7.1 <addr>: Relay access denied" (Postfix's text); else empty
};

// Local destinations are accepted from anyone; other destinations only from authenticated
// clients or clients whose address lies in trusted_networks; everything else is denied.
RelayDecision decide_relay(const Mailbox& rcpt, const RelayClient& client, const RelayPolicy& policy);

// Short name for traces and logs: "local", "relay", "deny".
std::string_view to_string(RelayVerdict v) noexcept;

}  // namespace mail::smtp
