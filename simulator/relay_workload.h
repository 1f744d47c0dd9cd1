// The relay workload (relay-* scenarios): client sessions that submit mail to their own
// organisation's MTA from a trusted network, sender user@<own domain> (so bounces and
// NOTIFY=SUCCESS reports come home to a real mailbox), recipients in the own domain or in
// another server's domain, some unknown there (550 at the remote RCPT: a bounce), some
// with NOTIFY=SUCCESS,FAILURE. Plans are drawn up front from the caller's stream, like
// plan_sessions(); no I/O here. Recipients of one message are distinct addresses.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/prng.h"
#include "workload.h"

namespace mail::sim {

struct RelayScenario;

// `servers[i]` is the MTA of `domains[i]`; every domain has the same `users`.
std::vector<SessionPlan> plan_relay_sessions(Prng& rng, const WorkloadConfig& config, const RelayScenario& relay,
                                             std::uint32_t count, std::uint32_t first_index,
                                             const std::vector<HostId>& clients,
                                             const std::vector<rt::Endpoint>& servers,
                                             const std::vector<std::string>& users, bool liveness, Ledger& ledger);

}  // namespace mail::sim
