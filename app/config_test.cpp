// Tests of the TOML configuration loader: the embedded default, unknown keys and type
// errors reported with their line, value validation naming the key, and unit parsing.
#include "app/config.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace mail::app {
namespace {

constexpr std::string_view kMinimal = R"([domains]
local = ["example.test"]
[[users]]
name = "demo"
)";

std::string error_of(std::string_view text) {
  auto r = parse_config(text, "t.toml");
  if (r.ok()) return "(ok)";
  return r.error().detail;
}

TEST(Config, EmbeddedDefaultParses) {
  auto r = parse_config(default_config_text(), "embedded default");
  ASSERT_TRUE(r.ok()) << r.error().detail;
  const AppConfig& c = r.value();
  EXPECT_EQ(c.data_dir, "./var");
  EXPECT_EQ(c.pid_path(), "./var/cloudsdial.pid");
  ASSERT_EQ(c.smtp.listen.size(), 1u);
  EXPECT_EQ(c.smtp.listen[0], (rt::Endpoint{"127.0.0.1", 2525}));
  ASSERT_EQ(c.directory.domains.size(), 1u);
  EXPECT_EQ(c.directory.domains[0], "example.test");
  ASSERT_EQ(c.directory.users.size(), 1u);
  EXPECT_EQ(c.directory.users[0].name, "demo");
  EXPECT_EQ(c.smtp.connections.connections_max, 1000u);
  EXPECT_EQ(c.smtp.connections.connections_per_ip_max, 50u);
  EXPECT_EQ(c.smtp.session.limits.message_bytes_max, 35ull << 20);
  EXPECT_TRUE(c.smtp.session.reject_pipelined_data);
  EXPECT_EQ(c.shutdown_timeout, 10s);
}

TEST(Config, MinimalFileGetsDefaults) {
  auto r = parse_config(kMinimal, "t.toml");
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r.value().smtp.listen[0].port, 2525);
  EXPECT_EQ(r.value().smtp.session.limits.recipients_max, 1000u);
}

TEST(Config, FullExample) {
  auto r = parse_config(R"([server]
hostname = "mx.example.test"
data_dir = "/tmp/x"
pid_file = "/tmp/x.pid"
log_level = "debug"
shutdown_timeout = "2500ms"
[smtp]
listen = ["127.0.0.1:0", "[::1]:2525"]
max_connections = 10
max_connections_per_ip = 3
message_size_max = "1MiB"
recipients_max = 150
hops_max = 30
errors_max = 5
error_delay = "0s"
greeting_timeout = 30
command_timeout = "1min"
data_timeout = "2min"
chunking = false
reject_pipelined_data = false
[domains]
local = ["Example.TEST", "other.test"]
subaddress_separator = "-"
[[users]]
name = "demo"
aliases = ["postmaster"]
[[users]]
name = "user1"
)",
                        "t.toml");
  ASSERT_TRUE(r.ok()) << r.error().detail;
  const AppConfig& c = r.value();
  EXPECT_EQ(c.smtp.session.hostname, "mx.example.test");
  EXPECT_EQ(c.pid_path(), "/tmp/x.pid");
  EXPECT_EQ(c.shutdown_timeout, 2500ms);
  ASSERT_EQ(c.smtp.listen.size(), 2u);
  EXPECT_EQ(c.smtp.listen[0], (rt::Endpoint{"127.0.0.1", 0}));
  EXPECT_EQ(c.smtp.listen[1], (rt::Endpoint{"::1", 2525}));
  EXPECT_EQ(c.smtp.connections.connections_per_ip_max, 3u);
  EXPECT_EQ(c.smtp.session.limits.message_bytes_max, 1u << 20);
  EXPECT_EQ(c.smtp.session.limits.recipients_max, 150u);
  EXPECT_EQ(c.smtp.session.limits.initial_idle_timeout, 30s);
  EXPECT_EQ(c.smtp.session.limits.command_timeout, 1min);
  EXPECT_EQ(c.smtp.session.limits.error_delay, 0s);
  EXPECT_FALSE(c.smtp.session.chunking);
  EXPECT_FALSE(c.smtp.session.reject_pipelined_data);
  EXPECT_EQ(c.directory.domains[0], "example.test");
  EXPECT_EQ(c.directory.subaddress_separator, '-');
  EXPECT_EQ(c.directory.users.size(), 2u);
  // The effective configuration round-trips.
  auto again = parse_config(describe_config(c), "described");
  ASSERT_TRUE(again.ok()) << again.error().detail << "\n" << describe_config(c);
  EXPECT_EQ(again.value().smtp.listen, c.smtp.listen);
  EXPECT_EQ(again.value().shutdown_timeout, c.shutdown_timeout);
  EXPECT_FALSE(again.value().smtp.session.reject_pipelined_data);
}

