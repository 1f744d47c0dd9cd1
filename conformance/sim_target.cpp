// --target sim: our SMTP server (node::SmtpServer, LocalDelivery, MaildirStore — the
// production services, wired by sim::mail_server_boot) on a simulated host of a
// deterministic sim::World (seed 1), reached over SimNet from a client host. The runner's
// blocking Connection calls become "start the operation, run the World until it
// completes": a reply timeout is virtual time, so `s: none 500` costs microseconds.
// Network segmentation and latency stay on (the runner must reassemble replies).
#include <array>
#include <memory>
#include <optional>

#include "runtime/env.h"
#include "simulator/mail_host.h"
#include "simulator/sim_env.h"
#include "simulator/world.h"
#include "targets.h"

namespace mail::conformance {
namespace {

constexpr std::string_view kServerAddress = "10.0.0.1";
constexpr std::uint16_t kSmtpPort = 25;

// Runs `world` until `done()` or `limit` of virtual time passed.
bool run_until(sim::World& world, const std::function<bool()>& done, Duration limit) {
  const auto status = world.run_until(done, limit, 50'000'000);
  return done() || status == sim::RunStatus::predicate;
}

class SimConnection final : public Connection {
 public:
  SimConnection(sim::World& world, sim::HostId client, std::unique_ptr<rt::Stream> stream)
      : world_(world), client_(client), stream_(std::move(stream)) {}
  ~SimConnection() override {
    stream_->close();
    // Let the server see the close (it may write its log, drop the session).
    (void)world_.run_for(std::chrono::seconds(1), 1'000'000);
  }
  SimConnection(const SimConnection&) = delete;
  SimConnection& operator=(const SimConnection&) = delete;

  bool send(std::string_view bytes, std::string& error) override {
    if (closed_) {
      error = "connection closed";
      return false;
    }
    out_ = std::string(bytes);  // alive until the write completes
    // The completion owns its slot: should the World outlive this call with the operation
    // pending, it writes into the shared slot, never into a dead stack frame.
    auto result = std::make_shared<std::optional<Status>>();
    const Instant deadline = world_.host_now(client_) + std::chrono::seconds(30);
    stream_->async_write_all(std::as_bytes(std::span<const char>(out_.data(), out_.size())), deadline,
                             [result](Status s) { *result = std::move(s); });
    if (!run_until(world_, [&] { return result->has_value(); }, std::chrono::seconds(60)) || !(*result)->ok()) {
      error = *result ? (*result)->error().detail : "write did not complete";
      closed_ = true;
      return false;
    }
    return true;
  }

  Recv recv(std::string& buf, std::chrono::milliseconds timeout) override {
    if (closed_) return Recv::eof;
    auto result = std::make_shared<std::optional<Result<std::size_t>>>();
    const Instant deadline = world_.host_now(client_) + std::chrono::duration_cast<Duration>(timeout);
    stream_->async_read_some(std::as_writable_bytes(std::span<char>(in_->data(), in_->size())), deadline,
                             [result, keep = in_](Result<std::size_t> r) { *result = std::move(r); });
    if (!run_until(world_, [&] { return result->has_value(); },
                   std::chrono::duration_cast<Duration>(timeout) + std::chrono::seconds(1))) {
      closed_ = true;  // the read is still pending (its buffer and slot stay alive with it)
      return Recv::error;
    }
    const auto& r = **result;
    if (r.ok()) {
      buf.append(in_->data(), r.value());
      return Recv::data;
    }
    if (r.error().code == Errc::timeout) return Recv::timeout;
    closed_ = true;
    return r.error().code == Errc::eof ? Recv::eof : Recv::error;
  }

 private:
  sim::World& world_;
  sim::HostId client_;
  std::unique_ptr<rt::Stream> stream_;
  std::string out_;
  std::shared_ptr<std::array<char, 16384>> in_ = std::make_shared<std::array<char, 16384>>();
  bool closed_ = false;
};

class SimTarget final : public Target {
 public:
  bool start(std::string& error) {
    sim::MailServerConfig config;
    config.directory.domains = {"example.test"};
    config.directory.users = {store::UserConfig{"demo", {"postmaster"}}};
    config.smtp_port = kSmtpPort;
    // As live_test.sh: errors are not slowed down (the delay is virtual, but a delayed
    // reply would arrive after an `s: none` window and make that check vacuous).
    config.limits.error_delay = Duration(0);
    server_ = world_.add_host(sim::HostConfig{"mx.example.test", std::string(kServerAddress), Duration(0), {}},
                              sim::mail_server_boot(config));
    client_ = world_.add_host(sim::HostConfig{"client.example.test", "10.0.0.2", Duration(0), {}},
                              [](sim::SimEnv&) -> std::shared_ptr<void> { return nullptr; });
    world_.boot(server_);
    world_.boot(client_);
    const auto ready = [&] {
      auto s = std::static_pointer_cast<sim::MailServerServices>(world_.services(server_));
      return s && s->ready();
    };
    if (!run_until(world_, ready, std::chrono::seconds(60))) {
      error = "the simulated server did not become ready";
      return false;
    }
    return true;
  }

  std::string describe() const override { return "sim (node::SmtpServer on a simulated host, seed 1)"; }

  std::unique_ptr<Connection> connect(std::string& error) override {
    auto result = std::make_shared<std::optional<Result<std::unique_ptr<rt::Stream>>>>();
    const Instant deadline = world_.host_now(client_) + std::chrono::seconds(10);
    world_.env(client_).net().async_connect(rt::Endpoint{std::string(kServerAddress), kSmtpPort}, deadline,
                                            [result](Result<std::unique_ptr<rt::Stream>> r) { *result = std::move(r); });
    if (!run_until(world_, [&] { return result->has_value(); }, std::chrono::seconds(20))) {
      error = "simulated connect did not complete";
      return nullptr;
    }
    if (!(*result)->ok()) {
      error = "simulated connect: " + (*result)->error().detail;
      return nullptr;
    }
    return std::make_unique<SimConnection>(world_, client_, std::move((*result)->value()));
  }

 private:
  sim::World world_{1};
  sim::HostId server_ = 0;
  sim::HostId client_ = 0;
};

}  // namespace

std::unique_ptr<Target> make_sim_smtp_target(std::string& error) {
  auto t = std::make_unique<SimTarget>();
  if (!t->start(error)) return nullptr;
  return t;
}

}  // namespace mail::conformance
