// SimNet: TCP-like byte streams between simulated hosts, addressed by address:port.
// Models: connect (refused when nothing listens, timeout when partitioned or nobody has
// the address), arbitrary segmentation of every write (down to 1 byte) delivered in order
// after a latency draw, stalls, flow control (a window per direction), RST at a chosen or
// random byte offset, half-close, close with unread data → RST, partitions with heal and
// per-link latency/loss (segments are retransmitted until delivered or `give_up` passes),
// read/write deadlines, host crashes (peers see RST). All randomness comes from the world
// seed's "net.*" forks. Network is world-wide; HostNet is one SimEnv's rt::Net.
// "unix:" endpoints (Unix domain sockets) are refused with Errc::unsupported.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/prng.h"
#include "runtime/env.h"
#include "sim_config.h"
#include "world.h"

namespace mail::sim {

// Settings of the link between two hosts (both directions), over the world-wide NetConfig.
struct LinkConfig {
  // Replaces NetConfig::latency for every segment (and SYN / SYN-ACK) between the two hosts;
  // stalls still apply on top.
  std::optional<Latency> latency;
  // Each transmission of a segment (data, FIN, RST) or of a SYN / SYN-ACK is lost with this
  // probability; a lost segment is retransmitted after NetConfig::retransmit (in order,
  // exactly once, as under a partition, and counting towards give_up), a lost SYN after
  // NetConfig::syn_retry. Drawn from the world seed's "net.loss" fork.
  std::uint32_t loss_ppm = 0;
};

class Network {
 public:
  Network(World& world, NetConfig config);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  NetConfig& config() noexcept { return config_; }

  void add_host(HostId id, std::string address);
  std::optional<HostId> host_at(std::string_view address) const;

  // ------------------------------------------------------------------ partitions
  void partition(HostId a, HostId b);             // both directions
  void partition_one_way(HostId from, HostId to);  // `from`'s packets to `to` are lost
  void isolate(HostId h);                          // from every other host, both ways
  void heal(HostId a, HostId b);                   // both directions
  void heal_all();  // partitions only: links (below) are not partitions and stay as set
  bool blocked(HostId from, HostId to) const;

  // ------------------------------------------------------------------ links
  // Applies to traffic between a and b in both directions, from the next segment or SYN
  // on (segments already in flight keep their due time). Replaces an earlier setting.
  void set_link(HostId a, HostId b, LinkConfig link);
  void clear_link(HostId a, HostId b);  // back to the world-wide NetConfig
  void clear_links();
  const LinkConfig* link(HostId a, HostId b) const;  // nullptr when not set
  std::uint64_t losses() const noexcept { return losses_; }  // segments and SYNs lost on links

  // ------------------------------------------------------------------ connection faults
  struct ConnInfo {
    std::uint64_t id = 0;
    HostId client = 0;
    HostId server = 0;
    rt::Endpoint client_ep;
    rt::Endpoint server_ep;
    std::uint64_t bytes[2] = {0, 0};     // sent so far by client [0] and server [1]
    std::uint64_t unread[2] = {0, 0};    // delivered to, not yet read by, client [0] / server [1]
    bool closed[2] = {false, false};
    bool reset = false;
  };
  std::vector<ConnInfo> connections() const;  // open ones, by id
  // Tears connection `id` down now (both sides see Errc::reset).
  void reset_connection(std::uint64_t id);
  // The connection is torn when side `from_client ? client : server` has sent `offset`
  // bytes in total (the receiver gets exactly that prefix, then RST).
  void reset_after(std::uint64_t id, bool from_client, std::uint64_t offset);
  // Called by World::crash before anything of the host is destroyed.
  void on_host_crash(HostId h);

  std::uint64_t connections_opened() const noexcept { return next_conn_id_ - 1; }

  // Sees every write as it is issued (fault injectors: "crash right after the 250").
  // Must not crash hosts inline: it schedules.
  using WriteObserver = std::function<void(HostId from, std::string_view bytes)>;
  void set_write_observer(WriteObserver observer) { write_observer_ = std::move(observer); }