TEST(Config, UnknownKeyNamesLineAndKey) {
  const std::string e = error_of(std::string(kMinimal) + "[smtp]\nlisten = [\"127.0.0.1:25\"]\nmax_conections = 5\n");
  EXPECT_NE(e.find("t.toml:7:"), std::string::npos) << e;
  EXPECT_NE(e.find("smtp.max_conections"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key"), std::string::npos) << e;
  EXPECT_NE(error_of(std::string(kMinimal) + "[jmap]\n").find("t.toml:5: jmap: unknown key"), std::string::npos)
      << error_of(std::string(kMinimal) + "[jmap]\n");
  EXPECT_NE(error_of(std::string(kMinimal) + "aliases = []\nhome = \"/x\"\n").find("users.home"), std::string::npos);
}

TEST(Config, TypeAndRangeErrorsNameTheKey) {
  std::string e = error_of(std::string(kMinimal) + "[smtp]\nmax_connections = \"many\"\n");
  EXPECT_NE(e.find("t.toml:6: smtp.max_connections: must be an integer"), std::string::npos) << e;
  e = error_of(std::string(kMinimal) + "[smtp]\nrecipients_max = 50\n");
  EXPECT_NE(e.find("smtp.recipients_max: must be between 100"), std::string::npos) << e;
  e = error_of(std::string(kMinimal) + "[smtp]\nlisten = [\"localhost:25\"]\n");
  EXPECT_NE(e.find("smtp.listen[0]"), std::string::npos) << e;
  e = error_of(std::string(kMinimal) + "[smtp]\nlisten = [\"127.0.0.1:70000\"]\n");
  EXPECT_NE(e.find("smtp.listen[0]"), std::string::npos) << e;
  e = error_of(std::string(kMinimal) + "[smtp]\ncommand_timeout = \"5 fortnights\"\n");
  EXPECT_NE(e.find("smtp.command_timeout"), std::string::npos) << e;
  e = error_of(std::string(kMinimal) + "[smtp]\nmessage_size_max = \"12XB\"\n");
  EXPECT_NE(e.find("smtp.message_size_max"), std::string::npos) << e;
  // Overflow is an error with its line and reason, never a wrapped value (core/units.h).
  e = error_of(std::string(kMinimal) + "[smtp]\ncommand_timeout = \"9223372036855s\"\n");
  EXPECT_NE(e.find("t.toml:6: smtp.command_timeout: must be a duration"), std::string::npos) << e;
  EXPECT_NE(e.find("too large"), std::string::npos) << e;
  e = error_of(std::string(kMinimal) + "[smtp]\nmessage_size_max = \"17179869184G\"\n");
  EXPECT_NE(e.find("t.toml:6: smtp.message_size_max: must be bytes"), std::string::npos) << e;
  EXPECT_NE(e.find("too large"), std::string::npos) << e;
  e = error_of(std::string(kMinimal) + "[smtp]\ncommand_timeout = \"-5s\"\n");
  EXPECT_NE(e.find("negative"), std::string::npos) << e;
  e = error_of(std::string(kMinimal) + "[server]\nlog_level = \"loud\"\n");
  EXPECT_NE(e.find("server.log_level"), std::string::npos) << e;
}

TEST(Config, LogFormatAndOutput) {
  auto d = parse_config(kMinimal, "t.toml");
  ASSERT_TRUE(d.ok()) << d.error().detail;
  EXPECT_EQ(d.value().log_format, "text");
  EXPECT_EQ(d.value().log_output, "stderr");
  auto r = parse_config(std::string(kMinimal) + "[server]\nlog_format = \"json\"\nlog_output = \"syslog\"\n", "t.toml");
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r.value().log_format, "json");
  EXPECT_EQ(r.value().log_output, "syslog");
  const std::string described = describe_config(r.value());
  EXPECT_NE(described.find("log_format = 'json'"), std::string::npos) << described;
  EXPECT_NE(described.find("log_output = 'syslog'"), std::string::npos) << described;
  // The default text names both keys (commented out) with their values.
  EXPECT_NE(default_config_text().find("# log_format = \"text\""), std::string::npos);
  EXPECT_NE(default_config_text().find("# log_output = \"stderr\""), std::string::npos);

  EXPECT_EQ(error_of(std::string(kMinimal) + "[server]\nlog_format = \"xml\"\n"),
            "t.toml:6: server.log_format: must be text or json");
  EXPECT_EQ(error_of(std::string(kMinimal) + "[server]\nlog_format = \"JSON\"\n"),
            "t.toml:6: server.log_format: must be text or json");
  EXPECT_EQ(error_of(std::string(kMinimal) + "[server]\nlog_output = \"journald\"\n"),
            "t.toml:6: server.log_output: must be stderr or syslog");
  EXPECT_EQ(error_of(std::string(kMinimal) + "[server]\nlog_output = 2\n"), "t.toml:6: server.log_output: must be a string");
}

TEST(Config, UsersAndDomainsAreValidated) {
  // [[users]] is optional: the logins of the users file are local users too (one user model).
  EXPECT_EQ(error_of("[domains]\nlocal = [\"example.test\"]\n"), "(ok)");
  EXPECT_NE(error_of("[[users]]\nname = \"demo\"\n").find("domains"), std::string::npos);
  EXPECT_NE(error_of("[domains]\nlocal = [\"example.test\"]\n[[users]]\nname = \"../etc\"\n").find("users.name"),
            std::string::npos);
  EXPECT_NE(error_of("[domains]\nlocal = [\"example.test\"]\n[[users]]\nname = \"a\"\n[[users]]\nname = \"b\"\naliases = [\"A\"]\n")
                .find("defined twice"),
            std::string::npos);
  EXPECT_NE(error_of("[domains]\nlocal = [\"bad domain\"]\n[[users]]\nname = \"a\"\n").find("domains.local"),
            std::string::npos);
}

// [dns] servers: where every query goes (io::PosixDnsConfig); the relay's tests point it at
// a dnsmasq on a loopback port (issue 13).
TEST(Config, DnsServers) {
  auto def = parse_config(kMinimal, "t.toml");
  ASSERT_TRUE(def.ok()) << def.error().detail;
  EXPECT_TRUE(def.value().dns.servers.empty()) << "default: the system resolver";
  EXPECT_EQ(def.value().dns.timeout, 5s);
  EXPECT_EQ(def.value().dns.attempts, 2);

  auto r = parse_config(std::string(kMinimal) + R"([dns]
servers = ["127.0.0.1:5353", "[::1]:53"]
timeout = "2s"
attempts = 1
)",
                        "t.toml");
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r.value().dns.servers, (std::vector<rt::Endpoint>{{"127.0.0.1", 5353}, {"::1", 53}}));
  EXPECT_EQ(r.value().dns.timeout, 2s);
  EXPECT_EQ(r.value().dns.attempts, 1);
  const std::string described = describe_config(r.value());
  EXPECT_NE(described.find("[dns]"), std::string::npos) << described;
  EXPECT_NE(described.find("[::1]:53"), std::string::npos) << described;

  const std::string dns = std::string(kMinimal) + "[dns]\n";  // the key is on line 6
  EXPECT_EQ(error_of(dns + "servers = [\"localhost:53\"]\n"),
            "t.toml:6: dns.servers[0]: 'localhost:53' is not IP:PORT (e.g. \"127.0.0.1:53\" or \"[::1]:5353\"; no host names)");
  EXPECT_EQ(error_of(dns + "servers = [\"127.0.0.1\"]\n"),
            "t.toml:6: dns.servers[0]: '127.0.0.1' is not IP:PORT (e.g. \"127.0.0.1:53\" or \"[::1]:5353\"; no host names)");
  EXPECT_EQ(error_of(dns + "servers = [\"127.0.0.1:53\", \"::1:53\"]\n"),
            "t.toml:6: dns.servers[1]: '::1:53' is not IP:PORT (e.g. \"127.0.0.1:53\" or \"[::1]:5353\"; no host names)");
  EXPECT_EQ(error_of(dns + "servers = [\"127.0.0.1:0\"]\n"), "t.toml:6: dns.servers[0]: '127.0.0.1:0': the port must not be 0");
  EXPECT_EQ(error_of(dns + "servers = [\"127.0.0.1:1\", \"127.0.0.1:2\", \"127.0.0.1:3\", \"127.0.0.1:4\"]\n"),
            "t.toml:6: dns.servers: at most 3 servers (the resolver's limit)");
  EXPECT_EQ(error_of(dns + "servers = \"127.0.0.1:53\"\n"), "t.toml:6: dns.servers: must be an array of strings");
  EXPECT_EQ(error_of(dns + "timeout = \"1500ms\"\n"), "t.toml:6: dns.timeout: must be whole seconds (the resolver counts in seconds)");
  EXPECT_EQ(error_of(dns + "timeout = \"2min\"\n"), "t.toml:6: dns.timeout: must be between 1s and 1min");
  EXPECT_EQ(error_of(dns + "attempts = 0\n"), "t.toml:6: dns.attempts: must be between 1 and 5 (got 0)");
  EXPECT_NE(error_of(dns + "server = [\"127.0.0.1:53\"]\n").find("dns.server: unknown key"), std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "dns = 1\n").find("dns"), std::string::npos);
}

