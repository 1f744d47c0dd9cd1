// Python binding of the embedded production server: _core.EmbeddedServer (the public
// context manager is cloudsdial.Server in cloudsdial/server.py). Blocking waits release
// the GIL; the server thread never calls into Python.
#include <pybind11/chrono.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>

#include "app/config.h"
#include "bind_store.h"
#include "embedded_server.h"
#include "errors.h"
#include "gil.h"
#include "store/user_db.h"
#include "store/user_name.h"
#include "proto/sasl/credentials.h"
#include "tls/sasl_crypto.h"

namespace mail::py {

namespace pyb = pybind11;
using namespace pybind11::literals;

namespace {
std::chrono::milliseconds wall(double s) {
  if (!std::isfinite(s) || s < 0) raise_error(ErrorKind::config, "timeouts are seconds >= 0");
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(s * 1000)));
}
}  // namespace

void bind_server(pyb::module_& m) {
  m.def("default_config_text", [] { return std::string(app::default_config_text()); },
        "The built-in configuration of `cloudsdial serve` (TOML).");
  // The server's user-name rule (store/user_name.h), the one the configuration, the
  // scenario files and World.add_server apply: Python never keeps a copy of it.
  m.def("is_valid_user_name", [](const std::string& name) { return store::is_valid_user_name(name); }, "name"_a,
        "True when `name` is a valid user name of the server's directory.");
  m.def("is_valid_alias", [](const std::string& alias) { return store::is_valid_alias(alias); }, "alias"_a,
        "True when `alias` is a valid alias (a user name, or UTF-8 too).");
  // The users file with `logins` added or replaced, as `cloudsdial user add`/`passwd` write
  // it (SCRAM-SHA-256, 4096 iterations, random salts); `existing` is the file's text or "".
  m.def("_users_file_text", [](const std::string& existing, const std::vector<std::pair<std::string, std::string>>& logins) {
        auto parsed = store::UserDb::parse(existing);
        if (!parsed) raise_error(ErrorKind::config, "users file: " + parsed.error().detail);
        store::UserDb db = std::move(*parsed);
        tls::OpenSslCrypto crypto;
        for (const auto& [name, password] : logins) {
          if (!store::is_valid_user_name(name)) {
            raise_error(ErrorKind::config, "login '" + name + "' must be " + std::string(store::kUserNameRule));
          }
          std::string salt(16, '\0');
          crypto.random_bytes({reinterpret_cast<std::uint8_t*>(salt.data()), salt.size()});
          auto creds = sasl::derive_scram_credentials(crypto, password, salt, 4096);
          Status done = db.lookup(name) ? db.replace(name, std::move(creds)) : db.add(name, std::move(creds));
          if (!done.ok()) raise_error(ErrorKind::config, "login '" + name + "': " + done.error().detail);
        }
        return db.serialize();
      }, "existing"_a, "logins"_a);
  m.attr("USER_NAME_RULE") = std::string(store::kUserNameRule);
  m.attr("ALIAS_RULE") = std::string(store::kAliasRule);

  pyb::class_<EmbeddedServer>(m, "EmbeddedServer", "The production server on its own thread (see cloudsdial.Server).")
      .def(pyb::init([](const std::string& config_text, const std::string& source, const std::string& data_dir,
                        const std::string& host, std::uint16_t port, std::optional<std::string> log_level) {
             auto parsed = app::parse_config(config_text, source);
             if (!parsed) raise_error(ErrorKind::config, parsed.error().detail);
             app::AppConfig cfg = std::move(*parsed);
             cfg.data_dir = data_dir;
             cfg.pid_file.clear();
             cfg.smtp.listen = {rt::Endpoint{host, port}};
             if (log_level) {
               if (*log_level != "debug" && *log_level != "info" && *log_level != "warn" && *log_level != "error") {
                 raise_error(ErrorKind::config, "log_level must be one of debug, info, warn, error");
               }
               cfg.log_level = *log_level;
             }
             return std::make_unique<EmbeddedServer>(std::move(cfg));
           }),
           "config_text"_a, "source"_a, "data_dir"_a, "host"_a, "port"_a, "log_level"_a = pyb::none())
      .def("start", [](EmbeddedServer& s, double timeout) { without_gil([&] { s.start(wall(timeout)); }); },
           "timeout"_a = 30.0)
      .def("stop", [](EmbeddedServer& s, double grace) {
             const Duration g(static_cast<std::int64_t>(std::llround(grace * 1e6)));
             without_gil([&] { s.stop(g); });
           }, "grace"_a = 5.0)
      .def_property_readonly("running", &EmbeddedServer::running)
      .def_property_readonly("endpoints", [](EmbeddedServer& s) {
        std::vector<std::pair<std::string, std::uint16_t>> out;
        for (const auto& e : s.endpoints()) out.emplace_back(e.address, e.port);
        return out;
      })
      .def_property_readonly("imap_endpoints", [](EmbeddedServer& s) {
        std::vector<std::tuple<std::string, std::string, std::uint16_t>> out;
        for (const auto& e : s.imap_endpoints()) out.emplace_back(e.kind, e.endpoint.address, e.endpoint.port);
        return out;
      }, "(kind, host, port) of each IMAP listener: kind 'imap' (STARTTLS) or 'imaps' (implicit TLS)")
      .def_property_readonly("pop3_endpoints", [](EmbeddedServer& s) {
        std::vector<std::tuple<std::string, std::string, std::uint16_t>> out;
        for (const auto& e : s.pop3_endpoints()) out.emplace_back(e.kind, e.endpoint.address, e.endpoint.port);
        return out;
      }, "(kind, host, port) of each POP3 listener: kind 'pop3' (STLS) or 'pop3s' (implicit TLS)")
      .def_property_readonly("http_endpoints", [](EmbeddedServer& s) {
        std::vector<std::tuple<std::string, std::string, std::uint16_t>> out;
        for (const auto& e : s.http_endpoints()) out.emplace_back(e.kind, e.endpoint.address, e.endpoint.port);
        return out;
      }, "(kind, host, port) of each HTTP listener: kind 'http' or 'https' (implicit TLS)")
      .def_property_readonly("users_path", [](EmbeddedServer& s) { return s.config().users_path(); })
      .def("_folders", [](EmbeddedServer& s, const std::string& user, std::optional<std::string> folder, bool bodies,
                          double timeout) {
             const auto t = wall(timeout);
             auto folders = without_gil([&] { return s.store_folders(user, std::move(folder), bodies, t); });
             return folders_to_python(folders);
           }, "user"_a, "folder"_a, "bodies"_a, "timeout"_a)
      .def_property_readonly("data_dir", [](EmbeddedServer& s) { return s.config().data_dir; })
      .def_property_readonly("hostname", [](EmbeddedServer& s) { return s.config().smtp.session.hostname; })
      .def_property_readonly("domains", [](EmbeddedServer& s) { return s.config().directory.domains; })
      .def_property_readonly("users", [](EmbeddedServer& s) {
        std::vector<std::pair<std::string, std::vector<std::string>>> out;
        for (const auto& u : s.config().directory.users) out.emplace_back(u.name, u.aliases);
        return out;
      })
      .def("received", [](EmbeddedServer& s) {
        pyb::list out;
        for (const auto& r : s.received()) {
          out.append(pyb::dict("queue_id"_a = r.queue_id, "mail_from"_a = r.mail_from, "recipients"_a = r.recipients,
                               "content"_a = pyb::bytes(r.content.data(), r.content.size()), "reply"_a = r.reply));
        }
        return out;
      })
      .def("wait_received", [](EmbeddedServer& s, std::size_t count, double timeout) {
             const auto t = wall(timeout);
             return without_gil([&] { return s.wait_received(count, t); });
           }, "count"_a, "timeout"_a);
}

}  // namespace mail::py
