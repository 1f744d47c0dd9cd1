// The `cloudsdial sim` command line (see sim_main.h). Wall-clock time is read here only to
// report speed; it never reaches a World.
#include "sim_main.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/hash.h"
#include "scenario.h"
#include "sim_args.h"

namespace mail::sim {

namespace {

struct Options {
  std::string scenario = "smtp-basic";
  std::uint64_t first = 1;
  std::uint64_t last = 1;
  bool many = false;
  unsigned jobs = 1;
  bool json = false;
  bool verbose = false;
  std::string trace_file;
  std::size_t tail = 80;
  bool lying_sync = false;
};

void usage(std::FILE* to) {
  std::fputs(
      "usage: cloudsdial sim [--scenario NAME|FILE] [--seed N | --seeds A..B] [--jobs J]\n"
      "                      [--json] [--verbose] [--trace FILE] [--tail N] [--inject-bug lying-fsync]\n"
      "                      [--list]\n"
      "Runs the deterministic simulator: the real server code on simulated hosts, network,\n"
      "disk and clock, with faults, then checks that nothing acknowledged was lost.\n"
      "Built-in scenarios:",
      to);
  for (const auto& n : builtin_scenario_names()) std::fprintf(to, " %s", n.c_str());
  std::fputs("\nExit status: 0 ok, 1 an invariant was violated, 2 usage.\n", to);
}

// "--seed: " + why, with a one-line hint instead of the whole usage; returns the exit status.
int usage_error(std::string_view option, std::string_view why) {
  if (option.empty()) {
    std::fprintf(stderr, "cloudsdial sim: %.*s\n", static_cast<int>(why.size()), why.data());
  } else {
    std::fprintf(stderr, "cloudsdial sim: %.*s: %.*s\n", static_cast<int>(option.size()), option.data(),
                 static_cast<int>(why.size()), why.data());
  }
  return 2;
}

const std::vector<std::string>& option_names() {
  static const std::vector<std::string> names{"--help",  "--list",    "--scenario", "--seed",
                                              "--seeds", "--jobs",    "--json",     "--verbose",
                                              "--trace", "--tail",    "--inject-bug"};
  return names;
}

// "1h02m", "3m07s", "42s": short enough for a progress line.
std::string short_duration(double seconds) {
  const auto s = static_cast<std::uint64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%" PRIu64 "s", s);
  }
  return buf;
}

std::string seed_text(std::uint64_t seed) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, seed);
  return buf;
}

std::string replay_command(const Options& o, std::uint64_t seed) {
  std::string cmd = "cloudsdial sim --scenario " + o.scenario + " --seed " + seed_text(seed);
  if (o.lying_sync) cmd += " --inject-bug lying-fsync";
  cmd += " --trace sim-" + seed_text(seed) + ".trace";
  return cmd;
}

