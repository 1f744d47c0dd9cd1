// `cloudsdial conformance --suite smtp|imap|pop3 --target HOST:PORT|inproc|sim [--tls|
//  --starttls] [--user U --password P] [--only PATTERN] [--junit FILE] [--json FILE] ...`
// Loads conformance/<suite>/*.md, probes the target's capabilities (EHLO, CAPABILITY,
// CAPA), runs the cases and prints the table and the per-RFC summary.
// Exit: 0 ok, 1 a MUST failed, 2 usage/load error.
#include "conformance_main.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "imap_run.h"
#include "runner.h"
#include "targets.h"
#include "tls_connection.h"

#ifndef MAIL_CONFORMANCE_DIR
#define MAIL_CONFORMANCE_DIR "conformance"
#endif

namespace mail::conformance {
namespace {

constexpr std::string_view kUsage = R"(usage: cloudsdial conformance --suite smtp|imap|pop3 --target HOST:PORT|inproc|sim [options]

Runs the RFC conformance transcripts (conformance/<suite>/*.md, docs/CONFORMANCE.md)
against a live server on loopback, against our SMTP session in-process, or against our
server inside the deterministic simulator.

options:
  --suite smtp|imap|pop3     which suite
  --target HOST:PORT|inproc|sim
                             the server under test; inproc = smtp::ServerSession, no sockets;
                             sim = our SMTP server on a simulated network and disk
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

}  // namespace

int conformance_main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  std::string suite_name, target_spec, only, junit, json, dir, user, password, ca, sni;
  bool allow_remote = false, quiet = false, implicit_tls = false, starttls = false, list = false;
  long timeout_ms = 5000;
  if (const char* env = std::getenv("CLOUDSDIAL_CONFORMANCE_DIR")) dir = env;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    auto value = [&](std::string& into) {
      if (i + 1 >= args.size()) {
        std::cerr << "cloudsdial conformance: " << a << " needs a value\n";
        return false;
      }
      into = std::string(args[++i]);
      return true;
    };
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    }
    bool ok = true;
    if (a == "--suite") ok = value(suite_name);
    else if (a == "--target") ok = value(target_spec);
    else if (a == "--only") ok = value(only);
    else if (a == "--junit") ok = value(junit);
    else if (a == "--json") ok = value(json);
    else if (a == "--suite-dir") ok = value(dir);
    else if (a == "--user") ok = value(user);
    else if (a == "--password") ok = value(password);
    else if (a == "--ca") ok = value(ca);
    else if (a == "--sni") ok = value(sni);
    else if (a == "--tls") implicit_tls = true;
    else if (a == "--starttls") starttls = true;
    else if (a == "--allow-remote") allow_remote = true;
    else if (a == "--list") list = true;
    else if (a == "--quiet") quiet = true;
    else if (a == "--timeout") {
      std::string v;
      ok = value(v);
      if (ok) {
        char* end = nullptr;
        timeout_ms = std::strtol(v.c_str(), &end, 10);
        ok = end && *end == '\0' && timeout_ms > 0 && timeout_ms < 600000;
        if (!ok) std::cerr << "cloudsdial conformance: --timeout wants milliseconds (1..599999)\n";
      }
    } else {
      std::cerr << "cloudsdial conformance: unknown option '" << a << "'\n\n" << kUsage;
      return 2;
    }
    if (!ok) return 2;
  }
  if (suite_name.empty() || (target_spec.empty() && !list)) {
    std::cerr << kUsage;
    return 2;
  }
  Protocol protocol;
  if (suite_name == "smtp") protocol = Protocol::smtp;
  else if (suite_name == "imap") protocol = Protocol::imap;
  else if (suite_name == "pop3") protocol = Protocol::pop3;
  else {
    std::cerr << "cloudsdial conformance: --suite smtp, imap or pop3\n";
    return 2;
  }
  if (dir.empty()) dir = MAIL_CONFORMANCE_DIR;

  Suite suite;
  std::vector<LoadError> errors;
  if (!load_suite_dir(dir + "/" + suite_name, suite, errors)) {
    for (const auto& e : errors) std::cerr << e.file << ":" << e.line << ": " << e.message << "\n";
    return 2;
  }

  if (list) {
    print_case_list(std::cout, suite, protocol, only);
    return 0;
  }
  if (implicit_tls && starttls) {
    std::cerr << "cloudsdial conformance: --tls and --starttls exclude each other\n";
    return 2;
  }
  if (user.empty() != password.empty()) {
    std::cerr << "cloudsdial conformance: --user and --password go together\n";
    return 2;
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
  if (quiet) {
    std::vector<CaseResult> bad;
    for (const auto& r : results)
      if (r.verdict == Verdict::fail || r.verdict == Verdict::error) bad.push_back(r);
    print_table(std::cout, bad);
  } else {
    print_table(std::cout, results);
  }
  std::cout << "\n";
  print_summary(std::cout, results);
  if (!junit.empty()) {
    std::ofstream f(junit);
    write_junit(f, results, "conformance." + suite_name);
    if (!f) std::cerr << "cloudsdial conformance: cannot write " << junit << "\n";
  }
  if (!json.empty()) {
    std::ofstream f(json);
    write_json(f, results, target->describe());
    if (!f) std::cerr << "cloudsdial conformance: cannot write " << json << "\n";
  }
  if (results.empty()) {
    std::cerr << "cloudsdial conformance: no case selected\n";
    return 2;
  }
  return any_must_failed(results) ? 1 : 0;
}

}  // namespace mail::conformance