TEST(Config, SyntaxErrorHasLine) {
  const std::string e = error_of("[server]\ndata_dir = \n");
  EXPECT_NE(e.find("t.toml:2:"), std::string::npos) << e;
  EXPECT_NE(e.find("TOML syntax"), std::string::npos) << e;
}

// Regression (fuzz/config_toml): a non-ASCII character where toml++ 3.3 looks for
// whitespace reached __builtin_unreachable() (UBSan: "execution reached an unreachable
// program point"). It is a syntax error on its line; in strings and comments it is fine.
TEST(Config, NonAsciiOutsideStringsIsASyntaxErrorNotUndefinedBehaviour) {
  EXPECT_EQ(error_of("[server]\ndata_dir = \xC3\xA9\n"),
            "t.toml:2: TOML syntax: a non-ASCII character outside a string or comment");
  EXPECT_EQ(error_of("\xEF\xBB\xBB\x01 = 1\n"), "t.toml:1: TOML syntax: a non-ASCII character outside a string or comment");
  // A quote inside a bare value opens no string: toml++ classifies what follows.
  EXPECT_EQ(error_of("[server]\ndata_dir = 0tdow\"\xC9\xAB\"\n"),
            "t.toml:2: TOML syntax: a non-ASCII character outside a string or comment");
  // Upstream issue #190: the first character after a line-ending backslash.
  EXPECT_EQ(error_of("[server]\ndata_dir = \"\"\"\\\n  \xC2\xA7\"\"\"\n"),
            "t.toml:3: TOML syntax: a non-ASCII character outside a string or comment");
  const char* fine[] = {
      "# caf\xC3\xA9\n[server]\ndata_dir = \"/var/caf\xC3\xA9\" # \xC3\xA9\n",
      "\xEF\xBB\xBF[server]\ndata_dir = '/var/\xC3\xBC'\n",
      "[server]\ndata_dir = \"\"\"/var/\\\"\xC3\xA9\\\n  x\xC3\xA9\"\"\"\"\n",
      "[server]\ndata_dir = '''/v\xC3\xA9\n\xC3\xA9''''\n",
  };
  for (const char* text : fine) {
    std::string whole(text);
    whole.append("[domains]\nlocal = [\"example.org\"]\n");
    auto c = parse_config(whole, "t.toml");
    EXPECT_TRUE(c.ok()) << whole << ": " << c.error().detail;
  }
}

}  // namespace
}  // namespace mail::app

