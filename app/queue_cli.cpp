// queue CLI (see header). Must not: change a queue a running server owns behind its back
// (a live control socket always wins), or print anything but the answer on stdout.
#include "app/queue_cli.h"

#include <boost/json.hpp>

#include <iostream>
#include <optional>
#include <string>

#include "app/config.h"
#include "app/control_client.h"
#include "io/asio_env.h"
#include "node/control_server.h"
#include "node/queue_report.h"
#include "proto/control/control_session.h"
#include "proto/smtp/received.h"
#include "runtime/await.h"
#include "store/outbound_queue.h"

namespace mail::app {
namespace {

constexpr std::string_view kQueueHelp = R"(usage: cloudsdial queue <command> [ID] [--json] [--config FILE]

  list            every queued message: id, arrival, size, sender, recipients, state
  show ID         one message: envelope and each recipient's state and last reply
  flush [ID]      try the deferred recipients (of ID, or of every message) now
  hold ID         keep the message in the queue, untried, until released
  release ID      undo hold: the message is tried now
  delete ID       remove the message without a bounce

With the server running, the command goes through its control socket
(<data_dir>/control.sock); with it stopped, the queue files under <data_dir>/queue are
read and changed directly (flush then has nothing to do: the server tries deferred mail
when it starts). --json prints the JSON answer itself.
)";

struct Args {
  std::string command;
  std::string id;
  bool json = false;
  std::optional<std::string> config_path;
};

// The same request against the queue files of a stopped server.
rt::Task<std::string> ask_files(io::AsioEnv& env, std::string data_dir, Args a) {
  store::OutboundQueue queue(env, store::OutboundQueueConfig{data_dir});
  auto loaded = co_await queue.load_all();
  if (!loaded.ok()) co_return control::error_response("cannot read the queue in " + data_dir + "/queue: " + loaded.error().detail);
  const store::QueuedMessage* found = nullptr;
  for (const auto& m : loaded->messages) {
    if (m.id == a.id) found = &m;
  }
  if (a.command == "list") {
    std::vector<node::QueueSummary> list;
    for (const auto& m : loaded->messages) list.push_back(node::summarize(m));
    co_return node::queue_list_json(list);
  }
  if (a.command == "flush") {
    if (!a.id.empty() && found == nullptr) co_return control::error_response("no message " + a.id + " in the queue");
    co_return node::ok_json("the server is not running: deferred mail is tried when it starts");
  }
  if (found == nullptr) co_return control::error_response("no message " + a.id + " in the queue");
  if (a.command == "show") co_return node::queue_show_json(*found);
  if (a.command == "delete") {
    Status s = co_await queue.remove(a.id);
    co_return s.ok() ? node::ok_json() : control::error_response(s.error().detail);
  }
  store::QueueRecord rec;
  rec.kind = a.command == "hold" ? store::QueueRecord::Kind::held : store::QueueRecord::Kind::released;
  rec.at = env.clock().wall_now();
  std::vector<store::QueueRecord> records{rec};
  Status s = co_await queue.append(a.id, records);
  co_return s.ok() ? node::ok_json() : control::error_response(s.error().detail);
}

std::string text_of(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_int64()) return std::to_string(v.as_int64());
  if (v.is_uint64()) return std::to_string(v.as_uint64());
  if (v.is_bool()) return v.as_bool() ? "yes" : "no";
  return "";
}

std::string when(const boost::json::value& v) {
  if (!v.is_int64()) return "-";
  return smtp::format_date_time(WallTime{v.as_int64() * 1'000'000});
}

void print_list(const boost::json::array& messages) {
  if (messages.empty()) {
    std::cout << "Mail queue is empty\n";
    return;
  }
  std::cout << "-Queue ID-          --Size-- ----Arrival Time---------------- -Sender/Recipients-\n";
  for (const auto& item : messages) {
    const auto& m = item.as_object();
    std::string id = text_of(m.at("id"));
    if (m.at("held").as_bool()) id += '!';  // Postfix's mark for held mail
    if (m.at("active").as_bool()) id += '*';
    std::string size = text_of(m.at("size"));
    std::cout << id << std::string(id.size() < 20 ? 20 - id.size() : 1, ' ') << std::string(size.size() < 8 ? 8 - size.size() : 0, ' ')
              << size << ' ' << text_of(m.at("arrival_text")) << "  " << text_of(m.at("sender")) << "\n";
    std::cout << "    recipients " << text_of(m.at("recipients")) << ", pending " << text_of(m.at("pending"))
              << ", deferred " << text_of(m.at("deferred"));
    if (!m.at("next_attempt").is_null()) std::cout << ", next attempt " << when(m.at("next_attempt"));
    std::cout << "\n";
    if (const std::string last = text_of(m.at("last_reply")); !last.empty()) std::cout << "    (" << last << ")\n";
  }
  std::cout << "-- " << messages.size() << " message(s)\n";
}

