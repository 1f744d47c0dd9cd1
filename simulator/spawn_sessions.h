// spawn_sessions: how the SMTP, IMAP and POP3 workloads (workload.h, imap_workload.h,
// pop3_workload.h) start their planned sessions, written once: each plan runs `run(env, plan, config, ledger, stats)`
// on its client host at phase_start + plan.start. `ledger` and `stats` must outlive the World.
#pragma once

#include <utility>
#include <vector>

#include "runtime/env.h"
#include "runtime/task.h"
#include "sim_env.h"
#include "workload.h"
#include "world.h"

namespace mail::sim {

template <class Plan, class Config, class Ledger>
void spawn_sessions(World& world, Instant phase_start, std::vector<Plan> plans, const Config& config,
                    Ledger& ledger, SessionStats& stats,
                    rt::Task<void> (*run)(rt::Env&, Plan, Config, Ledger&, SessionStats&)) {
  for (auto& p : plans) {
    const HostId client = p.client;
    world.schedule_at(phase_start + p.start, client,
                      [&world, client, plan = std::move(p), config, &ledger, &stats, run]() mutable {
                        SimEnv& env = world.env(client);
                        env.tasks().spawn(run(env, std::move(plan), config, ledger, stats));
                      });
  }
}

}  // namespace mail::sim