namespace mail::app {
namespace {

// [imap]: absent serves no IMAP; present uses the default listeners unless given.
TEST(ConfigImap, AbsentSectionServesNoImapPresentOneGetsDefaults) {
  auto none = parse_config(kMinimal, "t.toml");
  ASSERT_TRUE(none.ok()) << none.error().detail;
  EXPECT_FALSE(none->imap.enabled);
  EXPECT_FALSE(none->server_config().imap.has_value());
  auto some = parse_config(std::string(kMinimal) + "[imap]\nquota = \"10MiB\"\nappend_limit = \"1MiB\"\n", "t.toml");
  ASSERT_TRUE(some.ok()) << some.error().detail;
  ASSERT_TRUE(some->imap.enabled);
  ASSERT_EQ(some->imap.listen.size(), 1u);
  EXPECT_EQ(some->imap.listen[0].port, 1143);
  EXPECT_EQ(some->imap.tls_listen[0].port, 1993);
  auto sc = some->server_config();
  ASSERT_TRUE(sc.imap.has_value());
  EXPECT_EQ(sc.quota_bytes, 10u << 20);
  EXPECT_EQ(sc.imap->commands.append_limit, 1u << 20);
  EXPECT_EQ(sc.imap->sessions_per_user_ip_max, 10u);  // Dovecot's mail_max_userip_connections
  auto capped = parse_config(std::string(kMinimal) + "[imap]\nmax_sessions_per_user_ip = 0\n", "t.toml");
  ASSERT_TRUE(capped.ok()) << capped.error().detail;
  EXPECT_EQ(capped->server_config().imap->sessions_per_user_ip_max, 0u);
}

// COMPRESS=DEFLATE (RFC 4978) is offered unless turned off; LITERAL- (RFC 7888 §4)
// replaces LITERAL+ when asked.
TEST(ConfigImap, CompressIsOnAndLiteralMinusIsOptIn) {
  auto def = parse_config(std::string(kMinimal) + "[imap]\n", "t.toml");
  ASSERT_TRUE(def.ok()) << def.error().detail;
  EXPECT_TRUE(def->server_config().imap->compress);
  EXPECT_FALSE(def->server_config().imap->session.reader.literal_minus);
  auto flipped = parse_config(std::string(kMinimal) + "[imap]\ncompress = false\nliteral_minus = true\n", "t.toml");
  ASSERT_TRUE(flipped.ok()) << flipped.error().detail;
  EXPECT_FALSE(flipped->server_config().imap->compress);
  EXPECT_TRUE(flipped->server_config().imap->session.reader.literal_minus);
  EXPECT_NE(error_of(std::string(kMinimal) + "[imap]\ncompress = \"yes\"\n").find("imap.compress"), std::string::npos);
}

TEST(ConfigImap, DefaultConfigServesImapAndBadValuesAreNamed) {
  auto def = parse_config(default_config_text(), "default");
  ASSERT_TRUE(def.ok()) << def.error().detail;
  EXPECT_TRUE(def->imap.enabled);
  EXPECT_NE(error_of(std::string(kMinimal) + "[imap]\nlisten = [\"nope\"]\n").find("imap.listen[0]"), std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "[imap]\nautologout = \"5min\"\n").find("imap.autologout"), std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "[imap]\nlisten = []\ntls_listen = []\n").find("imap"), std::string::npos);
}

