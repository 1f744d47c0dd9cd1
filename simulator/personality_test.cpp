// Remote-MX personalities (personality.h) against the simulator's real SMTP client session
// and the real server: greylisting (RFC 6647), a reply at every stage (RFC 5321 §3.3,
// §4.2.1), HELO fallback after a refused EHLO (§4.1.4), slowness, silence, the drop after
// the final dot (RFC 1047), garbled replies (bounded client memory), and the scenario
// file's [hosts.NAME.personality] tables.
#include "simulator/personality.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "simulator/checker.h"
#include "simulator/mail_host.h"
#include "simulator/scenario.h"
#include "simulator/sim_disk.h"
#include "simulator/sim_net.h"
#include "simulator/workload.h"
#include "simulator/world.h"

namespace mail::sim {
namespace {

// One mail server (mx1, users alice and bob) and one client host; sessions are the
// workload's (node::SmtpClientConnection over smtp::ClientSession).
struct Rig {
  Ledger ledger;
  SessionStats stats;
  MailServerConfig cfg;
  std::unique_ptr<World> world;
  HostId mx = 0, client = 0;
  std::uint32_t sessions = 0;

  explicit Rig(std::uint64_t seed = 1) {
    cfg.directory.domains = {"example.test"};
    cfg.directory.users = {store::UserConfig{"alice", {}}, store::UserConfig{"bob", {}}};
    cfg.data_dir = "/data";
    world = std::make_unique<World>(seed);
    mx = world->add_host(HostConfig{"mx1", "10.0.1.1", {}, {}}, mail_server_boot(cfg));
    client = world->add_host(HostConfig{"client1", "10.0.2.1", {}, {}});
    MAIL_ASSERT(provision_data_dir(world->disk_state(mx), cfg.data_dir).ok());
    world->boot(mx);
    world->boot(client);
    (void)world->run_for(1s);
  }
  ~Rig() { world.reset(); }  // first: its teardown destroys client tasks using the ledger

  std::uint64_t message(std::vector<std::string> recipients, std::string from = "sender@clients.test") {
    LedgerEntry& e = ledger.add();
    e.server = "10.0.1.1";
    e.mail_from = std::move(from);
    e.mail_from_set = true;
    e.recipients = std::move(recipients);
    e.content = "From: <sender@clients.test>\r\nSubject: personality " + std::to_string(e.id) +
                "\r\nMessage-ID: <p." + std::to_string(e.id) + "@clients.test>\r\nX-Sim-Id: " + std::to_string(e.id) +
                "\r\n\r\nHello.\r\n.leading dot\r\n";
    return e.id;
  }

  // Starts a session with the given messages now; returns after it finished (bounded).
  void session(std::vector<std::uint64_t> messages, bool pipelining = true, bool chunking = false) {
    SessionPlan p;
    p.index = sessions++;
    p.client = client;
    p.server = rt::Endpoint{"10.0.1.1", 25};
    p.pipelining = pipelining;
    p.chunking = chunking;
    p.messages = std::move(messages);
    launch_sessions(*world, world->now(), {std::move(p)}, WorkloadConfig{}, ledger, stats);
    const std::uint32_t want = sessions;
    ASSERT_EQ(world->run_until([&] { return stats.finished == want; }, 2h), RunStatus::predicate);
  }

  const LedgerEntry& entry(std::uint64_t id) { return ledger.at(id); }

  std::size_t stored(const std::string& user) const {
    auto l = world->disk_state(mx).list(maildir_of(cfg, user) + "/new");
    return l.ok() ? l->size() : 0;
  }

  std::vector<Violation> check() const {
    std::vector<Violation> v;
    check_mailboxes(ledger, cfg, "10.0.1.1", MailboxView{"mx1 live", &world->disk_state(mx)}, v);
    return v;
  }

