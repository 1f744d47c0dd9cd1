// store::OutboundQueue on the simulator's disk (SimEnv/DiskState): a crash, with torn
// unsynced writes, at a seed-chosen step of concurrent enqueues and appends. After the
// reboot load_all must return every acknowledged message complete (envelope, content, and
// every acknowledged record), any unacknowledged one either absent or complete, and leave
// no orphan and nothing in tmp/.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/prng.h"
#include "simulator/sim_env.h"
#include "simulator/world.h"
#include "store/outbound_queue.h"

namespace mail::sim {
namespace {

constexpr int crash_messages = 8;
constexpr char crash_data_dir[] = "/data";

store::QueuedMessage crash_message(int i) {
  store::QueuedMessage m;
  m.id = "m" + std::to_string(i);
  m.arrival = WallTime{1000 + i};
  m.sender = smtp::Path{smtp::Mailbox{"s", "a.test"}};
  for (int r = 0; r < 2; ++r) {
    store::QueuedRecipient q;
    q.recipient.path = smtp::Path{smtp::Mailbox{"r" + std::to_string(r), "b.test"}};
    m.recipients.push_back(q);
  }
  return m;
}
std::string crash_content(int i) { return "Subject: " + std::to_string(i) + "\r\n\r\n" + std::string(100 * static_cast<std::size_t>(i), 'x') + "\r\n"; }

struct Acks {
  bool enqueued[crash_messages] = {};
  bool appended[crash_messages] = {};
};

rt::Task<void> enqueue_then_append(store::OutboundQueue* q, int i, Acks* acks) {
  std::vector<std::string> parts{crash_content(i).substr(0, 10), crash_content(i).substr(10)};
  Status s = co_await q->enqueue(crash_message(i), std::move(parts));
  if (!s.ok()) co_return;
  acks->enqueued[i] = true;
  store::QueueRecord r;
  r.kind = store::QueueRecord::Kind::deferred;
  r.recipient = 0;
  r.next_attempt = WallTime{5000 + i};
  r.reply = "451 4.7.1 later";
  std::vector<store::QueueRecord> recs{r};
  s = co_await q->append("m" + std::to_string(i), std::move(recs));
  if (s.ok()) acks->appended[i] = true;
}

rt::Task<void> open_queue(store::OutboundQueue* q, bool* ok) { *ok = (co_await q->open()).ok(); }

rt::Task<void> load_queue(store::OutboundQueue* q, std::optional<Result<store::OutboundQueue::Loaded>>* out) {
  out->emplace(co_await q->load_all());
}

TEST(OutboundQueueCrash, AcknowledgedSurvivesAndUnacknowledgedIsAbsentOrComplete) {
  int crashed_mid_run = 0;
  for (std::uint64_t seed = 1; seed <= 80; ++seed) {
    SCOPED_TRACE("seed=" + std::to_string(seed));
    World w(seed);
    HostConfig hc;
    hc.name = "queue";
    hc.address = "10.0.0.1";
    hc.disk.tear_ppm = 500'000;
    const HostId h = w.add_host(hc);
    w.boot(h);
    Prng rng = w.fork("crash-step");
    {
      auto q = std::make_unique<store::OutboundQueue>(w.env(h), store::OutboundQueueConfig{crash_data_dir});
      bool opened = false;
      w.env(h).tasks().spawn(open_queue(q.get(), &opened));
      ASSERT_EQ(w.run_until_idle(), RunStatus::idle);
      ASSERT_TRUE(opened);
      Acks acks;
      for (int i = 0; i < crash_messages; ++i) w.env(h).tasks().spawn(enqueue_then_append(q.get(), i, &acks));
      const std::uint64_t steps = rng.below(160);
      std::uint64_t taken = 0;
      while (taken < steps && w.step()) ++taken;
      if (taken == steps) ++crashed_mid_run;
      w.crash(h);
      q.reset();  // its tasks died with the host
      w.boot(h);

      store::OutboundQueue again(w.env(h), store::OutboundQueueConfig{crash_data_dir});
      std::optional<Result<store::OutboundQueue::Loaded>> loaded;
      w.env(h).tasks().spawn(load_queue(&again, &loaded));
      ASSERT_EQ(w.run_until_idle(), RunStatus::idle);
      ASSERT_TRUE(loaded.has_value());
      ASSERT_TRUE(loaded->ok()) << loaded->error().detail;
      std::vector<bool> present(crash_messages, false);
      for (const auto& m : loaded->value().messages) {
        ASSERT_EQ(m.id.front(), 'm');
        const int i = std::stoi(m.id.substr(1));
        ASSERT_GE(i, 0);
        ASSERT_LT(i, crash_messages);
        present[static_cast<std::size_t>(i)] = true;
        store::QueuedMessage want = crash_message(i);
        want.size_bytes = crash_content(i).size();
        if (m.recipients[0].state == store::RecipientState::deferred) {
          store::QueueRecord r;
          r.kind = store::QueueRecord::Kind::deferred;
          r.next_attempt = WallTime{5000 + i};
          r.reply = "451 4.7.1 later";
          store::apply(want, r);
        }
        EXPECT_EQ(m, want) << m.id;
        // Complete: the content is all there (readable from the durable disk).
        const auto content = w.disk_state(h).read(again.content_path(m.id));
        ASSERT_TRUE(content.ok()) << m.id;
        EXPECT_EQ(content.value(), crash_content(i)) << m.id;
        if (acks.appended[i]) {
          EXPECT_EQ(m.recipients[0].state, store::RecipientState::deferred) << m.id;
        }
      }
      for (int i = 0; i < crash_messages; ++i) {
        if (acks.enqueued[i]) {
          EXPECT_TRUE(present[static_cast<std::size_t>(i)]) << "acknowledged m" << i << " lost";
        }
      }
      // No orphans and no leftovers survive the load.
      const auto active = w.disk_state(h).list(std::string(crash_data_dir) + "/queue/active");
      ASSERT_TRUE(active.ok());
      std::size_t files = 0;
      for (const auto& e : active.value()) files += e.is_dir ? 0 : 1;
      EXPECT_EQ(files, 2 * loaded->value().messages.size());
      const auto tmp = w.disk_state(h).list(std::string(crash_data_dir) + "/queue/tmp");
      ASSERT_TRUE(tmp.ok());
      EXPECT_TRUE(tmp.value().empty());
    }
  }
  // The seeds must actually crash mid-run, not only after everything finished.
  EXPECT_GT(crashed_mid_run, 20);
}

}  // namespace
}  // namespace mail::sim