// [pop3]: absent serves no POP3; present uses 127.0.0.1:1110 (STLS) and :1995 (implicit
// TLS) unless given; the built-in default serves it; idle_timeout defaults to RFC 1939 §3's
// 10 minutes.
TEST(ConfigPop3, AbsentSectionServesNoPop3PresentOneGetsDefaults) {
  auto none = parse_config(kMinimal, "t.toml");
  ASSERT_TRUE(none.ok()) << none.error().detail;
  EXPECT_FALSE(none->pop3.enabled);
  EXPECT_FALSE(none->server_config().pop3.has_value());
  auto some = parse_config(std::string(kMinimal) + "[pop3]\nmax_connections_per_ip = 7\n", "t.toml");
  ASSERT_TRUE(some.ok()) << some.error().detail;
  ASSERT_TRUE(some->pop3.enabled);
  ASSERT_EQ(some->pop3.listen.size(), 1u);
  EXPECT_EQ(some->pop3.listen[0].port, 1110);
  ASSERT_EQ(some->pop3.tls_listen.size(), 1u);
  EXPECT_EQ(some->pop3.tls_listen[0].port, 1995);
  auto sc = some->server_config();
  ASSERT_TRUE(sc.pop3.has_value());
  EXPECT_EQ(sc.pop3->connections.connections_per_ip_max, 7u);
  EXPECT_EQ(sc.pop3->session.idle_timeout, Duration(10min));
  auto quick = parse_config(std::string(kMinimal) + "[pop3]\nidle_timeout = \"2s\"\nlogin_timeout = \"5s\"\n", "t.toml");
  ASSERT_TRUE(quick.ok()) << quick.error().detail;
  EXPECT_EQ(quick->server_config().pop3->session.idle_timeout, Duration(2s));
  EXPECT_EQ(quick->server_config().pop3->session.login_timeout, Duration(5s));
}