void print_show(const boost::json::object& m) {
  std::cout << "id:          " << text_of(m.at("id")) << (m.at("held").as_bool() ? " (held)" : "") << "\n"
            << "arrival:     " << text_of(m.at("arrival_text")) << "\n"
            << "size:        " << text_of(m.at("size")) << "\n"
            << "sender:      " << text_of(m.at("sender")) << "\n"
            << "client:      " << text_of(m.at("helo")) << " [" << text_of(m.at("client")) << "]\n";
  if (const std::string auth = text_of(m.at("auth")); !auth.empty()) std::cout << "auth:        " << auth << "\n";
  for (const auto& item : m.at("recipients").as_array()) {
    const auto& r = item.as_object();
    std::cout << "recipient:   <" << text_of(r.at("address")) << "> " << text_of(r.at("state")) << ", attempts "
              << text_of(r.at("attempts"));
    if (!r.at("next_attempt").is_null()) std::cout << ", next attempt " << when(r.at("next_attempt"));
    std::cout << "\n";
    if (const std::string last = text_of(r.at("last_reply")); !last.empty()) {
      std::cout << "             " << last;
      if (const std::string mta = text_of(r.at("remote_mta")); !mta.empty()) std::cout << " (from " << mta << ")";
      std::cout << "\n";
    }
  }
}

}  // namespace

int queue_main(const std::vector<std::string_view>& args) {
  Args a;
  std::vector<std::string> positional;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kQueueHelp;
      return 0;
    }
    if (arg == "--json") {
      a.json = true;
    } else if ((arg == "--config" || arg == "-c") && i + 1 < args.size()) {
      a.config_path = std::string(args[++i]);
    } else if (!arg.empty() && arg[0] == '-') {
      std::cerr << "cloudsdial queue: unknown option '" << arg << "'\n\n" << kQueueHelp;
      return 2;
    } else {
      positional.emplace_back(arg);
    }
  }
  if (positional.empty()) {
    std::cerr << kQueueHelp;
    return 2;
  }
  a.command = positional[0];
  if (positional.size() > 1) a.id = positional[1];
  const bool needs_id = a.command == "show" || a.command == "hold" || a.command == "release" || a.command == "delete";
  const bool known = needs_id || a.command == "list" || a.command == "flush";
  if (!known || (needs_id && a.id.empty()) || positional.size() > 2 || (a.command == "list" && !a.id.empty())) {
    std::cerr << "cloudsdial queue: " << (known ? "wrong arguments" : "unknown command '" + a.command + "'") << "\n\n"
              << kQueueHelp;
    return 2;
  }
  if (!a.id.empty() && !store::is_valid_queue_id(a.id)) {
    std::cerr << "cloudsdial queue: '" << a.id << "' is not a queue id\n";
    return 1;
  }
  auto config = a.config_path ? load_config_file(*a.config_path) : parse_config(default_config_text(), "embedded default");
  if (!config.ok()) {
    std::cerr << "cloudsdial: configuration error: " << config.error().detail << "\n";
    return 2;
  }

  io::AsioEnvOptions options;
  options.log_level_min = rt::LogLevel::error;
  io::AsioEnv env(options);
  std::string answer;
  std::string request = "queue " + a.command;
  if (!a.id.empty()) request += " " + a.id;
  env.tasks().spawn([](io::AsioEnv& e, std::string data_dir, std::string req, Args args2, std::string& out,
                       std::string pid_path) -> rt::Task<void> {
    auto live = co_await ask_server(e, node::control_endpoint(data_dir), std::move(req));
    if (live) {
      out = std::move(*live);
    } else if (server_holds_lock(pid_path)) {
      // Never change the files of a queue a running server owns behind its back.
      out = control::error_response("the server holding " + pid_path + " does not answer on its control socket");
    } else {
      out = co_await ask_files(e, std::move(data_dir), std::move(args2));
    }
    e.stop();
  }(env, config->data_dir, std::move(request), a, answer, config->pid_path()));
  env.run();

  while (!answer.empty() && (answer.back() == '\n' || answer.back() == '\r')) answer.pop_back();
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(answer, ec);
  if (ec || !doc.is_object() || !doc.as_object().contains("ok")) {
    std::cerr << "cloudsdial queue: unexpected answer from the server: " << answer.substr(0, 200) << "\n";
    return 1;
  }
  const auto& obj = doc.as_object();
  const bool ok = obj.at("ok").as_bool();
  if (a.json) {
    std::cout << answer << "\n";
  } else if (!ok) {
    std::cerr << "cloudsdial queue: " << text_of(obj.at("error")) << "\n";
  } else if (a.command == "list") {
    print_list(obj.at("messages").as_array());
  } else if (a.command == "show") {
    print_show(obj.at("message").as_object());
  } else if (obj.contains("note")) {
    std::cout << text_of(obj.at("note")) << "\n";
  }
  return ok ? 0 : 1;
}

}  // namespace mail::app
