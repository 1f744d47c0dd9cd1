// `cloudsdial conformance --suite smtp|imap|pop3|all --target HOST:PORT|inproc|sim [--tls|
//  --starttls] [--user U --password P] [--only PATTERN] [--junit FILE] [--json FILE] ...`
// Loads conformance/<suite>/*.md, probes the target's capabilities (EHLO, CAPABILITY,
// CAPA), runs the cases and prints the table and the per-RFC summary.
// Exit: 0 ok, 1 a MUST failed, 2 usage/load error.
#include "conformance_main.h"

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <map>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "client_runner.h"
#include "imap_run.h"
#include "runner.h"
#include "simulator/sim_args.h"
#include "targets.h"
#include "tls_connection.h"

#ifndef MAIL_CONFORMANCE_DIR
#define MAIL_CONFORMANCE_DIR "conformance"
#endif

namespace mail::conformance {
namespace {

constexpr std::string_view kUsage = R"(usage: cloudsdial conformance --suite smtp|imap|pop3|all --target HOST:PORT|inproc|sim [options]
       cloudsdial conformance --suite smtp-client [--client-command 'CMD {host} {port}'] [options]

Runs the RFC conformance transcripts (conformance/<suite>/*.md, docs/CONFORMANCE.md)
against a live server on loopback, against our SMTP session in-process, or against our
server inside the deterministic simulator.

options:
  --suite smtp|imap|pop3|all which suite; all = each suite that has a target (below)
  --suite smtp-client        scripted servers on 127.0.0.1 judge an SMTP client: ours, or
  --client-command CMD       run through /bin/sh per case, with {host} {port} {from} {to}
                             {message_file} substituted (outcome checks are then n/a)
  --target HOST:PORT|inproc|sim
                             the server under test; inproc = smtp::ServerSession, no sockets;
                             sim = our SMTP server on a simulated network and disk.
                             With --suite all: smtp=HOST:PORT,imap=HOST:PORT,pop3=HOST:PORT
                             (any subset; inproc/sim mean smtp=inproc/sim)
  --tls                      implicit TLS on every connection (RFC 8314)
  --starttls                 upgrade every connection first (STARTTLS / STLS)
  --ca FILE                  verify the server certificate against FILE (default: no check)
  --sni NAME                 TLS server name (default: the target host)
  --user U --password P      credentials for cases that log in (AUTH, LOGIN, USER/PASS)
  --only PATTERN             run only cases whose "topic/id" matches (glob, or substring)
  --junit FILE               also write JUnit XML
  --json FILE                also write JSON
  --suite-dir DIR            transcript root (default: $CLOUDSDIAL_CONFORMANCE_DIR or the source tree)
  --timeout MS               wait this long for each reply (default 5000)
  --allow-remote             allow a non-loopback target (you must own it)
  --quiet                    print only failures and the summary
  --list                     print the cases and their counts per RFC and level; run nothing

Exit code: 0 when every MUST case passed, 1 when a MUST case failed or could not run,
2 for usage errors and transcripts that do not load.
)";

// The parsed command line is what every suite run shares.
using Cli = ConformanceArgs;

// One suite against one target: prints its table and summary; appends its results.
// Returns 0 (no MUST failed), 1 (a MUST failed) or 2 (usage/load error).
// Results point into their Suite: `suites` keeps every loaded suite alive for the caller.
int run_one(const Cli& cli, const std::string& suite_name, const std::string& target_spec,
            std::vector<CaseResult>& all_results, std::deque<Suite>& suites, bool reports);

}  // namespace

Result<ConformanceArgs> parse_conformance_args(const std::vector<std::string_view>& args) {
  static const std::vector<std::string> kSuites{"smtp", "imap", "pop3", "all", "smtp-client"};
  static const std::vector<std::string> kOptions{
      "--help", "--suite", "--target", "--tls", "--starttls", "--ca", "--sni", "--user", "--password",
      "--only", "--junit", "--json", "--timeout", "--suite-dir", "--allow-remote", "--quiet", "--list",
      "--client-command"};
  constexpr std::string_view kHint = "see `cloudsdial conformance --help`";
  const auto usage_error = [](std::string detail) { return fail(Errc::invalid, std::move(detail)); };
  ConformanceArgs out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    const std::string option(a);
    std::string missing_value;
    auto value = [&](std::string& into) {
      if (i + 1 >= args.size()) {
        missing_value = option + " needs a value (" + std::string(kHint) + ")";
        return false;
      }
      into = std::string(args[++i]);
      return true;
    };
    bool ok = true;
    if (a == "--help" || a == "-h") {
      out.help = true;
      return out;
    } else if (a == "--suite") ok = value(out.suite);
    else if (a == "--target") ok = value(out.target);
    else if (a == "--only") ok = value(out.only);
    else if (a == "--junit") ok = value(out.junit);
    else if (a == "--json") ok = value(out.json);
    else if (a == "--suite-dir") ok = value(out.dir);
    else if (a == "--user") ok = value(out.user);
    else if (a == "--password") ok = value(out.password);
    else if (a == "--ca") ok = value(out.ca);
    else if (a == "--sni") ok = value(out.sni);
    else if (a == "--client-command") ok = value(out.client_command);
    else if (a == "--tls") out.implicit_tls = true;
    else if (a == "--starttls") out.starttls = true;
    else if (a == "--allow-remote") out.allow_remote = true;
    else if (a == "--list") out.list = true;
    else if (a == "--quiet") out.quiet = true;
    else if (a == "--timeout") {
      std::string v;
      ok = value(v);
      if (ok) {
        auto ms = sim::parse_number(v, 1, 599'999);
        if (!ms) return usage_error("--timeout: " + ms.error().detail + "; it wants milliseconds, 1..599999");
        out.timeout_ms = static_cast<long>(*ms);
      }
    } else {
      std::string detail = "unknown option '" + option + "'";
      if (auto near = sim::nearest_name(a, kOptions)) detail += " (did you mean '" + *near + "'?)";
      return usage_error(detail + "; " + std::string(kHint));
    }
    if (!ok) return usage_error(missing_value);
  }
  // Name what is missing or wrong in one line; the whole usage would bury it.
  if (out.suite.empty()) return usage_error("--suite is missing (smtp, imap, pop3 or all; " + std::string(kHint) + ")");
  if (std::find(kSuites.begin(), kSuites.end(), out.suite) == kSuites.end()) {
    std::string detail = "--suite: unknown suite '" + out.suite + "'";
    if (auto near = sim::nearest_name(out.suite, kSuites)) detail += ": did you mean '" + *near + "'?";
    return usage_error(detail + " (smtp, imap, pop3 or all)");
  }
  if (!out.client_command.empty() && out.suite != "smtp-client")
    return usage_error("--client-command goes with --suite smtp-client");
  if (out.suite == "smtp-client" && !out.target.empty())
    return usage_error("--suite smtp-client plays the server itself: no --target (use --client-command for another client)");
  if (out.target.empty() && !out.list && out.suite != "smtp-client") {
    const std::string wanted =
        out.suite == "all" ? "smtp=HOST:PORT,imap=HOST:PORT,pop3=HOST:PORT, any subset, or inproc or sim for smtp"
                           : "inproc, sim, or HOST:PORT";
    return usage_error("--target is missing (" + wanted + "; " + std::string(kHint) + ")");
  }
  if (out.implicit_tls && out.starttls) return usage_error("--tls and --starttls exclude each other");
  if (out.user.empty() != out.password.empty()) {
    return usage_error(out.user.empty() ? "--user is missing (--password goes with --user)"
                                        : "--password is missing (--user goes with --password)");
  }
  return out;
}

int conformance_main(int argc, char** argv) {
  auto parsed = parse_conformance_args(std::vector<std::string_view>(argv + 1, argv + argc));
  if (!parsed) {
    std::cerr << "cloudsdial conformance: " << parsed.error().detail << "\n";
    return 2;
  }
  if (parsed->help) {
    std::cout << kUsage;
    return 0;
  }
  Cli cli = std::move(*parsed);
  const std::string suite_name = cli.suite, target_spec = cli.target;
  if (cli.dir.empty()) {
    if (const char* env = std::getenv("CLOUDSDIAL_CONFORMANCE_DIR")) cli.dir = env;
  }
  if (cli.dir.empty()) cli.dir = MAIL_CONFORMANCE_DIR;
  if (suite_name == "smtp-client") return run_client_suite_main(cli);
  if (suite_name != "all") {
    std::vector<CaseResult> results;
    std::deque<Suite> suites;
    return run_one(cli, suite_name, target_spec, results, suites, true);
  }
  // --suite all: every suite that has a target, one after the other, one verdict.
  std::map<std::string, std::string> targets;
  if (target_spec == "inproc" || target_spec == "sim") {
    targets["smtp"] = target_spec;
  } else {
    std::string_view rest = target_spec;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      const std::size_t eq = item.find('=');
      const std::string proto(item.substr(0, eq));
      if (eq == std::string_view::npos || (proto != "smtp" && proto != "imap" && proto != "pop3")) {
        std::cerr << "cloudsdial conformance: --suite all wants --target smtp=HOST:PORT,imap=HOST:PORT,pop3=HOST:PORT\n";
        return 2;
      }
      targets[proto] = std::string(item.substr(eq + 1));
    }
  }
  std::vector<CaseResult> all;
  std::deque<Suite> suites;
  int worst = 0;
  for (const char* name : {"smtp", "imap", "pop3"}) {
    auto it = targets.find(name);
    if (it == targets.end()) {
      std::cout << "== suite " << name << ": skipped (no target)\n\n";
      continue;
    }
    std::cout << "== suite " << name << " against " << it->second << "\n";
    Cli one = cli;
    one.junit.clear();
    one.json.clear();
    const int code = run_one(one, name, it->second, all, suites, false);
    if (code == 2) return 2;
    worst = std::max(worst, code);
    std::cout << "\n";
  }
  if (all.empty()) {
    std::cerr << "cloudsdial conformance: no case selected\n";
    return 2;
  }
  std::cout << "== all suites\n";
  print_summary(std::cout, all);
  write_reports(cli, all, "all", "all suites");
  return worst;
}

namespace {

int run_one(const Cli& cli, const std::string& suite_name, const std::string& target_spec,
            std::vector<CaseResult>& all_results, std::deque<Suite>& suites, bool reports) {
  const std::string& only = cli.only;
  const std::string& dir = cli.dir;
  const std::string& user = cli.user;
  const std::string& password = cli.password;
  const std::string& ca = cli.ca;
  const std::string& sni = cli.sni;
  const bool allow_remote = cli.allow_remote, quiet = cli.quiet, implicit_tls = cli.implicit_tls,
             starttls = cli.starttls, list = cli.list;
  const long timeout_ms = cli.timeout_ms;
  Protocol protocol;
  if (suite_name == "smtp") protocol = Protocol::smtp;
  else if (suite_name == "imap") protocol = Protocol::imap;
  else if (suite_name == "pop3") protocol = Protocol::pop3;
  else {
    std::cerr << "cloudsdial conformance: --suite smtp, imap, pop3 or all\n";
    return 2;
  }

  Suite& suite = suites.emplace_back();
  std::vector<LoadError> errors;
  if (!load_suite_dir(dir + "/" + suite_name, suite, errors)) {
    for (const auto& e : errors) std::cerr << e.file << ":" << e.line << ": " << e.message << "\n";
    return 2;
  }

  if (list) {
    print_case_list(std::cout, suite, protocol, only);
    return 0;
  }

  RunOptions options;
  options.only = only;
  options.reply_timeout = std::chrono::milliseconds(timeout_ms);
  options.user = user;
  options.password = password;
  options.run_id = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                                   std::chrono::system_clock::now().time_since_epoch())
                                                   .count());
  {
    std::string error;
    options.tls_context = make_client_tls_context(ca, error);
    if (!options.tls_context) {
      std::cerr << "cloudsdial conformance: TLS client: " << error << "\n";
      return 2;
    }
  }

  std::unique_ptr<Target> target;
  if (target_spec == "inproc" || target_spec == "sim") {
    if (protocol != Protocol::smtp) {
      std::cerr << "cloudsdial conformance: --target " << target_spec << " exists for smtp only (no IMAP/POP3 server yet)\n";
      return 2;
    }
    std::string error;
    InprocOptions inproc;
    inproc.user = user;
    inproc.password = password;
    target = target_spec == "inproc" ? make_inproc_smtp_target(inproc) : make_sim_smtp_target(error);
    if (!target) {
      std::cerr << "cloudsdial conformance: " << error << "\n";
      return 2;
    }
    options.tls_server_name = sni.empty() ? "mx.example.test" : sni;
  } else {
    std::string error;
    target = make_tcp_target(target_spec, allow_remote, error);
    if (!target) {
      std::cerr << "cloudsdial conformance: " << error << "\n";
      return 2;
    }
    options.tls_server_name = sni.empty() ? target_spec.substr(0, target_spec.rfind(':')) : sni;
    if (options.tls_server_name.size() > 1 && options.tls_server_name.front() == '[')
      options.tls_server_name = options.tls_server_name.substr(1, options.tls_server_name.size() - 2);
  }
  if (implicit_tls || starttls)
    target = make_tls_target(std::move(target), implicit_tls ? TlsMode::implicit : TlsMode::starttls, protocol,
                             options.tls_context, options.tls_server_name, options.reply_timeout);

  {
    std::string error;
    switch (protocol) {
      case Protocol::smtp:
        options.capabilities_known = probe_smtp_capabilities(*target, options.reply_timeout, options.capabilities, error);
        break;
      case Protocol::imap:
        options.capabilities_known = probe_imap_capabilities(*target, options, options.capabilities, error);
        break;
      case Protocol::pop3:
        options.capabilities_known = probe_pop3_capabilities(*target, options, options.capabilities, error);
        break;
    }
    if (!options.capabilities_known) {
      std::cerr << "cloudsdial conformance: capability probe of " << target->describe() << " failed: " << error
                << " (cases with requires: are reported n/a)\n";
    }
  }

  const auto results = run_suite(suite, protocol, *target, options);
  std::cout << "target: " << target->describe() << "\n";
  if (options.capabilities_known) {
    std::cout << "capabilities:";
    for (const auto& c : options.capabilities) std::cout << " " << c;
    std::cout << "\n";
  }
  std::cout << "\n";
  print_results_table(std::cout, results, quiet);
  std::cout << "\n";
  print_causes(std::cout, results);
  print_summary(std::cout, results);
  if (reports) write_reports(cli, results, suite_name, target->describe());
  all_results.insert(all_results.end(), results.begin(), results.end());
  if (results.empty()) {
    if (reports) std::cerr << "cloudsdial conformance: no case selected\n";
    return reports ? 2 : 0;
  }
  return any_must_failed(results) ? 1 : 0;
}

}  // namespace

void print_results_table(std::ostream& out, const std::vector<CaseResult>& results, bool failures_only) {
  if (failures_only) {
    std::vector<CaseResult> bad;
    for (const auto& r : results)
      if (r.verdict == Verdict::fail || r.verdict == Verdict::error) bad.push_back(r);
    print_table(out, bad);
  } else {
    print_table(out, results);
  }
}

void write_reports(const ConformanceArgs& cli, const std::vector<CaseResult>& results, const std::string& suite_name,
                   const std::string& described) {
  if (!cli.junit.empty()) {
    std::ofstream f(cli.junit);
    write_junit(f, results, "conformance." + suite_name);
    if (!f) std::cerr << "cloudsdial conformance: cannot write " << cli.junit << "\n";
  }
  if (!cli.json.empty()) {
    std::ofstream f(cli.json);
    write_json(f, results, described);
    if (!f) std::cerr << "cloudsdial conformance: cannot write " << cli.json << "\n";
  }
}

}  // namespace mail::conformance
