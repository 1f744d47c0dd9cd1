// POP3 checks (pop3-basic, issue 15) over what the POP3 workload recorded (pop3_workload.h)
// and the servers' disks. Orderings use the ledger's logical clock only ("A ended before B
// logged in"), so concurrent sessions never raise false alarms. Per server:
//   pop3-client          a protocol oddity the workload saw (bad status line, STAT/LIST
//                        disagree, a refused login with the right password, RETR -ERR ...)
//   uidl-duplicate       one snapshot lists a UIDL twice (RFC 1939 §7: unique in the maildrop)
//   uidl-reused          one UIDL retrieved two different messages (RFC 1939 §7: a UIDL
//                        names one message for good)
//   uidl-changed         one message (X-Sim-Id) retrieved under two UIDLs (stable across sessions)
//   size-mismatch        RETR sent a different number of octets than LIST announced (RFC
//                        1939 §5 LIST: the exact size; octets counted after un-stuffing)
//   corrupt              a retrieved SMTP message differs from what was submitted (after
//                        its Received: field)
//   deleted-resurrected  a message DELEd by a session whose QUIT got +OK is listed by a
//                        session that logged in after that answer (RFC 1939 §6 UPDATE)
//   deleted-still-stored ... or is still in the Maildir at the end
//   deleted-without-quit a message marked only by sessions that never sent QUIT (hang-up,
//                        broken connection) is gone at the end (RFC 1939 §6: no UPDATE)
//   half-update          of the messages a QUIT without answer (a crash during UPDATE) or
//                        with -ERR had marked, some are gone and some remain at the end —
//                        the maildrop must lose all of them or none
//   lock-not-exclusive   a session logged in while another one held the maildrop (logged
//                        in before, and later answered QUIT +OK, so its connection — and
//                        the lock — lived throughout): RFC 1939 §8 exclusive-access lock
//   liveness             a liveness session did not log in, read every message and QUIT +OK
// "Nothing acknowledged is lost" stays with check_mailboxes (checker.h); the messages a
// committed or possibly-committed UPDATE removed are the only ones it may miss
// (pop3_removable below).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "checker.h"
#include "mail_host.h"
#include "pop3_workload.h"
#include "sim_disk.h"
#include "workload.h"

namespace mail::sim {

struct Pop3Totals {
  std::uint64_t committed = 0, update_unknown = 0, aborted = 0, in_use = 0;
  std::uint64_t retrs = 0, deles = 0;
};

// (user, SMTP id) of the messages that a QUIT +OK, a QUIT -ERR or a QUIT without answer on
// `server` may have removed from `user`'s maildrop (for check_mailboxes).
std::set<std::pair<std::string, std::uint64_t>> pop3_removable(const Pop3Ledger& ledger, std::string_view server,
                                                               const std::string& user);

// The protocol and UPDATE rules over every session and RETR (all servers). `smtp` resolves
// X-Sim-Ids to submitted contents.
void check_pop3(const Pop3Ledger& ledger, const Ledger& smtp, std::vector<Violation>& out, Pop3Totals& totals);

// The maildrop on disk (`view`, the user's Maildir on the server at `server_address`):
// committed deletions are gone, and an unanswered UPDATE removed all of its marks or none.
void check_pop3_maildrop(const Pop3Ledger& ledger, const MailServerConfig& server, std::string_view server_address,
                         std::string_view user, const MailboxView& view, std::vector<Violation>& out);

}  // namespace mail::sim
