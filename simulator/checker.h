// Checkers: the invariants a simulation run must keep (DESIGN.md "nothing acknowledged is
// ever lost", no phantom or unexplained duplicate mail, body integrity, liveness).
// check_mailboxes() compares the Ledger with every user's Maildir (new/ and cur/) on each
// server host, both as the disk is now and as a power loss right now would leave it
// (DiskState::durable_view): an acknowledged message must already be durable.
// Each violation is one line naming the invariant, the message and the mailbox.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "mail_host.h"
#include "sim_disk.h"
#include "workload.h"

namespace mail::sim {

struct Violation {
  std::string invariant;  // "lost-after-ack", "duplicate", "phantom", "corrupt", ...
  std::string detail;
};

struct MailboxView {
  std::string label;  // "mx1 live" / "mx1 durable"
  const DiskState* disk = nullptr;
};

// Splits a stored message into (Received: header field, rest). The header field is the
// first line and its folded continuation lines; empty when the message does not start
// with "Received:".
std::pair<std::string_view, std::string_view> split_received(std::string_view stored);

// Every acked message in every accepted recipient's (distinct user's) mailbox exactly once
// and byte-identical after the Received: field; nothing never submitted; refused messages
// absent; unknown outcomes at most once. Appends to `out`.
// Only ledger entries sent to `server_address` are expected on this server. `removed`: (user,
// id) pairs a client was entitled to remove (a POP3 UPDATE, pop3_checker.h): no loss.
void check_mailboxes(const Ledger& ledger, const MailServerConfig& server, std::string_view server_address,
                     const MailboxView& view, std::vector<Violation>& out,
                     const std::set<std::pair<std::string, std::uint64_t>>* removed = nullptr);

// Liveness: messages sent after the faults were healed must all have been acked, and every
// session must have finished.
void check_liveness(const Ledger& ledger, const SessionStats& stats, std::vector<Violation>& out);

// Submission (port 587): no message of a session that did not authenticate (wrong password,
// no AUTH, or an AUTH that failed) is acked, and a wrong password never authenticates.
// check_mailboxes() adds the third half: no such message is in any mailbox.
void check_submission(const Ledger& ledger, std::vector<Violation>& out);

// Bounded memory: no client session ever buffered more than `client_bytes_max` (the
// ClientSession's reply limits), and no server connection more than `server_bytes_max`
// (the ServerSession limits plus the connection's read buffer).
void check_memory(const SessionStats& stats, std::uint64_t client_bytes_max, std::uint64_t server_bytes_max,
                  std::vector<Violation>& out);

}  // namespace mail::sim