// [imap] and [pop3] share the listener keys (RFC 8314 implicit-TLS ports beside the plain
// ones): both translate them into their node config alike.
TEST(ConfigPop3, ImapAndPop3TranslateTheirSharedKeysAlike) {
  auto cfg = parse_config(std::string(kMinimal) + "[auth]\nplaintext_on_loopback = true\n" +
                              "[imap]\nlisten = [\"127.0.0.1:2143\"]\ntls_listen = [\"127.0.0.1:2993\"]\n"
                              "max_connections = 11\nmax_connections_per_ip = 3\nlogin_timeout = \"7s\"\n"
                              "[pop3]\nlisten = [\"127.0.0.1:2110\"]\ntls_listen = [\"127.0.0.1:2995\"]\n"
                              "max_connections = 12\nmax_connections_per_ip = 4\nlogin_timeout = \"8s\"\n",
                          "t.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().detail;
  auto sc = cfg->server_config();
  ASSERT_TRUE(sc.imap.has_value());
  ASSERT_TRUE(sc.pop3.has_value());
  ASSERT_EQ(sc.imap->listen.size(), 1u);
  EXPECT_EQ(sc.imap->listen[0].port, 2143);
  ASSERT_EQ(sc.imap->listen_tls.size(), 1u);
  EXPECT_EQ(sc.imap->listen_tls[0].port, 2993);
  EXPECT_EQ(sc.imap->connections.connections_max, 11u);
  EXPECT_EQ(sc.imap->connections.connections_per_ip_max, 3u);
  EXPECT_EQ(sc.imap->session.login_timeout, Duration(7s));
  EXPECT_TRUE(sc.imap->auth_plaintext_on_loopback);
  ASSERT_EQ(sc.pop3->listen.size(), 1u);
  EXPECT_EQ(sc.pop3->listen[0].port, 2110);
  ASSERT_EQ(sc.pop3->listen_tls.size(), 1u);
  EXPECT_EQ(sc.pop3->listen_tls[0].port, 2995);
  EXPECT_EQ(sc.pop3->connections.connections_max, 12u);
  EXPECT_EQ(sc.pop3->connections.connections_per_ip_max, 4u);
  EXPECT_EQ(sc.pop3->session.login_timeout, Duration(8s));
  EXPECT_TRUE(sc.pop3->auth_plaintext_on_loopback);
}

TEST(ConfigPop3, DefaultConfigServesPop3AndBadValuesAreNamed) {
  auto def = parse_config(default_config_text(), "default");
  ASSERT_TRUE(def.ok()) << def.error().detail;
  EXPECT_TRUE(def->pop3.enabled);
  EXPECT_EQ(def->pop3.listen[0].port, 1110);
  EXPECT_NE(error_of(std::string(kMinimal) + "[pop3]\nlisten = [\"nope\"]\n").find("pop3.listen[0]"), std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "[pop3]\nbogus = 1\n").find("bogus"), std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "[pop3]\nlisten = []\ntls_listen = []\n").find("pop3"), std::string::npos);
}

