// cloudsdial: the single binary. Verbs: serve, check-config, user, queue, status, sim,
// conformance, help, --version.
// Parses the command line and dispatches; must not include toml++ (config.cpp) or io/
// headers (serve.cpp), so this file compiles in a blink. Exit codes: 0 ok, 1 runtime
// failure, 2 usage or configuration error.
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/config.h"
#include "app/serve.h"
#include "app/queue_cli.h"
#include "app/status_cli.h"
#include "app/user_cli.h"
#include "conformance/conformance_main.h"
#include "simulator/sim_main.h"

#ifndef CLOUDSDIAL_VERSION
#define CLOUDSDIAL_VERSION "0.0.0"
#endif

namespace mail::app {
namespace {

constexpr std::string_view kUsage = R"(usage: cloudsdial <verb> [options]

verbs:
  serve [--config FILE]         run the mail server (SMTP, relay) until SIGTERM/SIGINT
  check-config [--config FILE]  validate a configuration and print the effective one
  user add|passwd|del|list [NAME] [--config FILE]
                                manage who may authenticate (cloudsdial user --help)
  queue list|show|flush|hold|release|delete [ID] [--json] [--config FILE]
                                the outbound queue (cloudsdial queue --help)
  status [--json] [--config FILE]
                                a running server: uptime, listeners, sessions, queue
  sim [--scenario S] [--seed N | --seeds A..B --jobs J] [--json]
                                run the deterministic simulator (cloudsdial sim --help)
  conformance --suite smtp|imap|pop3 --target HOST:PORT|inproc|sim [--tls|--starttls]
              [--user U --password P] [--only P] [--junit F] [--json F] [--list]
                                run the RFC conformance transcripts (see --help)
  help [serve|config]           this text, the serve verb, or the default configuration
  --version                     print the version

Without --config, the built-in default configuration is used
(`cloudsdial help config` prints it).
)";

constexpr std::string_view kServeHelp = R"(usage: cloudsdial serve [--config FILE]

Runs the SMTP server with the configuration in FILE (TOML), or with the built-in default
(domain example.test, user demo, SMTP on 127.0.0.1:2525 with STARTTLS, submission on
127.0.0.1:5587 and implicit-TLS submission on 127.0.0.1:4465, data in ./var). Without a
configured certificate a self-signed one is generated once under <data_dir>/tls.
Users who may authenticate are managed with `cloudsdial user add NAME`.

On start it claims its listening ports first (a busy port stops it before anything is
created on disk), then creates <data_dir> (mode 0700) and writes its pid to
<data_dir>/cloudsdial.pid (locked: one server per data dir), reads the users, creates each
user's Maildir under <data_dir>/mail/<user>/Maildir, and prints "listening on IP:PORT"
for every bound endpoint (the real port when the configuration says port 0).

Mail is acknowledged (250) only after it is durable on disk.

Privileges: started as root with [server] user = "NAME" (and optionally group), it binds
its ports, opens the pid file and the TLS key, gives <data_dir> to NAME and then runs as
NAME for good (real, effective and saved ids; no new privileges) before the first client
is served. Started as NAME already (systemd User= with CAP_NET_BIND_SERVICE) it runs the
same. As root without `user` it refuses to serve a public (non-loopback) address unless
[server] allow_root = true; on loopback only it runs with a warning.

Under systemd (Type=notify) it reports READY, RELOADING (SIGHUP), STOPPING and a STATUS
line; with StandardError=journal its log lines carry journal priorities.

Signals: SIGHUP reloads the TLS certificate and the users file. SIGTERM or SIGINT start
a graceful shutdown: listeners close, idle sessions get 421, sessions inside a
transaction finish it first; after [server] shutdown_timeout (default 10s) the rest get
421. A second SIGTERM or SIGINT stops at once. Exit code 0 after a shutdown, 1 if
startup fails, 2 for usage or configuration errors.
)";

struct Options {
  std::optional<std::string> config_path;
};

// Parses the options shared by serve and check-config; prints the error and returns
// nullopt on a bad command line.
std::optional<Options> parse_options(std::string_view verb, const std::vector<std::string_view>& args) {
  Options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "--config" || a == "-c") {
      if (i + 1 >= args.size()) {
        std::cerr << "cloudsdial " << verb << ": --config needs a FILE\n";
        return std::nullopt;
      }
      o.config_path = std::string(args[++i]);
    } else if (a.rfind("--config=", 0) == 0) {
      o.config_path = std::string(a.substr(9));
    } else {
      std::cerr << "cloudsdial " << verb << ": unknown option '" << a << "' (see: cloudsdial help " << verb << ")\n";
      return std::nullopt;
    }
  }
  return o;
}

std::optional<AppConfig> load(const Options& o) {
  auto cfg = o.config_path ? load_config_file(*o.config_path) : parse_config(default_config_text(), "embedded default");
  if (!cfg.ok()) {
    std::cerr << "cloudsdial: configuration error: " << cfg.error().detail << "\n";
    return std::nullopt;
  }
  return std::move(cfg.value());
}

int main_impl(const std::vector<std::string_view>& argv) {
  if (argv.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string_view verb = argv[0];
  const std::vector<std::string_view> rest(argv.begin() + 1, argv.end());
  if (verb == "--version" || verb == "version" || verb == "-V") {
    std::cout << "cloudsdial " << CLOUDSDIAL_VERSION << "\n";
    return 0;
  }
  if (verb == "help" || verb == "--help" || verb == "-h") {
    if (rest.empty()) {
      std::cout << kUsage;
    } else if (rest[0] == "serve") {
      std::cout << kServeHelp;
    } else if (rest[0] == "config") {
      std::cout << default_config_text();
    } else {
      std::cerr << "cloudsdial help: no help for '" << rest[0] << "' (try: serve, config)\n";
      return 2;
    }
    return 0;
  }
  if (verb == "user") return user_main(rest);
  if (verb == "queue") return queue_main(rest);
  if (verb == "status") return status_main(rest);
  if (verb == "serve" || verb == "check-config") {
    if (!rest.empty() && (rest[0] == "--help" || rest[0] == "-h")) {
      std::cout << (verb == "serve" ? kServeHelp : kUsage);
      return 0;
    }
    auto options = parse_options(verb, rest);
    if (!options) return 2;
    auto config = load(*options);
    if (!config) return 2;
    if (verb == "check-config") {
      std::cout << describe_config(*config);
      return 0;
    }
    return run_serve(*config);  // it says which configuration it uses
  }
  std::cerr << "cloudsdial: unknown verb '" << verb << "'\n\n" << kUsage;
  return 2;
}

}  // namespace
}  // namespace mail::app

int main(int argc, char** argv) {
  // The simulator has its own option parser; hand it argv from the verb on.
  if (argc >= 2 && std::string_view(argv[1]) == "sim") return mail::sim::sim_main(argc - 1, argv + 1);
  // The conformance runner has its own option parser too (docs/CONFORMANCE.md).
  if (argc >= 2 && std::string_view(argv[1]) == "conformance") return mail::conformance::conformance_main(argc - 1, argv + 1);
  std::vector<std::string_view> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return mail::app::main_impl(args);
}