  // ------------------------------------------------------------------ used by the facades
  struct Conn;
  struct ListenerState;
  struct ConnectOp;
  Result<std::unique_ptr<rt::Listener>> listen(HostId host, const rt::Endpoint& at);
  void connect(HostId from, const rt::Endpoint& to, Instant deadline, rt::Completion<std::unique_ptr<rt::Stream>> done);
  void accept(const std::shared_ptr<ListenerState>& l, rt::Completion<std::unique_ptr<rt::Stream>> done);
  void close_listener(const std::shared_ptr<ListenerState>& l, bool call_pending);
  void read(const std::shared_ptr<Conn>& c, int side, std::span<std::byte> into, Instant deadline,
            rt::Completion<std::size_t> done);
  void write(const std::shared_ptr<Conn>& c, int side, std::span<const std::byte> bytes, Instant deadline,
             rt::Completion<void> done);
  void shutdown_send(const std::shared_ptr<Conn>& c, int side);
  void close(const std::shared_ptr<Conn>& c, int side, bool call_pending);

 private:
  void attempt(const std::shared_ptr<ConnectOp>& op);
  void finish_connect(const std::shared_ptr<ConnectOp>& op, Result<std::unique_ptr<rt::Stream>> r, Duration delay);
  void enqueue_data(Conn& c, int side, std::string_view data);
  void enqueue_control(const std::shared_ptr<Conn>& c, int side, bool fin, bool rst);
  void schedule_head(const std::shared_ptr<Conn>& c, int pipe);
  void deliver_head(const std::shared_ptr<Conn>& c, int pipe);
  void try_read(const std::shared_ptr<Conn>& c, int side);
  void pump(const std::shared_ptr<Conn>& c, int side);
  void reset_conn(const std::shared_ptr<Conn>& c, std::string_view why);
  void complete_read(Conn& c, int side, Result<std::size_t> r);
  void complete_write(Conn& c, int side, Status r);
  void maybe_forget(const std::shared_ptr<Conn>& c);
  std::string conn_tag(const Conn& c, int side) const;
  Duration one_way_latency(HostId from, HostId to);  // the link's latency, else the world's
  bool lost(HostId from, HostId to);                  // a loss draw, only on lossy links
  void retransmit_head(const std::shared_ptr<Conn>& c, int pipe);

  World& world_;
  NetConfig config_;
  Prng latency_rng_;
  Prng split_rng_;
  Prng fault_rng_;
  Prng loss_rng_;
  std::map<HostId, std::string> address_of_;
  std::map<std::string, HostId, std::less<>> host_of_;
  std::set<std::pair<HostId, HostId>> blocked_;
  std::map<std::pair<HostId, HostId>, LinkConfig> links_;  // keyed by (min, max) host id
  std::map<std::pair<std::string, std::uint16_t>, std::shared_ptr<ListenerState>> listeners_;
  std::map<std::uint64_t, std::shared_ptr<Conn>> conns_;
  std::map<std::uint64_t, std::shared_ptr<ConnectOp>> connecting_;
  std::map<HostId, std::uint16_t> next_port_;
  std::uint64_t next_conn_id_ = 1;
  std::uint64_t next_op_id_ = 1;
  std::uint64_t losses_ = 0;
  WriteObserver write_observer_;
};

class HostNet final : public rt::Net {
 public:
  HostNet(Network& net, HostId host) : net_(net), host_(host) {}
  Result<std::unique_ptr<rt::Listener>> listen(const rt::Endpoint& at) override {
    auto l = net_.listen(host_, at);
    if (!l.ok() || !filter_) return l;
    return filter_(std::move(*l), at);
  }
  // Lets the simulator put a listener in front of what this host's services listen on (the
  // remote-MX personalities, personality_net.h). Unset: listen() is the Network's, as before.
  using ListenFilter = std::function<std::unique_ptr<rt::Listener>(std::unique_ptr<rt::Listener>, const rt::Endpoint&)>;
  void set_listen_filter(ListenFilter filter) { filter_ = std::move(filter); }
  void async_connect(const rt::Endpoint& to, Instant deadline, rt::Completion<std::unique_ptr<rt::Stream>> done) override {
    net_.connect(host_, to, deadline, std::move(done));
  }

 private:
  Network& net_;
  HostId host_;
  ListenFilter filter_;
};

}  // namespace mail::sim
