// IMAP checks (imap-concurrent, issue 14) over what the IMAP workload recorded
// (imap_workload.h) and the servers' disks. Every ordering rule is causal: observation A
// constrains B only when A's answer was received before B's command was sent (the ledger's
// logical clock), so concurrent sessions never produce false alarms. Per (server, folder,
// UIDVALIDITY):
//   uid-reused          one UID held two different messages (X-Sim-Id or content differ:
//                       RFC 9051 §2.3.1.1, a UID's message is immutable, UIDs never reused)
//   uid-not-ascending   a UID assigned (APPENDUID, COPYUID) was not above every UID known
//                       before the command was sent
//   uidnext-decreased   UIDNEXT (SELECT, STATUS) went down, or was not above a known UID
//   modseq-decreased    HIGHESTMODSEQ went down (RFC 7162 §3.1.2.1)
//   uidvalidity-changed a folder's UIDVALIDITY changed with no index loss in between (after
//                       an index loss it is a note); uidvalidity-decreased: it went down
//   corrupt             a fetched message differs from what was appended (or, for an SMTP
//                       message, from what was submitted, after the Received: field)
//   lost-after-ack      an APPEND answered OK (APPENDUID), never expunged by the workload,
//                       is not in its folder's Maildir (live, and after power loss), or a
//                       final liveness session's UID FETCH 1:* does not show it
//   duplicate           an appended message never moved is stored more than once
//   phantom             a stored appended message was never sent
//   liveness            a liveness session's APPEND was not acked
//   imap-client         a protocol oddity the workload saw (no APPENDUID, a bad tag ...)
#pragma once

#include <string>
#include <vector>

#include "checker.h"
#include "imap_workload.h"
#include "mail_host.h"
#include "sim_disk.h"
#include "workload.h"

namespace mail::sim {

struct ImapTotals {
  std::uint64_t appends_acked = 0;
  std::uint64_t uid_observations = 0;
  std::uint64_t counter_observations = 0;
  std::uint64_t uidvalidity_changes = 0;  // explained by an index loss (notes)
};

// The protocol rules (every observation, all servers). `smtp` resolves SMTP X-Sim-Ids.
void check_imap_protocol(const ImapLedger& ledger, const Ledger& smtp, std::vector<Violation>& out,
                         std::vector<std::string>& notes, ImapTotals& totals);

// Acknowledged appends survive: each one the workload did not expunge is in its folder's
// Maildir on `view` (the user's mailbox on the server at `server_address`).
void check_imap_mailbox(const ImapLedger& ledger, const MailServerConfig& server, std::string_view server_address,
                        std::string_view user, const std::vector<std::string>& folders, const MailboxView& view,
                        std::vector<Violation>& out);

// What the final liveness sessions read through IMAP: every acked append (not expunged, and
// acked before that folder's read was sent) is visible; their own appends were acked.
void check_imap_final(const ImapLedger& ledger, std::vector<Violation>& out);

}  // namespace mail::sim
