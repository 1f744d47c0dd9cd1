// sim_world's input decoder: turns fuzz bytes (through FuzzedDataProvider) into a small
// scenario file (the TOML `cloudsdial sim --scenario FILE` reads, docs/SIMULATOR.md) and a
// world seed. The input chooses the scenario kind (SMTP, relay, IMAP, POP3), its size
// (sessions, transactions, recipients, phase length), message shapes (body sizes, dot
// lines, 8BITMIME and SMTPUTF8, PIPELINING, CHUNKING, abrupt hang-ups, unknown recipients)
// and which faults are on and how often (crashes at random / after a sync / after a 250,
// partitions, stalls, RSTs, segmentation, read/write/sync EIO, ENOSPC, torn writes, BUGGIFY,
// DNS SERVFAIL/timeouts, index loss, crashes during POP3 UPDATE). The seed then fixes every
// draw of the World.
// Invariants: every TOML produced parses (a parse error is a bug of this file); the
// scenario stays small (a few sessions, at most a minute of faults) so one run takes
// milliseconds; the same bytes give the same text and seed. No I/O here.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <iterator>
#include <string>

namespace mail::fuzz {

struct SimInput {
  std::string toml;        // a complete scenario file (base = a built-in scenario)
  std::uint64_t seed = 0;  // the world seed
};

inline SimInput sim_input_from(FuzzedDataProvider& in) {
  // A rate from 2 bits: off, rare, frequent, very frequent (ppm).
  auto rate = [&in](std::uint32_t rare, std::uint32_t often, std::uint32_t very) -> std::uint32_t {
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
      case 0: return 0;
      case 1: return rare;
      case 2: return often;
      default: return very;
    }
  };
  auto num = [](std::uint64_t v) { return std::to_string(v); };
  auto secs = [](std::uint64_t s) { return "\"" + std::to_string(s) + "s\""; };
  auto ms = [](std::uint64_t v) { return "\"" + std::to_string(v) + "ms\""; };

  SimInput out;
  const int kind = in.ConsumeIntegralInRange<int>(0, 3);  // 0 smtp, 1 relay, 2 imap, 3 pop3
  out.seed = in.ConsumeIntegral<std::uint64_t>();
  std::string& t = out.toml;
  static const char* const kBases[] = {"smtp-faults", "relay-basic", "imap-concurrent", "pop3-basic"};
  const bool relay_personalities = kind == 1 && in.ConsumeBool();
  t += "base = \"";
  t += relay_personalities ? "relay-faults" : kBases[kind];
  t += "\"\nname = \"sim-world\"\n";

  const std::uint64_t fault_s = in.ConsumeIntegralInRange<std::uint64_t>(2, 40);
  t += "[phases]\nfaults = " + secs(fault_s) + "\nsettle = \"2s\"\n";
  t += kind == 1 ? "drain = \"40m\"\n" : "drain = \"10m\"\n";
  t += "max_steps = 3000000\n";

