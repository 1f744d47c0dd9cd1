// EmbeddedServer: the production server (node::MailServer on io::AsioEnv: the assembly
// `cloudsdial serve` runs, TLS and AUTH included) running in-process on its own thread,
// for test suites that send real mail (the GreenMail use case). No pid file, no signal
// handling; start() waits until it listens, stop() shuts down gracefully and joins.
// Records every accepted message (envelope + content) for inspection. Free of pybind11.
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

namespace mail::py {

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
  std::vector<ReceivedMessage> received() const;
  // Waits (wall clock, no GIL needed) until at least `count` messages were received.
  bool wait_received(std::size_t count, std::chrono::milliseconds timeout) const;

  struct Shared;  // state shared with the server thread

 private:
  void thread_main();

  app::AppConfig config_;
  std::shared_ptr<Shared> shared_;
  std::thread thread_;
};

}  // namespace mail::py
