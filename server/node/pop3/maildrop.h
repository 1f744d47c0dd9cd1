// The POP3 maildrop over store::MailStore: the user's INBOX. open_maildrop() snapshots it
// for a session (message number = position + 1, size = stored CRLF octets, UIDL from
// UIDVALIDITY and UID); remove_marked() is QUIT's UPDATE (RFC 1939 §6): one expunge, so the
// marked messages go in one durable step or not at all. Used by Pop3SessionAdapter and by
// the maildrop model test. Env only (through the store).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "proto/pop3/server_session.h"
#include "runtime/task.h"
#include "store/mail_store.h"

namespace mail::node::pop3srv {

inline constexpr std::string_view kMaildropFolder = "INBOX";

// RFC 1939 §7 UIDL: 8 hex digits of UIDVALIDITY, then 8 of the UID (Dovecot's %08Xv%08Xu
// shape): unique in the folder's life, stable across sessions, 16 octets of 0x30-0x66.
std::string uidl(std::uint32_t uidvalidity, std::uint32_t uid);

rt::Task<Result<std::vector<pop3::MaildropEntry>>> open_maildrop(store::MailStore& store, std::string user);

// Returns the number of messages removed (uids already gone count as removed by others).
rt::Task<Result<std::size_t>> remove_marked(store::MailStore& store, std::string user, std::vector<std::uint32_t> uids);

}  // namespace mail::node::pop3srv