// [http]: absent serves no HTTP; present uses 127.0.0.1:8080 and no HTTPS unless given; the
// built-in default serves http://127.0.0.1:8080; limits reach the session (RFC 9112 server).
TEST(ConfigHttp, AbsentSectionServesNoHttpPresentOneGetsDefaults) {
  auto none = parse_config(kMinimal, "t.toml");
  ASSERT_TRUE(none.ok()) << none.error().detail;
  EXPECT_FALSE(none->http.enabled);
  EXPECT_FALSE(none->server_config().http.has_value());
  auto some = parse_config(std::string(kMinimal) + "[http]\nbody_limit = \"1MiB\"\nheader_limit = \"8KiB\"\n"
                           "idle_timeout = \"5s\"\n", "t.toml");
  ASSERT_TRUE(some.ok()) << some.error().detail;
  ASSERT_EQ(some->http.listen.size(), 1u);
  EXPECT_EQ(some->http.listen[0].port, 8080);
  EXPECT_TRUE(some->http.tls_listen.empty());
  auto sc = some->server_config();
  ASSERT_TRUE(sc.http.has_value());
  EXPECT_EQ(sc.http->limits.body_bytes_max, 1024u * 1024u);
  EXPECT_EQ(sc.http->limits.header_bytes_max, 8u * 1024u);
  EXPECT_EQ(sc.http->limits.idle_timeout, Duration(5s));
}

TEST(ConfigHttp, DefaultConfigServesHttpAndBadValuesAreNamed) {
  auto def = parse_config(default_config_text(), "default");
  ASSERT_TRUE(def.ok()) << def.error().detail;
  ASSERT_TRUE(def->http.enabled);
  EXPECT_EQ(def->http.listen[0].port, 8080);
  EXPECT_EQ(def->http.listen[0].address, "127.0.0.1");
  EXPECT_NE(error_of(std::string(kMinimal) + "[http]\nlisten = [\"nope\"]\n").find("http.listen[0]"), std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "[http]\nbogus = 1\n").find("bogus"), std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "[http]\nlisten = []\n").find("http"), std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "[tls]\nenabled = false\n[http]\ntls_listen = [\"127.0.0.1:8443\"]\n").find("http.tls_listen"),
            std::string::npos);
}

// [http] plaintext_on_loopback is HTTP's own (JMAP Basic and the webmail login), on by
// default whatever [auth] says about SASL.
TEST(ConfigHttp, PlaintextOnLoopbackIsHttpsOwnAndOnByDefault) {
  auto on = parse_config(std::string(kMinimal) + "[auth]\nplaintext_on_loopback = false\n[http]\n", "t.toml");
  ASSERT_TRUE(on.ok()) << on.error().detail;
  ASSERT_TRUE(on->server_config().http.has_value());
  EXPECT_TRUE(on->server_config().http->auth_plaintext_on_loopback);
  auto off = parse_config(std::string(kMinimal) + "[http]\nplaintext_on_loopback = false\n", "t.toml");
  ASSERT_TRUE(off.ok()) << off.error().detail;
  EXPECT_FALSE(off->server_config().http->auth_plaintext_on_loopback);
}

// [http] rate limit and admin API: the keys reach the server config; the admin password is
// the first line of admin_password_file; the two admin keys go together.
TEST(ConfigHttp, RateLimitAndAdminCredentials) {
  const auto dir = std::filesystem::temp_directory_path() / ("config_admin_test." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string pw = (dir / "admin.pw").string();
  std::ofstream(pw) << "s3cret\r\nignored\n";
  auto c = parse_config(std::string(kMinimal) + "[http]\nrequests_per_second = 5\nrequest_burst = 7\n"
                        "rate_limit_loopback = true\nadmin_user = \"admin\"\nadmin_password_file = \"" + pw + "\"\n",
                        "t.toml");
  ASSERT_TRUE(c.ok()) << c.error().detail;
  auto sc = c->server_config();
  ASSERT_TRUE(sc.http.has_value());
  EXPECT_EQ(sc.http->rate_limit.requests_per_second, 5u);
  EXPECT_EQ(sc.http->rate_limit.burst, 7u);
  EXPECT_TRUE(sc.http->rate_limit.limit_loopback);
  EXPECT_EQ(sc.admin.user, "admin");
  EXPECT_EQ(sc.admin.password, "s3cret");
  EXPECT_TRUE(sc.admin.enabled());
  // The effective configuration names the file, never the password.
  EXPECT_EQ(describe_config(*c).find("s3cret"), std::string::npos);
  auto off = parse_config(std::string(kMinimal) + "[http]\n", "t.toml");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->server_config().admin.enabled());
  EXPECT_NE(error_of(std::string(kMinimal) + "[http]\nadmin_user = \"admin\"\n").find("go together"), std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "[http]\nadmin_user = \"a\"\nadmin_password_file = \"/nonexistent/pw\"\n")
                .find("admin_password_file"),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mail::app