  void set(const std::string& toml) {
    auto p = parse_personality_toml(toml, "test");
    ASSERT_TRUE(p.ok()) << p.error().detail;
    world->set_personality(mx, *p);
  }
};

std::string all(const std::vector<Violation>& v) {
  std::string out;
  for (const auto& x : v) out += x.invariant + ": " + x.detail + "\n";
  return out;
}

TEST(Personality, WithoutOneTheServerAcceptsAsBefore) {
  Rig rig;
  const auto id = rig.message({"alice@example.test"});
  rig.session({id});
  EXPECT_EQ(rig.entry(id).outcome, LedgerEntry::Outcome::acked) << rig.entry(id).reply;
  EXPECT_EQ(rig.stored("alice"), 1u);
  EXPECT_EQ(rig.world->personality(rig.mx), nullptr);
}

// RFC 6647 §2.1: the first attempt of a (client, sender, recipient) triple gets a 4xx; a
// retry before greylist_delay too; one after it passes.
TEST(Personality, Greylist_Rfc6647_FirstAttemptDeferredRetryAfterDelayAccepted) {
  Rig rig;
  rig.set("greylist = true\ngreylist_delay = \"1m\"\n");
  const auto first = rig.message({"alice@example.test"});
  rig.session({first});
  EXPECT_NE(rig.entry(first).outcome, LedgerEntry::Outcome::acked);
  ASSERT_EQ(rig.entry(first).rcpt_accepted.size(), 1u);
  EXPECT_FALSE(rig.entry(first).rcpt_accepted[0]);
  EXPECT_EQ(rig.stored("alice"), 0u);

  (void)rig.world->run_for(20s);
  const auto early = rig.message({"alice@example.test"});
  rig.session({early});
  EXPECT_NE(rig.entry(early).outcome, LedgerEntry::Outcome::acked);

  (void)rig.world->run_for(1min);
  // Another sender is another triple: greylisted although alice's first triple now passes.
  const auto other = rig.message({"alice@example.test"}, "other@clients.test");
  const auto retry = rig.message({"alice@example.test"});
  rig.session({other});
  rig.session({retry});
  EXPECT_NE(rig.entry(other).outcome, LedgerEntry::Outcome::acked);
  EXPECT_EQ(rig.entry(retry).outcome, LedgerEntry::Outcome::acked) << rig.entry(retry).reply;
  EXPECT_EQ(rig.stored("alice"), 1u);
  const auto& c = rig.world->personality(rig.mx)->counters();
  EXPECT_EQ(c.greylisted, 3u);
  EXPECT_EQ(c.greylist_passed, 1u);
  EXPECT_TRUE(rig.check().empty()) << all(rig.check());
}

// A refused stage is a substitution (NOOP / RSET to the server), so the server's state is
// what the client was told: nothing refused is ever stored (RFC 5321 §4.2.1, §4.1.1.5).
TEST(Personality, Rfc5321_4_2_1_ReplyAtEachStageReachesTheClientAndStoresNothing) {
  const std::vector<std::pair<std::string, std::string>> stages{
      {"mail", "451 4.3.0 Try again later"},
      {"rcpt", "550 5.1.1 No such user"},
      {"data", "452 4.3.1 Insufficient storage"},
      {"end_of_data", "554 5.6.0 Message rejected"},
  };
  for (const bool chunking : {false, true}) {
    for (const auto& [stage, reply] : stages) {
      if (chunking && stage == "data") continue;  // BDAT has no 354 stage (RFC 3030 §2)
      SCOPED_TRACE(stage + (chunking ? " with BDAT" : " with DATA"));
      Rig rig;
      rig.set("[" + stage + "]\nreply = \"" + reply + "\"\n");
      const auto id = rig.message({"alice@example.test"});
      rig.session({id}, true, chunking);
      const LedgerEntry& e = rig.entry(id);
      EXPECT_EQ(e.outcome, LedgerEntry::Outcome::refused) << e.reply;
      EXPECT_EQ(e.reply.substr(0, 3), reply.substr(0, 3)) << e.reply;
      EXPECT_EQ(rig.stored("alice"), 0u);
      EXPECT_TRUE(rig.check().empty()) << all(rig.check());
      // The same host without its personality accepts again.
      rig.world->clear_personality(rig.mx);
      const auto again = rig.message({"alice@example.test"});
      rig.session({again}, true, chunking);
      EXPECT_EQ(rig.entry(again).outcome, LedgerEntry::Outcome::acked) << rig.entry(again).reply;
    }
  }
}

// A fraction: with reply_ppm = 50% some of many RCPTs are refused, the others accepted,
// and the message reaches exactly the accepted ones.
TEST(Personality, RcptRefusedWithAProbability) {
  Rig rig(3);
  rig.set("[rcpt]\nreply = \"452 4.2.2 Mailbox full\"\nreply_ppm = 500000\n");
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 12; ++i) ids.push_back(rig.message({"alice@example.test", "bob@example.test"}));
  rig.session(ids);
  std::size_t accepted = 0, refused = 0;
  for (auto id : ids) {
    for (bool a : rig.entry(id).rcpt_accepted) ++(a ? accepted : refused);
  }
  EXPECT_GT(accepted, 0u);
  EXPECT_GT(refused, 0u);
  EXPECT_TRUE(rig.check().empty()) << all(rig.check());
}

// RFC 5321 §3.1: a server may refuse at the greeting with 554 and close; nothing is sent.
TEST(Personality, Rfc5321_3_1_GreetingRefusedThenClosed) {
  Rig rig;
  rig.set("[greeting]\nreply = \"554 5.3.2 No service\"\n");
  const auto id = rig.message({"alice@example.test"});
  rig.session({id});
  EXPECT_NE(rig.entry(id).outcome, LedgerEntry::Outcome::acked);
  EXPECT_NE(rig.entry(id).outcome, LedgerEntry::Outcome::unknown);
  EXPECT_EQ(rig.stored("alice"), 0u);
}

// RFC 5321 §4.1.4: a client whose EHLO is refused with 5xx falls back to HELO.
TEST(Personality, Rfc5321_4_1_4_EhloRefusedClientFallsBackToHelo) {
  Rig rig;
  rig.set("[ehlo]\nreply = \"502 5.5.1 Command not implemented\"\n");
  const auto id = rig.message({"alice@example.test"});
  rig.session({id});
  EXPECT_EQ(rig.entry(id).outcome, LedgerEntry::Outcome::acked) << rig.entry(id).reply;
  EXPECT_EQ(rig.stored("alice"), 1u);
  EXPECT_EQ(rig.world->personality(rig.mx)->counters().replies, 1u);
}

TEST(Personality, SlowStageDelaysTheReply) {
  Rig rig;
  rig.set("[rcpt]\ndelay = [\"40s\", \"40s\"]\n");
  const Instant start = rig.world->now();
  const auto id = rig.message({"alice@example.test"});
  rig.session({id});
  EXPECT_EQ(rig.entry(id).outcome, LedgerEntry::Outcome::acked);
  EXPECT_GE(rig.entry(id).decided_at - start, 40s);
  EXPECT_EQ(rig.world->personality(rig.mx)->counters().delayed, 1u);
}

// Silence after the final dot: the message is stored (the server said 250), the client
// hears nothing, the connection stays open past the server's own idle timeout, and the
// client ends with an unknown outcome (RFC 5321 §4.5.3.2.6: it waits 10 minutes).
TEST(Personality, SilentEndOfDataKeepsTheConnectionOpenUntilTheClientGivesUp) {
  Rig rig;
  rig.set("[end_of_data]\nsilent_ppm = 1000000\n");
  const auto id = rig.message({"alice@example.test"});
  SessionPlan p;
  p.client = rig.client;
  p.server = rt::Endpoint{"10.0.1.1", 25};
  p.messages = {id};
  launch_sessions(*rig.world, rig.world->now(), {p}, WorkloadConfig{}, rig.ledger, rig.stats);
  (void)rig.world->run_for(7min);  // beyond the server's 5 min command timeout
  EXPECT_EQ(rig.stats.finished, 0u);
  EXPECT_EQ(rig.stored("alice"), 1u);
  bool open = false;
  for (const auto& c : rig.world->net().connections()) open = open || (c.server == rig.mx && !c.closed[1]);
  EXPECT_TRUE(open);
  ASSERT_EQ(rig.world->run_until([&] { return rig.stats.finished == 1; }, 1h), RunStatus::predicate);
  EXPECT_EQ(rig.entry(id).outcome, LedgerEntry::Outcome::unknown);
  EXPECT_TRUE(rig.check().empty()) << all(rig.check());
}

// RFC 1047: the message is stored, the connection closes before the 250 reaches the
// client; the drop is recorded with the ids a checker needs to explain the duplicate.
TEST(Personality, Rfc1047_DropAfterDotStoresTheMessageAndRecordsIt) {
  for (const bool chunking : {false, true}) {
    SCOPED_TRACE(chunking ? "BDAT LAST" : "DATA");
    Rig rig;
    rig.set("drop_after_dot_ppm = 1000000\n");
    const auto id = rig.message({"alice@example.test"});
    rig.session({id}, true, chunking);
    EXPECT_EQ(rig.entry(id).outcome, LedgerEntry::Outcome::unknown) << rig.entry(id).reply;
    EXPECT_EQ(rig.stored("alice"), 1u);
    const auto drops = rig.world->dropped_after_dot();
    ASSERT_EQ(drops.size(), 1u);
    EXPECT_EQ(drops[0].host, "mx1");
    EXPECT_EQ(drops[0].client, "10.0.2.1");
    EXPECT_EQ(drops[0].sim_id, std::to_string(id));
    EXPECT_EQ(drops[0].message_id, "<p." + std::to_string(id) + "@clients.test>");
    EXPECT_FALSE(drops[0].queue_id.empty());
    EXPECT_TRUE(rig.check().empty()) << all(rig.check());
    // A scenario clears personalities at heal; the drops must still explain the duplicates
    // a retry causes afterwards (the relay checkers), and so after a replacement too.
    const HostId mx1 = rig.world->host_by_name("mx1");
    rig.world->clear_personality(mx1);
    ASSERT_EQ(rig.world->dropped_after_dot().size(), 1u);
    EXPECT_EQ(rig.world->dropped_after_dot()[0].sim_id, std::to_string(id));
    rig.set("greylist = true\n");
    rig.set("greylist = false\n");
    EXPECT_EQ(rig.world->dropped_after_dot().size(), 1u);
  }
}

// Garbled replies: the client copes — it never buffers beyond its reply limits, never
// takes garbage for an acceptance, and nothing it was not told 250 about is misdelivered.
TEST(Personality, GarbledRepliesAreSurvivedWithBoundedMemory) {
  const smtp::ReplyLimits limits;
  for (const std::string kind : {"corrupt", "split", "endless", "long_line"}) {
    for (const std::string stage : {"ehlo", "rcpt", "end_of_data"}) {
      SCOPED_TRACE(kind + " at " + stage);
      Rig rig;
      rig.set("[" + stage + "]\ngarble_ppm = 1000000\ngarble = [\"" + kind + "\"]\n");
      const auto id = rig.message({"alice@example.test", "bob@example.test"});
      rig.session({id});
      const LedgerEntry& e = rig.entry(id);
      if (kind == "split") {
        EXPECT_EQ(e.outcome, LedgerEntry::Outcome::acked) << e.reply;
      } else {
        EXPECT_NE(e.outcome, LedgerEntry::Outcome::acked) << e.reply;
      }
      EXPECT_LE(rig.stats.client_buffered_max, std::uint64_t{limits.reply_bytes_max} + limits.line_bytes_tolerated);
      EXPECT_TRUE(rig.stats.problems.empty()) << rig.stats.problems.front();
      EXPECT_TRUE(rig.check().empty()) << all(rig.check());
      EXPECT_GE(rig.world->personality(rig.mx)->counters().garbled, 1u);  // each RCPT reply when pipelined
    }
  }
}

TEST(Personality, SameSeedSameDecisions) {
  auto run = [](std::uint64_t seed) {
    Rig rig(seed);
    rig.set("[rcpt]\nreply = \"450 4.2.0 Busy\"\nreply_ppm = 500000\n");
    std::vector<std::uint64_t> ids;
    for (int i = 0; i < 10; ++i) ids.push_back(rig.message({"alice@example.test"}));
    rig.session(ids);
    std::string outcomes;
    for (auto id : ids) outcomes += std::string(to_string(rig.entry(id).outcome)) + ",";
    return std::make_pair(outcomes, rig.world->trace().hash());
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5).second, run(6).second);
}

