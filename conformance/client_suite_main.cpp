// `cloudsdial conformance --suite smtp-client`: loads conformance/smtp-client/*.md, plays
// each case's scripted server against our client (default) or --client-command, prints
// the server suite's table and per-RFC summary, writes --junit/--json.
// Exit: 0 every MUST passed, 1 a MUST failed or could not run, 2 usage/load/setup error.
#include <iostream>

#include "client_runner.h"
#include "conformance_main.h"
#include "tls/context.h"

namespace mail::conformance {

int run_client_suite_main(const ConformanceArgs& cli) {
  ClientSuite suite;
  std::vector<LoadError> errors;
  if (!load_client_suite_dir(cli.dir + "/smtp-client", suite, errors)) {
    for (const auto& e : errors) std::cerr << e.file << ":" << e.line << ": " << e.message << "\n";
    return 2;
  }
  if (cli.list) {
    for (const auto& c : suite.cases)
      std::cout << c.c.full_id() << "  " << c.c.level_text << "  RFC " << c.c.rfc << (c.ours_only ? "  (ours only)" : "")
                << "\n";
    std::cout << suite.cases.size() << " cases\n";
    return 0;
  }
  std::string error;
  auto server_tls = make_scripted_server_tls(error);
  if (!server_tls) {
    std::cerr << "cloudsdial conformance: " << error << "\n";
    return 2;
  }
  auto client = cli.client_command.empty() ? make_our_client() : make_command_client(cli.client_command);
  ClientRunOptions options;
  options.only = cli.only;
  options.case_timeout = std::chrono::milliseconds(cli.timeout_ms);
  const auto results = run_client_suite(suite, *client, *server_tls, options);
  std::cout << "client: " << client->describe() << "\n\n";
  print_results_table(std::cout, results, cli.quiet);
  std::cout << "\n";
  print_summary(std::cout, results);
  write_reports(cli, results, "smtp-client", client->describe());
  if (results.empty()) {
    std::cerr << "cloudsdial conformance: no case selected\n";
    return 2;
  }
  return any_must_failed(results) ? 1 : 0;
}

}  // namespace mail::conformance
