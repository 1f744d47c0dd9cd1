// disk_sync: how many messages per second this disk makes durable the way the Maildir
// store does (write tmp file, sync its data, rename into new/, sync new/), one at a time
// and in group-commit batches through io::PosixDisk with each SyncStrategy.
// Usage: disk_sync [--dir PATH] [--size BYTES] [--files N] [--rounds R]
// Prints min/median/max files per second over R interleaved rounds, on a real AsioEnv.
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "io/asio_env.h"
#include "runtime/await.h"

namespace {

using namespace mail;

struct Args {
  std::string base = "/tmp";
  std::size_t size_bytes = 4096;
  std::size_t files = 512;
  int rounds = 3;
};

// Runs `count` operations concurrently, started by `start(i, completion)`; completes with
// the first error, or ok once all have finished.
template <class Start>
auto all_of(std::size_t count, Start start) {
  return rt::async_op<void>([count, start](rt::Completion<void> done) mutable {
    struct Join {
      std::size_t left;
      Status first;
      rt::Completion<void> done;
    };
    auto join = std::make_shared<Join>(Join{count, Status{}, std::move(done)});
    for (std::size_t i = 0; i < count; ++i) {
      start(i, [join](Result<void> r) {
        if (!r && join->first.ok()) join->first = r;
        if (--join->left == 0) join->done(join->first);
      });
    }
  });
}

struct Case {
  std::string label;
  std::size_t batch = 1;  // 1: one at a time, sync_files of a single file
  io::SyncStrategy strategy = io::SyncStrategy::automatic;
};

rt::Task<void> run_case(io::AsioEnv& env, std::string dir, const Case& c, const Args& a, double* files_per_s, bool* ok) {
  rt::Disk& d = env.disk();
  const std::string tmp = dir + "/tmp";
  const std::string fresh = dir + "/new";
  *ok = (co_await rt::make_dirs(d, tmp)).ok() && (co_await rt::make_dirs(d, fresh)).ok();
  if (!*ok) co_return;
  const std::string body(a.size_bytes, 'm');
  const Instant start = env.clock().now();
  for (std::size_t done = 0; done < a.files; done += c.batch) {
    const std::size_t n = std::min(c.batch, a.files - done);
    std::vector<std::string> names;
    for (std::size_t i = 0; i < n; ++i) names.push_back(std::to_string(done + i));
    // Concurrent sessions write their messages at the same time...
    auto w = co_await all_of(n, [&](std::size_t i, rt::Completion<void> k) {
      d.async_write_file(tmp + "/" + names[i], body, rt::WriteMode::create_new, std::move(k));
    });
    std::vector<std::string> paths;
    for (const auto& name : names) paths.push_back(tmp + "/" + name);
    // ...then one commit round makes them all durable.
    auto s = co_await rt::sync_files(d, std::move(paths));
    auto r = co_await all_of(n, [&](std::size_t i, rt::Completion<void> k) {
      d.async_rename(tmp + "/" + names[i], fresh + "/" + names[i], std::move(k));
    });
    auto sd = co_await rt::sync_dir(d, fresh);
    if (!w.ok() || !s.ok() || !r.ok() || !sd.ok()) {
      std::fprintf(stderr, "disk_sync: %s failed\n", c.label.c_str());
      *ok = false;
      co_return;
    }
  }
  const double secs = std::chrono::duration<double>(env.clock().now() - start).count();
  *files_per_s = static_cast<double>(a.files) / secs;
}

rt::Task<void> finish(io::AsioEnv& env, rt::Task<void> t) {
  co_await std::move(t);
  env.executor().post([&env] { env.stop(); });
}

bool parse(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) return false;
    const char* v = argv[++i];
    if (k == "--dir") {
      a.base = v;
    } else if (k == "--size") {
      a.size_bytes = std::strtoull(v, nullptr, 10);
    } else if (k == "--files") {
      a.files = std::strtoull(v, nullptr, 10);
    } else if (k == "--rounds") {
      a.rounds = std::atoi(v);
    } else {
      return false;
    }
  }
  return a.files > 0 && a.rounds > 0;
}

const char* strategy_name(io::SyncStrategy s) {
  switch (s) {
    case io::SyncStrategy::automatic: return "automatic";
    case io::SyncStrategy::sequential: return "sequential fdatasync";
    case io::SyncStrategy::parallel: return "parallel fdatasync";
    case io::SyncStrategy::syncfs: return "syncfs + per-file check";
  }
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse(argc, argv, a)) {
    std::fprintf(stderr, "usage: disk_sync [--dir PATH] [--size BYTES] [--files N] [--rounds R]\n");
    return 2;
  }
  std::vector<Case> cases = {{"one at a time", 1, io::SyncStrategy::parallel}};
  for (std::size_t batch : {8u, 64u}) {
    for (auto s : {io::SyncStrategy::sequential, io::SyncStrategy::parallel, io::SyncStrategy::syncfs, io::SyncStrategy::automatic}) {
      cases.push_back({"group commit", batch, s});
    }
  }
  std::printf("disk_sync: %zu files of %zu bytes per case and round, %d rounds, under %s\n", a.files, a.size_bytes, a.rounds,
              a.base.c_str());
  std::printf("  (each file: write tmp/, sync data, rename to new/, sync new/ — per batch)\n");
  // Rounds interleave the cases (A B C .. A B C ..), so drift in the machine's load (other
  // tenants of the disk) spreads over every case instead of biasing one.
  std::vector<std::vector<double>> rates(cases.size());
  for (int round = 0; round < a.rounds; ++round) {
    for (std::size_t ci = 0; ci < cases.size(); ++ci) {
      const Case& c = cases[ci];
      std::string tmpl = a.base + "/disk_sync.XXXXXX";
      if (::mkdtemp(tmpl.data()) == nullptr) {
        std::perror("mkdtemp");
        return 1;
      }
      io::AsioEnvOptions o;
      o.disk.sync_strategy = c.strategy;
      o.log_level_min = rt::LogLevel::error;
      double rate = 0;
      bool ok = false;
      {
        io::AsioEnv env(o);
        env.tasks().spawn(finish(env, run_case(env, tmpl, c, a, &rate, &ok)));
        env.run();
      }
      std::error_code ec;
      std::filesystem::remove_all(tmpl, ec);
      if (!ok) return 1;
      rates[ci].push_back(rate);
    }
  }
  std::printf("%-14s %5s  %-24s %10s %10s %10s\n", "mode", "batch", "sync_files strategy", "min", "median", "max");
  for (std::size_t ci = 0; ci < cases.size(); ++ci) {
    auto& r = rates[ci];
    std::sort(r.begin(), r.end());
    const Case& c = cases[ci];
    std::printf("%-14s %5zu  %-24s %10.0f %10.0f %10.0f\n", c.label.c_str(), c.batch, c.batch == 1 ? "fdatasync" : strategy_name(c.strategy),
                r.front(), r[r.size() / 2], r.back());
  }
  std::printf("(files/s: durable file creations per second)\n");
  return 0;
}