  // The SMTP workload (every kind has one: it delivers into the IMAP/POP3 mailbox too).
  const std::uint64_t tx_max = in.ConsumeIntegralInRange<std::uint64_t>(1, 3);
  const std::uint64_t rcpt_max = in.ConsumeIntegralInRange<std::uint64_t>(1, 3);
  const std::uint64_t body_min = in.ConsumeIntegralInRange<std::uint64_t>(0, 2000);
  const std::uint64_t body_max = body_min + in.ConsumeIntegralInRange<std::uint64_t>(0, 6000);
  t += "[workload]\nsessions = " + num(in.ConsumeIntegralInRange<std::uint64_t>(kind >= 2 ? 0 : 1, 3));
  t += "\nliveness_sessions = " + num(in.ConsumeIntegralInRange<std::uint64_t>(0, 1));
  t += "\nsession_start = [\"1s\", " + secs(fault_s + 1) + "]";
  t += "\ntransactions_per_session = [1, " + num(tx_max) + "]";
  t += "\nrecipients = [1, " + num(rcpt_max) + "]";
  t += "\nmessage_bytes = [" + num(body_min) + ", " + num(body_max) + "]";
  t += "\npipelining_ppm = " + num(rate(100'000, 500'000, 1'000'000));
  t += "\nchunking_ppm = " + num(rate(100'000, 500'000, 1'000'000));
  t += "\nabrupt_disconnect_ppm = " + num(rate(20'000, 100'000, 300'000));
  t += "\nunknown_recipient_ppm = " + num(rate(20'000, 200'000, 500'000));
  t += "\ndot_line_ppm = " + num(rate(50'000, 300'000, 1'000'000));
  t += "\neight_bit_ppm = " + num(rate(100'000, 500'000, 1'000'000));
  t += "\nsmtputf8_ppm = " + num(rate(100'000, 500'000, 1'000'000));
  t += "\n";

  t += "[net]\nsplit_ppm = " + num(rate(100'000, 500'000, 1'000'000));
  t += "\nbytewise_ppm = " + num(rate(20'000, 200'000, 1'000'000));
  t += "\nstall_ppm = " + num(rate(1'000, 20'000, 100'000));
  t += "\nreset_ppm = " + num(rate(5'000, 50'000, 200'000));
  t += "\nreset_offset_max = " + num(in.ConsumeIntegralInRange<std::uint64_t>(1, 16 * 1024));
  t += "\nsegment_bytes_max = " + num(in.ConsumeBool() ? 1460 : in.ConsumeIntegralInRange<std::uint64_t>(1, 64));
  t += "\n";

  const bool quota = in.ConsumeIntegralInRange<int>(0, 7) == 7;  // rare; never when the input runs out
  t += "[disk]\nread_eio_ppm = " + num(rate(1'000, 10'000, 50'000));
  t += "\nwrite_eio_ppm = " + num(rate(1'000, 10'000, 50'000));
  t += "\nsync_eio_ppm = " + num(rate(1'000, 10'000, 50'000));
  t += "\nquota_bytes = " + num(quota ? in.ConsumeIntegralInRange<std::uint64_t>(4'000, 400'000) : 0);
  t += "\ntear_ppm = " + num(rate(100'000, 500'000, 1'000'000));
  t += "\n";

  t += "[faults]\n";
  if (in.ConsumeBool()) {
    const std::uint64_t lo = in.ConsumeIntegralInRange<std::uint64_t>(1, 30);
    t += "crash_interval = [" + secs(lo) + ", " + secs(lo + in.ConsumeIntegralInRange<std::uint64_t>(0, 30)) + "]\n";
  }
  const std::uint64_t down_ms = in.ConsumeIntegralInRange<std::uint64_t>(1, 15'000);
  t += "downtime = [\"1ms\", " + ms(down_ms) + "]\n";
  t += "crash_after_sync_ppm = " + num(rate(5'000, 50'000, 200'000));
  t += "\ncrash_after_ack_ppm = " + num(rate(10'000, 100'000, 300'000));
  t += "\n";
  if (in.ConsumeBool()) {
    const std::uint64_t lo = in.ConsumeIntegralInRange<std::uint64_t>(1, 30);
    t += "partition_interval = [" + secs(lo) + ", " + secs(lo + in.ConsumeIntegralInRange<std::uint64_t>(0, 30)) + "]\n";
    t += "partition_duration = [\"100ms\", " + ms(in.ConsumeIntegralInRange<std::uint64_t>(100, 20'000)) + "]\n";
    t += "one_way_partition_ppm = " + num(rate(100'000, 500'000, 1'000'000)) + "\n";
  }
  t += "buggify = ";
  t += in.ConsumeBool() ? "true\n" : "false\n";

  if (kind == 1) {
    // Short retry schedule: the drain phase waits for both queues to empty.
    t += "[relay]\nfirst_retry = \"30s\"\nretry_factor = 2\nmax_retry = \"2m\"\nlifetime = \"10m\"";
    t += "\nremote_recipient_ppm = " + num(rate(200'000, 600'000, 1'000'000));
    t += "\nnotify_success_ppm = " + num(rate(100'000, 500'000, 1'000'000));
    t += "\ndns_servfail_ppm = " + num(rate(20'000, 100'000, 300'000));
    t += "\ndns_timeout_ppm = " + num(rate(20'000, 50'000, 200'000));
    t += "\nserver_partition_ppm = " + num(rate(200'000, 500'000, 1'000'000));
    t += "\n";
  } else if (kind == 2) {
    t += "[imap]\nsessions = " + num(in.ConsumeIntegralInRange<std::uint64_t>(1, 3));
    t += "\nsession_start = [\"1s\", " + secs(fault_s + 1) + "]";
    t += "\nops_per_session = [1, " + num(in.ConsumeIntegralInRange<std::uint64_t>(1, 10)) + "]";
    t += "\nidle = [\"100ms\", " + ms(in.ConsumeIntegralInRange<std::uint64_t>(100, 5'000)) + "]";
    t += "\nabrupt_disconnect_ppm = " + num(rate(20'000, 100'000, 300'000));
    t += "\nliveness_sessions = " + num(in.ConsumeIntegralInRange<std::uint64_t>(0, 1));
    t += "\nindex_loss_ppm = " + num(rate(100'000, 500'000, 1'000'000));
    t += "\n[imap.mix]";
    static const char* const kOps[] = {"append", "fetch", "store", "expunge", "uid_expunge",
                                       "move",   "idle",  "noop",  "status",  "select"};
    bool any = false;
    for (std::size_t i = 0; i < std::size(kOps); ++i) {
      std::uint64_t w = in.ConsumeIntegralInRange<std::uint64_t>(0, 3);
      if (!any && i + 1 == std::size(kOps) && w == 0) w = 1;  // at least one weight > 0
      any = any || w > 0;
      t += "\n";
      t += kOps[i];
      t += " = " + num(w);
    }
    t += "\n";
  } else if (kind == 3) {
    t += "[pop3]\nsessions = " + num(in.ConsumeIntegralInRange<std::uint64_t>(1, 3));
    t += "\nsession_start = [\"1s\", " + secs(fault_s + 1) + "]";
    t += "\nretrs_per_session = [0, " + num(in.ConsumeIntegralInRange<std::uint64_t>(0, 4)) + "]";
    t += "\ndeletes_per_session = [0, " + num(in.ConsumeIntegralInRange<std::uint64_t>(0, 4)) + "]";
    t += "\nrset_ppm = " + num(rate(50'000, 200'000, 500'000));
    t += "\nauth_plain_ppm = " + num(rate(200'000, 500'000, 1'000'000));
    t += "\nabrupt_disconnect_ppm = " + num(rate(20'000, 100'000, 300'000));
    t += "\nthink = [\"0s\", " + ms(in.ConsumeIntegralInRange<std::uint64_t>(0, 5'000)) + "]";
    t += "\nliveness_sessions = " + num(in.ConsumeIntegralInRange<std::uint64_t>(0, 1));
    t += "\nupdate_crash_ppm = " + num(rate(100'000, 350'000, 1'000'000));
    t += "\n";
  }
  return out;
}

}  // namespace mail::fuzz
