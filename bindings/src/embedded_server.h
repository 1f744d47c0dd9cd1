// EmbeddedServer: the production server (node::MailServer on io::AsioEnv: the assembly
// `cloudsdial serve` runs, TLS and AUTH included) running in-process on its own thread,
// for test suites that send real mail (the GreenMail use case). No pid file, no signal
// handling; start() waits until it listens, stop() shuts down gracefully and joins.
// Records every accepted message (envelope + content) for inspection, and reads mailboxes
// through the running server's indexed store (work posted onto its thread). Free of pybind11.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/config.h"
#include "core/time.h"
#include "runtime/env.h"
#include "store_view.h"

namespace mail::py {

struct ImapEndpoint {
  std::string kind;  // "imap" (STARTTLS) or "imaps" (implicit TLS)
  rt::Endpoint endpoint;
};

struct ReceivedMessage {
  std::string queue_id;
  std::string mail_from;                // "a@b", "" for <>
  std::vector<std::string> recipients;  // "local@domain" as given in RCPT
  std::string content;                  // as received (before our Return-Path:/Received:)
  std::string reply;                    // "250 2.0.0 Ok: queued as ..."
};

class EmbeddedServer {
 public:
  explicit EmbeddedServer(app::AppConfig config);
  ~EmbeddedServer();  // stop() if running
  EmbeddedServer(const EmbeddedServer&) = delete;
  EmbeddedServer& operator=(const EmbeddedServer&) = delete;

  // Starts the thread; returns once the server listens. Throws BindingError when startup
  // fails (port taken, data dir unusable) or takes longer than `timeout` (wall clock).
  void start(std::chrono::milliseconds timeout);
  // Graceful shutdown (sessions get `grace` to finish), then joins the thread. Idempotent.
  void stop(Duration grace);
  bool running() const;

  const app::AppConfig& config() const noexcept { return config_; }
  std::vector<rt::Endpoint> endpoints() const;
  std::vector<ImapEndpoint> imap_endpoints() const;  // empty without [imap]
  std::vector<ImapEndpoint> pop3_endpoints() const;  // kind "pop3" / "pop3s"; empty without [pop3]
  std::vector<ImapEndpoint> http_endpoints() const;  // kind "http" / "https"; empty without [http]
  std::vector<ReceivedMessage> received() const;
  // Waits (wall clock, no GIL needed) until at least `count` messages were received.
  bool wait_received(std::size_t count, std::chrono::milliseconds timeout) const;

  // A user's folders (or one) through the running server's store (store_view.h), read by a
  // task on the server thread; waits at most `timeout` (wall clock). Throws BindingError:
  // not running, unknown user or folder, timeout.
  std::vector<StoreFolderView> store_folders(const std::string& user, std::optional<std::string> folder, bool bodies,
                                             std::chrono::milliseconds timeout) const;

  struct Shared;  // state shared with the server thread

 private:
  void thread_main();

  app::AppConfig config_;
  std::shared_ptr<Shared> shared_;
  std::thread thread_;
};

}  // namespace mail::py
