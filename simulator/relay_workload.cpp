// The relay workload (see relay_workload.h).
#include "relay_workload.h"

#include <algorithm>

#include "core/assert.h"
#include "scenario.h"

namespace mail::sim {

std::vector<SessionPlan> plan_relay_sessions(Prng& rng, const WorkloadConfig& config, const RelayScenario& relay,
                                             std::uint32_t count, std::uint32_t first_index,
                                             const std::vector<HostId>& clients,
                                             const std::vector<rt::Endpoint>& servers,
                                             const std::vector<std::string>& users, bool liveness, Ledger& ledger) {
  MAIL_ASSERT(!clients.empty());
  const std::vector<std::string> domains = relay.domains();
  MAIL_ASSERT(servers.size() == domains.size());
  MAIL_ASSERT(!users.empty());
  std::vector<SessionPlan> plans;
  for (std::uint32_t i = 0; i < count; ++i) {
    SessionPlan p;
    p.index = first_index + i;
    p.liveness = liveness;
    p.client = clients[rng.below(clients.size())];
    const std::size_t home = rng.below(servers.size());
    p.server = servers[home];
    p.start = liveness ? Duration(static_cast<std::int64_t>(rng.below(1'000'000))) : config.session_start.draw(rng);
    p.pipelining = rng.chance_ppm(config.pipelining_ppm);
    p.chunking = rng.chance_ppm(config.chunking_ppm);
    const std::uint64_t txs = config.transactions_per_session.draw(rng);
    std::uint64_t total_bytes = 0;
    for (std::uint64_t t = 0; t < txs; ++t) {
      LedgerEntry& e = ledger.add();
      e.session = p.index;
      e.server = p.server.address;
      e.liveness = liveness;
      // The sender is a real user of the submitting organisation: its DSNs come home.
      e.mail_from = users[rng.below(users.size())] + "@" + domains[home];
      e.mail_from_set = true;
      const std::uint64_t rcpts = std::max<std::uint64_t>(1, config.recipients.draw(rng));
      for (std::uint64_t r = 0; r < rcpts; ++r) {
        std::size_t dest = home;
        if (servers.size() > 1 && rng.chance_ppm(relay.remote_recipient_ppm)) {
          dest = (home + 1 + rng.below(servers.size() - 1)) % servers.size();
        }
        // Unknown users only at another organisation (a local one is refused at RCPT, which
        // every other scenario covers): the remote's 550 must come back as a bounce. Liveness
        // messages name only real users, so each one must be delivered.
        std::string local = users[rng.below(users.size())];
        if (!liveness && dest != home && rng.chance_ppm(config.unknown_recipient_ppm)) local = "nobody" + std::to_string(rng.below(5));
        std::string address = local + "@" + domains[dest];
        const bool notify = rng.chance_ppm(relay.notify_success_ppm);
        if (std::find(e.recipients.begin(), e.recipients.end(), address) != e.recipients.end()) continue;
        e.recipients.push_back(std::move(address));
        e.notify_success.push_back(notify);
      }
      e.content = sim_message_headers(e.mail_from, e.recipients, e.id) + sim_message_body(rng, config.message_bytes.draw(rng), config.dot_line_ppm);
      shape_message(rng, config, e);
      e.outcome = LedgerEntry::Outcome::not_sent;
      total_bytes += e.content.size() + 200;
      p.messages.push_back(e.id);
    }
    if (!liveness && rng.chance_ppm(config.abrupt_disconnect_ppm)) p.hang_up_after_bytes = rng.between(1, total_bytes);
    plans.push_back(std::move(p));
  }
  return plans;
}

}  // namespace mail::sim
