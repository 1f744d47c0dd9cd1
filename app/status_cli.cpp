// status CLI (see header). Must not: print anything but the status (or the JSON itself with
// --json) on stdout; errors go to stderr.
#include "app/status_cli.h"

#include <boost/json.hpp>

#include <iostream>
#include <optional>
#include <string>

#include "app/config.h"
#include "app/control_client.h"
#include "io/asio_env.h"
#include "node/control_server.h"

namespace mail::app {
namespace {

constexpr std::string_view kStatusHelp = R"(usage: cloudsdial status [--json] [--config FILE]

Asks the server running on the configured data directory (through <data_dir>/control.sock)
for its pid, uptime, listeners, open sessions per protocol, logins and outbound queue.
--json prints the server's JSON answer (with "pid" added).
Exit code: 0 running, 3 not running, 1 no answer from a running server, 2 usage.
)";

std::uint64_t number(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() > 0) return static_cast<std::uint64_t>(v->as_int64());
  return 0;
}

std::string uptime_text(std::uint64_t s) {
  std::string out;
  if (s >= 86400) out += std::to_string(s / 86400) + "d ";
  if (s >= 3600) out += std::to_string(s / 3600 % 24) + "h ";
  if (s >= 60) out += std::to_string(s / 60 % 60) + "m ";
  out += std::to_string(s % 60) + "s";
  return out;
}

void print_status(const boost::json::object& o, long pid) {
  std::cout << "cloudsdial: running (pid " << pid << "), up " << uptime_text(number(o, "uptime_seconds")) << "\n";
  for (const auto& item : o.at("listeners").as_array()) {
    const auto& l = item.as_object();
    std::cout << "  listening on " << l.at("endpoint").as_string().c_str() << " (" << l.at("serves").as_string().c_str()
              << ")\n";
  }
  const auto& s = o.at("sessions").as_object();
  std::cout << "sessions: " << number(s, "total") << " (smtp " << number(s, "smtp") << ", imap " << number(s, "imap")
            << ", pop3 " << number(s, "pop3") << ", http " << number(s, "http") << ")\n";
  std::cout << "logins: " << number(o, "logins") << "\n";
  const auto& q = o.at("queue");
  if (q.is_object()) {
    std::cout << "queue: " << number(q.as_object(), "messages") << " message(s), "
              << number(q.as_object(), "active_connections") << " outbound connection(s)\n";
  } else {
    std::cout << "queue: off (no outbound delivery)\n";
  }
}

}  // namespace

int status_main(const std::vector<std::string_view>& args) {
  bool json = false;
  std::optional<std::string> config_path;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "--help" || a == "-h") {
      std::cout << kStatusHelp;
      return 0;
    }
    if (a == "--json") {
      json = true;
    } else if ((a == "--config" || a == "-c") && i + 1 < args.size()) {
      config_path = std::string(args[++i]);
    } else {
      std::cerr << "cloudsdial status: unknown argument '" << a << "'\n\n" << kStatusHelp;
      return 2;
    }
  }
  auto config = config_path ? load_config_file(*config_path) : parse_config(default_config_text(), "embedded default");
  if (!config.ok()) {
    std::cerr << "cloudsdial: configuration error: " << config.error().detail << "\n";
    return 2;
  }
  io::AsioEnvOptions options;
  options.log_level_min = rt::LogLevel::error;
  io::AsioEnv env(options);
  std::optional<std::string> answer;
  env.tasks().spawn([](io::AsioEnv& e, std::string data_dir, std::optional<std::string>& out) -> rt::Task<void> {
    out = co_await ask_server(e, node::control_endpoint(data_dir), "status");
    e.stop();
  }(env, config->data_dir, answer));
  env.run();

  const std::string pid_path = config->pid_path();
  if (!answer) {
    if (server_holds_lock(pid_path)) {
      std::cerr << "cloudsdial status: the server holding " << pid_path << " (pid " << read_pid_file(pid_path)
                << ") does not answer on " << node::control_endpoint(config->data_dir).to_string() << "\n";
      return 1;
    }
    std::cerr << "cloudsdial status: not running (no server on data dir " << config->data_dir << ")\n";
    return 3;
  }
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(*answer, ec);
  if (ec || !doc.is_object() || !doc.as_object().contains("ok") || !doc.as_object().at("ok").is_bool()) {
    std::cerr << "cloudsdial status: unexpected answer from the server: " << answer->substr(0, 200) << "\n";
    return 1;
  }
  auto& obj = doc.as_object();
  if (!obj.at("ok").as_bool()) {
    const auto* why = obj.if_contains("error");
    std::cerr << "cloudsdial status: " << (why != nullptr && why->is_string() ? why->as_string().c_str() : "failed") << "\n";
    return 1;
  }
  const long pid = read_pid_file(pid_path);
  if (json) {
    obj["pid"] = pid;
    std::cout << boost::json::serialize(obj) << "\n";
    return 0;
  }
  try {
    print_status(obj, pid);
  } catch (const std::exception& e) {  // a field of the wrong shape (boost::json::value::at/as_*)
    std::cerr << "cloudsdial status: unexpected answer from the server: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace mail::app