void print_failure(std::FILE* to, const Options& o, const RunReport& r, bool with_tail) {
  std::fprintf(to, "%s\n", summary_line(r).c_str());
  const std::size_t shown = std::min<std::size_t>(r.violations.size(), 20);
  for (std::size_t i = 0; i < shown; ++i) {
    std::fprintf(to, "  violation %s: %s\n", r.violations[i].invariant.c_str(), r.violations[i].detail.c_str());
  }
  if (r.violations.size() > shown) std::fprintf(to, "  ... %zu more\n", r.violations.size() - shown);
  for (std::size_t i = 0; i < r.warnings.size() && i < 5; ++i) {
    std::fprintf(to, "  warning %s: %s\n", r.warnings[i].invariant.c_str(), r.warnings[i].detail.c_str());
  }
  if (with_tail && !r.trace_tail.empty()) {
    std::fprintf(to, "  trace tail:\n");
    std::size_t start = 0;
    while (start < r.trace_tail.size()) {
      const std::size_t end = r.trace_tail.find('\n', start);
      std::fprintf(to, "    %s\n", r.trace_tail.substr(start, end - start).c_str());
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  std::fprintf(to, "  replay: %s\n", replay_command(o, r.seed).c_str());
}

}  // namespace

std::string warned_seed_json(const RunReport& r, std::string_view replay) {
  std::map<std::string, std::size_t> kinds;  // sorted, so the JSON is stable
  for (const auto& w : r.warnings) ++kinds[w.invariant];
  std::string out = "{\"seed\":" + std::to_string(r.seed) + ",\"kinds\":{";
  bool first = true;
  for (const auto& [kind, n] : kinds) {
    out += std::string(first ? "" : ",") + "\"" + kind + "\":" + std::to_string(n);
    first = false;
  }
  out += "},\"replay\":\"" + std::string(replay) + "\"}";
  return out;
}

Result<Scenario> find_scenario(const std::string& name_or_path) {
  if (auto b = builtin_scenario(name_or_path)) return *b;
  // A path, or a file that happens to have a bare name: read it. Anything else is taken for
  // a mistyped built-in name, which "cannot read scenario file" would not have told.
  const bool path_like = name_or_path.find('/') != std::string::npos ||
                         (name_or_path.size() > 5 && name_or_path.ends_with(".toml"));
  auto loaded = load_scenario_file(name_or_path);
  if (loaded || path_like || loaded.error().code != Errc::not_found) return loaded;
  std::string why = "unknown scenario '" + name_or_path + "'";
  if (auto near = nearest_name(name_or_path, builtin_scenario_names())) why += ": did you mean '" + *near + "'?";
  why += " (`cloudsdial sim --list` shows all; a path to a .toml file works too)";
  return fail(Errc::not_found, std::move(why));
}

int sim_main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&](std::string_view name) -> const char* {
      if (i + 1 >= argc) {
        usage_error(name, "needs a value (`cloudsdial sim --help` lists the options)");
        return nullptr;
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--list") {
      int width = 0;  // the longest name, so the descriptions line up
      for (const auto& n : builtin_scenario_names()) width = std::max(width, static_cast<int>(n.size()));
      for (const auto& n : builtin_scenario_names()) {
        std::printf("%-*s %s\n", width, n.c_str(), builtin_scenario(n)->description.c_str());
      }
      return 0;
    } else if (a == "--scenario") {
      const char* v = value(a);
      if (v == nullptr) return 2;
      o.scenario = v;
    } else if (a == "--seed") {
      const char* v = value(a);
      if (v == nullptr) return 2;
      auto seed = parse_number(v);
      if (!seed) return usage_error(a, seed.error().detail);
      o.first = o.last = *seed;
      o.many = false;
    } else if (a == "--seeds") {
      const char* v = value(a);
      if (v == nullptr) return 2;
      auto range = parse_seed_range(v);
      if (!range) return usage_error(a, range.error().detail);
      o.first = range->first;
      o.last = range->last;
      o.many = true;
    } else if (a == "--jobs" || a == "-j") {
      const char* v = value(a);
      if (v == nullptr) return 2;
      auto jobs = parse_number(v, 1, 1024);
      if (!jobs) return usage_error(a, jobs.error().detail + " (1..1024 threads)");
      o.jobs = static_cast<unsigned>(*jobs);
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--verbose" || a == "-v") {
      o.verbose = true;
    } else if (a == "--trace") {
      const char* v = value(a);
      if (v == nullptr) return 2;
      o.trace_file = v;
    } else if (a == "--tail") {
      const char* v = value(a);
      if (v == nullptr) return 2;
      auto n = parse_number(v);
      if (!n) return usage_error(a, n.error().detail);
      o.tail = static_cast<std::size_t>(*n);
    } else if (a == "--inject-bug") {
      const char* v = value(a);
      if (v == nullptr) return 2;
      if (std::string_view(v) != "lying-fsync") return usage_error(a, "knows only lying-fsync");
      o.lying_sync = true;
    } else {
      std::string why = "unknown argument " + std::string(a);
      if (auto near = nearest_name(a, option_names())) why += " (did you mean " + *near + "?)";
      why += "; `cloudsdial sim --help` lists the options";
      return usage_error("", why);
    }
  }

  auto found = find_scenario(o.scenario);
  if (!found) return usage_error("", found.error().detail);
  Scenario scenario = std::move(*found);
  if (o.many && !o.trace_file.empty()) {
    std::fprintf(stderr, "cloudsdial sim: --trace is for one --seed\n");
    return 2;
  }

  RunOptions ro;
  ro.tail_records = o.tail;
  ro.lying_sync = o.lying_sync;

  if (!o.many) {
    ro.trace_file = o.trace_file;
    const RunReport r = run_scenario(scenario, o.first, ro);
    if (o.json) {
      std::printf("%s\n", to_json(r).c_str());
    } else if (r.ok()) {
      std::printf("%s\n", summary_line(r).c_str());
      for (const auto& w : r.warnings) std::printf("  warning %s: %s\n", w.invariant.c_str(), w.detail.c_str());
    } else {
      print_failure(stdout, o, r, true);
    }
    return r.ok() ? 0 : 1;
  }

  // Many seeds: independent Worlds on `jobs` threads, results kept in seed order.
  const std::uint64_t count = o.last - o.first + 1;
  std::vector<RunReport> reports(count);
  std::atomic<std::uint64_t> next{0};
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> failed{0};
  std::mutex out_mu;
  const bool bar = !o.json && isatty(2) != 0;
  const auto wall_start = std::chrono::steady_clock::now();
  auto worker = [&] {
    for (;;) {
      const std::uint64_t i = next.fetch_add(1);
      if (i >= count) return;
      reports[i] = run_scenario(scenario, o.first + i, ro);
      const std::uint64_t d = done.fetch_add(1) + 1;
      const bool bad = !reports[i].ok();
      if (bad) failed.fetch_add(1);
      std::lock_guard<std::mutex> lock(out_mu);
      if (!o.json && (bad || o.verbose)) {
        if (bar) std::fputs("\r\033[K", stderr);
        if (bad) {
          print_failure(stdout, o, reports[i], false);
        } else {
          std::printf("%s\n", summary_line(reports[i]).c_str());
        }
        std::fflush(stdout);
      }
      if (bar) {
        // Rate and time left from the runs done so far; seeds differ in cost, so the
        // estimate settles as the sweep goes.
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
        const double rate = elapsed > 0 ? static_cast<double>(d) / elapsed : 0;
        const std::string left = rate > 0 ? short_duration(static_cast<double>(count - d) / rate) : "?";
        const int width = 40;
        const int filled = static_cast<int>(static_cast<double>(d) / static_cast<double>(count) * width);
        std::fprintf(stderr, "\r[%.*s%*s] %" PRIu64 "/%" PRIu64 " failed=%" PRIu64 " %.1f runs/s %s left\033[K",
                     filled, "########################################", width - filled, "", d, count,
                     failed.load(), rate, left.c_str());
        std::fflush(stderr);
      }
    }
  };
  std::vector<std::thread> threads;
  const unsigned jobs = static_cast<unsigned>(std::min<std::uint64_t>(o.jobs, count));
  for (unsigned t = 0; t < jobs; ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  if (bar) std::fputs("\n", stderr);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  // One digest over every seed's hash: equal digests => every run was identical.
  std::uint64_t digest = 0xcbf29ce484222325ull;
  std::uint64_t acked = 0, messages = 0, steps = 0, warned = 0;
  for (const auto& r : reports) {
    warned += r.warnings.empty() ? 0 : 1;
    digest = mix64(digest ^ r.trace_hash);
    acked += r.acked;
    messages += r.messages;
    steps += r.steps;
  }
  if (o.json) {
    std::string out = "{\"scenario\":\"" + scenario.name + "\",\"first_seed\":" + std::to_string(o.first) +
                      ",\"last_seed\":" + std::to_string(o.last) + ",\"runs\":" + std::to_string(count) +
                      ",\"failed\":" + std::to_string(failed.load()) + ",\"warned\":" + std::to_string(warned) +
                      ",\"digest\":\"" + hex64(digest) +
                      "\",\"wall_seconds\":" + std::to_string(wall) + ",\"failures\":[";
    bool first = true;
    for (const auto& r : reports) {
      if (r.ok()) continue;
      if (!first) out += ",";
      first = false;
      out += to_json(r);
      out.pop_back();
      std::string cmd = replay_command(o, r.seed);
      out += ",\"replay\":\"" + cmd + "\"}";
    }
    out += "],\"warned_seeds\":[";
    first = true;
    for (const auto& r : reports) {
      if (r.warnings.empty()) continue;
      if (!first) out += ",";
      first = false;
      out += warned_seed_json(r, replay_command(o, r.seed));
    }
    out += "]}";
    std::printf("%s\n", out.c_str());
  } else {
    std::printf("scenario=%s seeds=%" PRIu64 "..%" PRIu64 " runs=%" PRIu64 " failed=%" PRIu64 " warned=%" PRIu64
                " digest=%016" PRIx64 " messages=%" PRIu64 " acked=%" PRIu64 " steps=%" PRIu64 " wall=%.1fs\n",
                scenario.name.c_str(), o.first, o.last, count, failed.load(), warned, digest, messages, acked, steps,
                wall);
  }
  return failed.load() == 0 ? 0 : 1;
}

}  // namespace mail::sim