// ---------------------------------------------------------------------------- parsing

TEST(PersonalityConfig, Rfc3463_ReplyStringsAreChecked) {
  auto ok = parse_personality_reply("450 4.7.1 Greylisted");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->code, 450);
  EXPECT_EQ(ok->enhanced.to_string(), "4.7.1");
  EXPECT_EQ(ok->lines.at(0), "Greylisted");
  EXPECT_TRUE(parse_personality_reply("554 5.3.2").ok());
  EXPECT_FALSE(parse_personality_reply("250 2.0.0 Ok").ok());       // not a refusal
  EXPECT_FALSE(parse_personality_reply("450 5.7.1 Mismatch").ok());  // class differs (RFC 3463 §2)
  EXPECT_FALSE(parse_personality_reply("450 Greylisted").ok());      // no enhanced code
  EXPECT_FALSE(parse_personality_reply("45 4.7.1 x").ok());
  EXPECT_FALSE(parse_personality_reply("450 4.7.1 two\r\nlines").ok());
}

TEST(PersonalityConfig, ScenarioHostsTables) {
  const std::string text = R"(
servers = 2
[hosts.mx2.personality]
greylist = true
greylist_delay = "2m"
drop_after_dot_ppm = 1000
starttls = true
[hosts.mx2.personality.rcpt]
reply = "452 4.2.2 Mailbox full"
reply_ppm = 250000
delay = ["1s", "5s"]
silent_ppm = 10
garble_ppm = 20
garble = ["split", "endless"]
)";
  auto s = parse_scenario_toml(text, "p.toml");
  ASSERT_TRUE(s.ok()) << s.error().detail;
  ASSERT_EQ(s->personalities.count("mx2"), 1u);
  const Personality& p = s->personalities.at("mx2");
  EXPECT_TRUE(p.greylist);
  EXPECT_EQ(p.greylist_delay, 2min);
  EXPECT_EQ(p.drop_after_dot_ppm, 1000u);
  EXPECT_TRUE(p.starttls);
  const StagePersonality& r = p.at(Stage::rcpt);
  ASSERT_TRUE(r.reply.has_value());
  EXPECT_EQ(r.reply->code, 452);
  EXPECT_EQ(r.reply_ppm, 250000u);
  EXPECT_EQ(r.delay_min, 1s);
  EXPECT_EQ(r.delay_max, 5s);
  EXPECT_EQ(r.delay_ppm, 1'000'000u);
  EXPECT_EQ(r.silent_ppm, 10u);
  EXPECT_EQ(r.garble, (std::vector<Garble>{Garble::split, Garble::endless}));
  EXPECT_FALSE(p.at(Stage::mail).active());
}

TEST(PersonalityConfig, ErrorsNameTheKey) {
  auto bad = [](const std::string& text) {
    auto s = parse_scenario_toml(text, "p.toml");
    EXPECT_FALSE(s.ok());
    return s.ok() ? std::string() : s.error().detail;
  };
  EXPECT_NE(bad("[hosts.mx9.personality]\ngreylist = true\n").find("hosts.mx9: no server host of that name"), std::string::npos);
  EXPECT_NE(bad("[hosts.mx1.personality.rcpt]\nreply = \"250 2.0.0 Ok\"\n").find("hosts.mx1.personality.rcpt.reply"),
            std::string::npos);
  EXPECT_NE(bad("[hosts.mx1.personality.rcpt]\ngarble = [\"noise\"]\n").find("garble"), std::string::npos);
  EXPECT_NE(bad("[hosts.mx1.personality]\ngreylst = true\n").find("did you mean 'greylist'"), std::string::npos);
  EXPECT_NE(bad("[hosts.mx1.personality.helo]\nsilent_ppm = 1\n").find("unknown key"), std::string::npos);
  auto p = parse_personality_toml("[rcpt]\nreply_ppm = 2000000\n", "py");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().detail.find("rcpt.reply_ppm"), std::string::npos);
}

}  // namespace
}  // namespace mail::sim
