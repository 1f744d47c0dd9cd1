// SimNet implementation. Invariants: completions are only ever invoked from events the
// World runs (never inside an initiating call, never inline from another host's event);
// a host's completions are tagged with that host so a crash drops them uncalled; packet
// delivery events belong to no host and re-check the connection state when they run.
#include "sim_net.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "sim_env.h"

namespace mail::sim {

struct Network::ListenerState {
  HostId host = 0;
  rt::Endpoint at;
  std::deque<std::shared_ptr<Conn>> backlog;
  rt::Completion<std::unique_ptr<rt::Stream>> accept;  // parked accept, if any
  bool closed = false;
};

struct Network::ConnectOp {
  std::uint64_t id = 0;
  HostId from = 0;
  rt::Endpoint to;
  Instant give_up_at{};
  rt::Completion<std::unique_ptr<rt::Stream>> done;
  EventHandle attempt;
  EventHandle timer;
};

namespace {

struct Segment {
  std::string bytes;
  Instant due{};
  bool fin = false;
  bool rst = false;
};

struct Pipe {  // one direction: side i -> side 1-i
  std::deque<Segment> flight;
  std::uint64_t flight_bytes = 0;
  EventHandle head;
  Instant last_due{};
  bool retransmitting = false;
  Instant retransmit_since{};
  std::string rx;             // delivered to the receiver, unread
  bool fin_queued = false;    // the sender will send nothing more
  bool fin_received = false;  // the receiver reads eof once rx is drained
  bool rst_queued = false;
  std::uint64_t sent = 0;     // data bytes queued so far
  std::uint64_t reset_at = UINT64_MAX;
};

struct PendingRead {
  std::span<std::byte> into;
  rt::Completion<std::size_t> done;
  EventHandle timer;
};

struct PendingWrite {
  std::span<const std::byte> bytes;
  std::size_t off = 0;
  rt::Completion<void> done;
  EventHandle timer;
};

struct Side {
  HostId host = 0;
  rt::Endpoint local;
  std::optional<PendingRead> read;
  std::optional<PendingWrite> write;
  bool closed = false;             // close() called or the Stream destroyed
  bool gone = false;               // its host crashed: never call its completions
  bool shutdown_requested = false;
};

}  // namespace

struct Network::Conn {
  std::uint64_t id = 0;
  Side side[2];  // 0 = client (connected), 1 = server (accepted)
  Pipe pipe[2];  // pipe[i] carries side i's bytes to side 1-i
  bool reset = false;
  bool forgotten = false;
};

namespace {

class SimStream final : public rt::Stream {
 public:
  SimStream(Network& net, std::shared_ptr<Network::Conn> c, int side) : net_(net), c_(std::move(c)), side_(side) {}
  ~SimStream() override { net_.close(c_, side_, /*call_pending=*/false); }
  void async_read_some(std::span<std::byte> into, Instant deadline, rt::Completion<std::size_t> done) override {
    net_.read(c_, side_, into, deadline, std::move(done));
  }
  void async_write_all(std::span<const std::byte> bytes, Instant deadline, rt::Completion<void> done) override {
    net_.write(c_, side_, bytes, deadline, std::move(done));
  }
  void shutdown_send() override { net_.shutdown_send(c_, side_); }
  void close() override { net_.close(c_, side_, /*call_pending=*/true); }
  rt::Endpoint local_endpoint() const override;
  rt::Endpoint remote_endpoint() const override;

 private:
  Network& net_;
  std::shared_ptr<Network::Conn> c_;
  int side_;
};

class SimListener final : public rt::Listener {
 public:
  SimListener(Network& net, std::shared_ptr<Network::ListenerState> l) : net_(net), l_(std::move(l)) {}
  ~SimListener() override { net_.close_listener(l_, /*call_pending=*/false); }
  void async_accept(rt::Completion<std::unique_ptr<rt::Stream>> done) override { net_.accept(l_, std::move(done)); }
  rt::Endpoint local_endpoint() const override;
  void close() override { net_.close_listener(l_, /*call_pending=*/true); }

 private:
  Network& net_;
  std::shared_ptr<Network::ListenerState> l_;
};

rt::Endpoint SimStream::local_endpoint() const { return c_->side[side_].local; }
rt::Endpoint SimStream::remote_endpoint() const { return c_->side[1 - side_].local; }
rt::Endpoint SimListener::local_endpoint() const { return l_->at; }

bool is_any_address(std::string_view a) { return a.empty() || a == "0.0.0.0" || a == "::" || a == "*"; }

}  // namespace

// ============================================================================ setup

Network::Network(World& world, NetConfig config)
    : world_(world),
      config_(std::move(config)),
      latency_rng_(world.fork("net.latency")),
      split_rng_(world.fork("net.split")),
      fault_rng_(world.fork("net.faults")),
      loss_rng_(world.fork("net.loss")) {}

Network::~Network() = default;

void Network::add_host(HostId id, std::string address) {
  MAIL_ASSERT(host_of_.count(address) == 0);
  host_of_.emplace(address, id);
  address_of_.emplace(id, std::move(address));
}

std::optional<HostId> Network::host_at(std::string_view address) const {
  auto it = host_of_.find(address);
  if (it == host_of_.end()) return std::nullopt;
  return it->second;
}

// ============================================================================ partitions

void Network::partition(HostId a, HostId b) {
  partition_one_way(a, b);
  partition_one_way(b, a);
}

void Network::partition_one_way(HostId from, HostId to) {
  if (blocked_.emplace(from, to).second) {
    world_.record(kWorldHost, "net.partition",
                  std::string(world_.host_name(from)) + " -x-> " + std::string(world_.host_name(to)));
  }
}

void Network::isolate(HostId h) {
  for (const auto& [id, addr] : address_of_) {
    if (id != h) partition(h, id);
  }
}

void Network::heal(HostId a, HostId b) {
  const std::size_t n = blocked_.erase({a, b}) + blocked_.erase({b, a});
  if (n != 0) {
    world_.record(kWorldHost, "net.heal", std::string(world_.host_name(a)) + " <-> " + std::string(world_.host_name(b)));
  }
}

void Network::heal_all() {
  if (blocked_.empty()) return;
  blocked_.clear();
  world_.record(kWorldHost, "net.heal", "all");
}

bool Network::blocked(HostId from, HostId to) const { return from != to && blocked_.count({from, to}) != 0; }

// ============================================================================ links

namespace {
std::pair<HostId, HostId> link_key(HostId a, HostId b) { return {std::min(a, b), std::max(a, b)}; }
}  // namespace

void Network::set_link(HostId a, HostId b, LinkConfig link) {
  MAIL_ASSERT(a != b);
  MAIL_ASSERT(link.loss_ppm <= 1'000'000);
  MAIL_ASSERT(!link.latency || link.latency->min <= link.latency->max);
  std::string what = std::string(world_.host_name(a)) + " <-> " + std::string(world_.host_name(b));
  if (link.latency) {
    what += " latency=" + std::to_string(link.latency->min.count()) + ".." + std::to_string(link.latency->max.count()) +
            "us";
  }
  what += " loss_ppm=" + std::to_string(link.loss_ppm);
  links_[link_key(a, b)] = std::move(link);
  world_.record(kWorldHost, "net.link", what);
}

void Network::clear_link(HostId a, HostId b) {
  if (links_.erase(link_key(a, b)) != 0) {
    world_.record(kWorldHost, "net.link",
                  std::string(world_.host_name(a)) + " <-> " + std::string(world_.host_name(b)) + " cleared");
  }
}

void Network::clear_links() {
  if (links_.empty()) return;
  links_.clear();
  world_.record(kWorldHost, "net.link", "all cleared");
}

const LinkConfig* Network::link(HostId a, HostId b) const {
  auto it = links_.find(link_key(a, b));
  return it == links_.end() ? nullptr : &it->second;
}

// Without links these draw exactly what they drew before links existed (same fork, same
// order), so seeds that configure none keep their traces.
Duration Network::one_way_latency(HostId from, HostId to) {
  const LinkConfig* l = links_.empty() ? nullptr : link(from, to);
  if (l != nullptr && l->latency) return l->latency->sample(latency_rng_);
  return config_.latency.sample(latency_rng_);
}

bool Network::lost(HostId from, HostId to) {
  if (links_.empty() || from == to) return false;
  const LinkConfig* l = link(from, to);
  if (l == nullptr || l->loss_ppm == 0 || !loss_rng_.chance_ppm(l->loss_ppm)) return false;
  ++losses_;
  return true;
}

// ============================================================================ listen / accept

Result<std::unique_ptr<rt::Listener>> Network::listen(HostId host, const rt::Endpoint& at) {
  // Checked before anything is recorded or drawn, so refusing one changes no digest.
  if (rt::is_unix_endpoint(at)) return fail(Errc::unsupported, "the simulated network has no Unix domain sockets");
  const std::string& own = address_of_.at(host);
  if (!is_any_address(at.address) && at.address != own) return fail(Errc::invalid, "not this host's address");
  std::uint16_t port = at.port;
  if (port == 0) {
    auto& next = next_port_.try_emplace(host, std::uint16_t{40000}).first->second;
    while (listeners_.count({own, next}) != 0) ++next;
    port = next++;
  }
  if (listeners_.count({own, port}) != 0) return fail(Errc::exists, "address in use");
  auto l = std::make_shared<ListenerState>();
  l->host = host;
  l->at = rt::Endpoint{own, port};
  listeners_.emplace(std::pair<std::string, std::uint16_t>(own, port), l);
  world_.record(host, "net.listen", l->at.to_string());
  return std::unique_ptr<rt::Listener>(std::make_unique<SimListener>(*this, std::move(l)));
}

void Network::accept(const std::shared_ptr<ListenerState>& l, rt::Completion<std::unique_ptr<rt::Stream>> done) {
  MAIL_ASSERT(done);
  MAIL_ASSERT(!l->accept);  // one accept at a time
  if (l->closed) {
    world_.schedule_at(world_.now(), l->host,
                       [done = std::move(done)]() mutable { done(fail(Errc::canceled, "listener closed")); });
    return;
  }
  if (!l->backlog.empty()) {
    auto c = std::move(l->backlog.front());
    l->backlog.pop_front();
    std::unique_ptr<rt::Stream> s = std::make_unique<SimStream>(*this, c, 1);
    world_.record(l->host, "net.accept", conn_tag(*c, 1));
    world_.schedule_at(world_.now(), l->host, [done = std::move(done), s = std::move(s)]() mutable { done(std::move(s)); });
    return;
  }
  l->accept = std::move(done);
}

void Network::close_listener(const std::shared_ptr<ListenerState>& l, bool call_pending) {
  if (l->closed) return;
  l->closed = true;
  auto it = listeners_.find({l->at.address, l->at.port});
  if (it != listeners_.end() && it->second == l) listeners_.erase(it);
  world_.record(l->host, "net.unlisten", l->at.to_string());
  if (l->accept) {
    auto done = std::move(l->accept);
    l->accept = nullptr;
    if (call_pending) {
      world_.schedule_at(world_.now(), l->host,
                         [done = std::move(done)]() mutable { done(fail(Errc::canceled, "listener closed")); });
    }
  }
  // Connections the application never accepted are refused by the kernel: RST.
  auto backlog = std::move(l->backlog);
  l->backlog.clear();
  for (auto& c : backlog) {
    c->side[1].closed = true;
    enqueue_control(c, 1, false, true);
  }
}

// ============================================================================ connect

void Network::connect(HostId from, const rt::Endpoint& to, Instant deadline,
                      rt::Completion<std::unique_ptr<rt::Stream>> done) {
  MAIL_ASSERT(done);
  if (rt::is_unix_endpoint(to)) {
    // Refused before anything is recorded or drawn; completes later, as every completion.
    world_.schedule_at(world_.now(), from, [done = std::move(done)]() mutable {
      done(fail(Errc::unsupported, "the simulated network has no Unix domain sockets"));
    });
    return;
  }
  auto op = std::make_shared<ConnectOp>();
  op->id = next_op_id_++;
  op->from = from;
  op->to = to;
  op->done = std::move(done);
  // Without a deadline the kernel still gives up (Linux: ~2 min of SYN retries).
  op->give_up_at = world_.now() + 2min;
  if (deadline != instant_max()) {
    const Instant at = world_.to_world_time(from, deadline);
    op->timer = world_.schedule_at(at, from, [this, op]() {
      op->timer = {};
      finish_connect(op, fail(Errc::timeout, "connect timed out"), Duration(0));
    });
  }
  connecting_.emplace(op->id, op);
  world_.record(from, "net.connect", "op=" + std::to_string(op->id) + " to=" + to.to_string());
  const std::optional<HostId> dst = host_at(to.address);
  const Duration syn = dst ? one_way_latency(from, *dst) : config_.latency.sample(latency_rng_);
  op->attempt = world_.schedule_after(syn, kWorldHost, [this, op]() {
    op->attempt = {};
    attempt(op);
  });
}

void Network::attempt(const std::shared_ptr<ConnectOp>& op) {
  if (connecting_.count(op->id) == 0) return;
  const auto retry = [this, &op]() {
    if (world_.now() + config_.syn_retry > op->give_up_at) {
      op->attempt = world_.schedule_at(op->give_up_at, kWorldHost, [this, op]() {
        op->attempt = {};
        finish_connect(op, fail(Errc::timeout, "connect: no answer"), Duration(0));
      });
      return;
    }
    op->attempt = world_.schedule_after(config_.syn_retry, kWorldHost, [this, op]() {
      op->attempt = {};
      attempt(op);
    });
  };
  const std::optional<HostId> dst = host_at(op->to.address);
  if (!dst || blocked(op->from, *dst) || blocked(*dst, op->from)) return retry();  // SYN or SYN-ACK lost
  if (lost(op->from, *dst) || lost(*dst, op->from)) {
    world_.record(kWorldHost, "net.loss", "op=" + std::to_string(op->id) + " syn");
    return retry();
  }
  const Duration back = one_way_latency(*dst, op->from);
  auto lit = listeners_.find({op->to.address, op->to.port});
  if (!world_.host_up(*dst) || lit == listeners_.end()) {
    finish_connect(op, fail(Errc::refused, "connection refused"), back);
    return;
  }
  auto& l = lit->second;
  if (l->backlog.size() >= config_.backlog_max) return retry();  // SYN dropped
  auto c = std::make_shared<Conn>();
  c->id = next_conn_id_++;
  auto& port = next_port_.try_emplace(op->from, std::uint16_t{40000}).first->second;
  c->side[0].host = op->from;
  c->side[0].local = rt::Endpoint{address_of_.at(op->from), port++};
  c->side[1].host = *dst;
  c->side[1].local = l->at;
  if (config_.reset_ppm != 0 && fault_rng_.chance_ppm(config_.reset_ppm)) {
    const int dir = static_cast<int>(fault_rng_.below(2));
    c->pipe[dir].reset_at = fault_rng_.between(0, config_.reset_offset_max);
    world_.record(kWorldHost, "net.fault",
                  "c=" + std::to_string(c->id) + " rst-after dir=" + std::to_string(dir) + " at=" +
                      std::to_string(c->pipe[dir].reset_at));
  }
  conns_.emplace(c->id, c);
  world_.record(*dst, "net.syn", conn_tag(*c, 1));
  if (l->accept) {
    auto done = std::move(l->accept);
    l->accept = nullptr;
    std::unique_ptr<rt::Stream> s = std::make_unique<SimStream>(*this, c, 1);
    world_.record(l->host, "net.accept", conn_tag(*c, 1));
    world_.schedule_at(world_.now(), l->host, [done = std::move(done), s = std::move(s)]() mutable { done(std::move(s)); });
  } else {
    l->backlog.push_back(c);
  }
  finish_connect(op, std::unique_ptr<rt::Stream>(std::make_unique<SimStream>(*this, c, 0)), back);
}

void Network::finish_connect(const std::shared_ptr<ConnectOp>& op, Result<std::unique_ptr<rt::Stream>> r,
                             Duration delay) {
  if (connecting_.erase(op->id) == 0) return;
  world_.cancel(op->attempt);
  world_.cancel(op->timer);
  world_.record(op->from, "net.connected",
                "op=" + std::to_string(op->id) + " " + (r.ok() ? std::string("ok") : std::string(to_string(r.code()))));
  world_.schedule_after(delay, op->from, [done = std::move(op->done), r = std::move(r)]() mutable { done(std::move(r)); });
}

// ============================================================================ streams

std::string Network::conn_tag(const Conn& c, int side) const {
  return "c=" + std::to_string(c.id) + " " + c.side[side].local.to_string() + (side == 0 ? ">" : "<") +
         c.side[1 - side].local.to_string();
}

void Network::complete_read(Conn& c, int side, Result<std::size_t> r) {
  Side& sd = c.side[side];
  MAIL_ASSERT(sd.read.has_value());
  PendingRead pr = std::move(*sd.read);
  sd.read.reset();
  world_.cancel(pr.timer);
  world_.schedule_at(world_.now(), sd.host, [done = std::move(pr.done), r = std::move(r)]() mutable { done(std::move(r)); });
}

void Network::complete_write(Conn& c, int side, Status r) {
  Side& sd = c.side[side];
  MAIL_ASSERT(sd.write.has_value());
  PendingWrite pw = std::move(*sd.write);
  sd.write.reset();
  world_.cancel(pw.timer);
  world_.schedule_at(world_.now(), sd.host, [done = std::move(pw.done), r = std::move(r)]() mutable { done(std::move(r)); });
}

void Network::read(const std::shared_ptr<Conn>& c, int side, std::span<std::byte> into, Instant deadline,
                   rt::Completion<std::size_t> done) {
  MAIL_ASSERT(done);
  MAIL_ASSERT(!into.empty());
  Side& sd = c->side[side];
  MAIL_ASSERT(!sd.read.has_value());  // one read at a time
  MAIL_ASSERT(!sd.gone);
  sd.read.emplace(PendingRead{into, std::move(done), {}});
  if (sd.closed) return complete_read(*c, side, fail(Errc::canceled, "stream closed"));
  try_read(c, side);
  if (sd.read && deadline != instant_max()) {
    sd.read->timer = world_.schedule_at(world_.to_world_time(sd.host, deadline), sd.host, [c, side]() {
      Side& s = c->side[side];
      if (!s.read) return;
      s.read->timer = {};
      auto pr = std::move(*s.read);
      s.read.reset();
      pr.done(fail(Errc::timeout, "read deadline"));
    });
  }
}

void Network::try_read(const std::shared_ptr<Conn>& c, int side) {
  Side& sd = c->side[side];
  if (!sd.read || sd.gone) return;
  Pipe& in = c->pipe[1 - side];
  if (c->reset) return complete_read(*c, side, fail(Errc::reset, "connection reset"));
  if (!in.rx.empty()) {
    const std::size_t n = std::min(in.rx.size(), sd.read->into.size());
    std::memcpy(sd.read->into.data(), in.rx.data(), n);
    in.rx.erase(0, n);
    complete_read(*c, side, n);
    pump(c, 1 - side);  // the window opened
    return;
  }
  if (in.fin_received) complete_read(*c, side, fail(Errc::eof, "end of stream"));
}

void Network::write(const std::shared_ptr<Conn>& c, int side, std::span<const std::byte> bytes, Instant deadline,
                    rt::Completion<void> done) {
  MAIL_ASSERT(done);
  Side& sd = c->side[side];
  MAIL_ASSERT(!sd.write.has_value());  // one write at a time
  MAIL_ASSERT(!sd.gone);
  sd.write.emplace(PendingWrite{bytes, 0, std::move(done), {}});
  if (sd.closed) return complete_write(*c, side, fail(Errc::canceled, "stream closed"));
  if (c->reset) return complete_write(*c, side, fail(Errc::reset, "connection reset"));
  if (sd.shutdown_requested) return complete_write(*c, side, fail(Errc::reset, "write after shutdown (EPIPE)"));
  world_.record(sd.host, "net.write",
                conn_tag(*c, side) + " len=" + std::to_string(bytes.size()) + " h=" +
                    hex64(content_hash(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()))));
  if (write_observer_) {
    write_observer_(sd.host, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  }
  pump(c, side);
  if (sd.write && deadline != instant_max()) {
    sd.write->timer = world_.schedule_at(world_.to_world_time(sd.host, deadline), sd.host, [c, side]() {
      Side& s = c->side[side];
      if (!s.write) return;
      s.write->timer = {};
      auto pw = std::move(*s.write);
      s.write.reset();
      pw.done(fail(Errc::timeout, "write deadline"));
    });
  }
}

void Network::pump(const std::shared_ptr<Conn>& c, int side) {
  Side& sd = c->side[side];
  Pipe& p = c->pipe[side];
  if (c->reset || sd.gone) return;
  if (sd.write) {
    PendingWrite& w = *sd.write;
    const std::uint64_t used = p.flight_bytes + p.rx.size();
    std::uint64_t cap = used >= config_.window_bytes ? 0 : config_.window_bytes - used;
    while (w.off < w.bytes.size() && cap > 0 && !p.rst_queued) {
      std::uint64_t n = std::min<std::uint64_t>(cap, w.bytes.size() - w.off);
      const bool tear = p.sent + n >= p.reset_at;
      if (tear) n = p.reset_at - p.sent;
      enqueue_data(*c, side, std::string_view(reinterpret_cast<const char*>(w.bytes.data()) + w.off, n));
      w.off += n;
      cap -= n;
      if (tear) {
        world_.record(kWorldHost, "net.rst", conn_tag(*c, side) + " at=" + std::to_string(p.reset_at));
        enqueue_control(c, side, false, true);
      }
    }
    // A torn connection fails the write when the RST arrives (reset_conn).
    if (w.off == w.bytes.size() && !p.rst_queued) complete_write(*c, side, Status{});
  }
  if (!sd.write && sd.shutdown_requested && !p.fin_queued) enqueue_control(c, side, true, false);
  if (!p.flight.empty() && !p.head) schedule_head(c, side);
}

void Network::enqueue_data(Conn& c, int side, std::string_view data) {
  Pipe& p = c.pipe[side];
  if (data.empty()) return;
  // Cut points: a short write may go out byte by byte; others at a few random points;
  // every piece is further cut at the MSS.
  std::vector<std::size_t> cuts;
  if (data.size() <= 256 && data.size() > 1 && config_.bytewise_ppm != 0 && split_rng_.chance_ppm(config_.bytewise_ppm)) {
    for (std::size_t i = 1; i < data.size(); ++i) cuts.push_back(i);
  } else if (data.size() > 1 && config_.split_ppm != 0 && split_rng_.chance_ppm(config_.split_ppm)) {
    const std::uint64_t k = split_rng_.between(1, std::min<std::uint64_t>(8, data.size() - 1));
    for (std::uint64_t i = 0; i < k; ++i) cuts.push_back(static_cast<std::size_t>(split_rng_.between(1, data.size() - 1)));
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  }
  cuts.push_back(data.size());
  std::size_t start = 0;
  for (const std::size_t end : cuts) {
    while (start < end) {
      const std::size_t n = std::min<std::size_t>(end - start, config_.segment_bytes_max);
      Segment seg;
      seg.bytes.assign(data.substr(start, n));
      Duration delay = one_way_latency(c.side[side].host, c.side[1 - side].host);
      if (config_.stall_ppm != 0 && fault_rng_.chance_ppm(config_.stall_ppm)) delay += config_.stall.sample(fault_rng_);
      seg.due = std::max(world_.now() + delay, p.last_due);
      p.last_due = seg.due;
      p.flight_bytes += n;
      p.sent += n;
      p.flight.push_back(std::move(seg));
      start += n;
    }
  }
}

void Network::enqueue_control(const std::shared_ptr<Conn>& c, int side, bool fin, bool rst) {
  Pipe& p = c->pipe[side];
  if (c->reset) return;
  if (fin && p.fin_queued) return;
  if (rst && p.rst_queued) return;
  Segment seg;
  seg.fin = fin;
  seg.rst = rst;
  seg.due = std::max(world_.now() + one_way_latency(c->side[side].host, c->side[1 - side].host), p.last_due);
  p.last_due = seg.due;
  p.fin_queued = p.fin_queued || fin || rst;
  p.rst_queued = p.rst_queued || rst;
  p.flight.push_back(std::move(seg));
  if (!p.head) schedule_head(c, side);
}

void Network::schedule_head(const std::shared_ptr<Conn>& c, int pipe) {
  Pipe& p = c->pipe[pipe];
  MAIL_ASSERT(!p.head);
  MAIL_ASSERT(!p.flight.empty());
  p.head = world_.schedule_at(std::max(p.flight.front().due, world_.now()), kWorldHost, [this, c, pipe]() {
    c->pipe[pipe].head = {};
    deliver_head(c, pipe);
  });
}

void Network::deliver_head(const std::shared_ptr<Conn>& c, int pipe) {
  Pipe& p = c->pipe[pipe];
  if (c->reset || p.flight.empty()) return;
  const int dst = 1 - pipe;
  if (blocked(c->side[pipe].host, c->side[dst].host)) return retransmit_head(c, pipe);
  if (lost(c->side[pipe].host, c->side[dst].host)) {
    world_.record(kWorldHost, "net.loss", conn_tag(*c, pipe));
    return retransmit_head(c, pipe);
  }
  p.retransmitting = false;
  Segment seg = std::move(p.flight.front());
  p.flight.pop_front();
  p.flight_bytes -= seg.bytes.size();
  Side& to = c->side[dst];
  if (seg.rst) return reset_conn(c, "rst");
  if (seg.fin) {
    p.fin_received = true;
    world_.record(to.host, "net.fin", conn_tag(*c, dst));
    try_read(c, dst);
  } else if (to.closed) {
    // Data for a socket that no longer exists: the kernel answers with RST.
    return reset_conn(c, "data after close");
  } else {
    p.rx.append(seg.bytes);
    try_read(c, dst);
  }
  if (!p.flight.empty() && !p.head) schedule_head(c, pipe);
  maybe_forget(c);
}

// The head segment did not arrive (partition or loss): it goes again after `retransmit`;
// the segments behind it wait, so order and exactly-once delivery hold.
void Network::retransmit_head(const std::shared_ptr<Conn>& c, int pipe) {
  Pipe& p = c->pipe[pipe];
  if (!p.retransmitting) {
    p.retransmitting = true;
    p.retransmit_since = world_.now();
  }
  if (world_.now() - p.retransmit_since > config_.give_up) return reset_conn(c, "retransmission timeout");
  p.flight.front().due = world_.now() + config_.retransmit;
  schedule_head(c, pipe);
}

void Network::reset_conn(const std::shared_ptr<Conn>& c, std::string_view why) {
  if (c->reset) return;
  c->reset = true;
  world_.record(kWorldHost, "net.reset", "c=" + std::to_string(c->id) + " " + std::string(why));
  for (int i = 0; i < 2; ++i) {
    Pipe& p = c->pipe[i];
    world_.cancel(p.head);
    p.flight.clear();
    p.flight_bytes = 0;
    p.rx.clear();
  }
  for (int i = 0; i < 2; ++i) {
    Side& sd = c->side[i];
    if (sd.gone) continue;
    if (sd.read) complete_read(*c, i, fail(Errc::reset, "connection reset"));
    if (sd.write) complete_write(*c, i, fail(Errc::reset, "connection reset"));
  }
  maybe_forget(c);
}

void Network::shutdown_send(const std::shared_ptr<Conn>& c, int side) {
  Side& sd = c->side[side];
  if (sd.gone || sd.closed || sd.shutdown_requested) return;
  sd.shutdown_requested = true;
  world_.record(sd.host, "net.shutdown", conn_tag(*c, side));
  pump(c, side);
}

void Network::close(const std::shared_ptr<Conn>& c, int side, bool call_pending) {
  Side& sd = c->side[side];
  if (sd.closed) return;
  sd.closed = true;
  if (!sd.gone) world_.record(sd.host, "net.close", conn_tag(*c, side));
  if (sd.read) {
    if (call_pending && !sd.gone) {
      complete_read(*c, side, fail(Errc::canceled, "stream closed"));
    } else {
      world_.cancel(sd.read->timer);
      sd.read.reset();
    }
  }
  if (sd.write) {
    if (call_pending && !sd.gone) {
      complete_write(*c, side, fail(Errc::canceled, "stream closed"));
    } else {
      world_.cancel(sd.write->timer);
      sd.write.reset();
    }
  }
  if (!c->reset && !sd.gone) {
    // Unread data at close makes the kernel send RST instead of FIN (RFC 2525 §2.17).
    if (!c->pipe[1 - side].rx.empty()) {
      enqueue_control(c, side, false, true);
    } else {
      enqueue_control(c, side, true, false);
    }
  }
  maybe_forget(c);
}

void Network::maybe_forget(const std::shared_ptr<Conn>& c) {
  if (c->forgotten) return;
  const bool done0 = c->side[0].closed || c->side[0].gone;
  const bool done1 = c->side[1].closed || c->side[1].gone;
  if (!(done0 && done1)) return;
  if (!c->reset && (!c->pipe[0].flight.empty() || !c->pipe[1].flight.empty())) return;  // FIN/RST still on the wire
  c->forgotten = true;
  conns_.erase(c->id);
}

// ============================================================================ faults

std::vector<Network::ConnInfo> Network::connections() const {
  std::vector<ConnInfo> out;
  for (const auto& [id, c] : conns_) {
    ConnInfo info;
    info.id = id;
    info.client = c->side[0].host;
    info.server = c->side[1].host;
    info.client_ep = c->side[0].local;
    info.server_ep = c->side[1].local;
    for (int i = 0; i < 2; ++i) {
      info.bytes[i] = c->pipe[i].sent;
      info.unread[i] = c->pipe[1 - i].rx.size();
      info.closed[i] = c->side[i].closed;
    }
    info.reset = c->reset;
    out.push_back(std::move(info));
  }
  return out;
}

void Network::reset_connection(std::uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  auto c = it->second;
  reset_conn(c, "injected");
}

void Network::reset_after(std::uint64_t id, bool from_client, std::uint64_t offset) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  auto c = it->second;
  const int side = from_client ? 0 : 1;
  c->pipe[side].reset_at = std::max(offset, c->pipe[side].sent);
  world_.record(kWorldHost, "net.fault",
                "c=" + std::to_string(id) + " rst-after dir=" + std::to_string(side) + " at=" +
                    std::to_string(c->pipe[side].reset_at));
  pump(c, side);
}

void Network::on_host_crash(HostId h) {
  // Listeners vanish with their pending accept (its frame is about to be destroyed).
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    auto l = it->second;
    ++it;
    if (l->host != h) continue;
    l->accept = nullptr;
    close_listener(l, /*call_pending=*/false);
  }
  // Outgoing connects die silently.
  for (auto it = connecting_.begin(); it != connecting_.end();) {
    auto op = it->second;
    if (op->from != h) {
      ++it;
      continue;
    }
    it = connecting_.erase(it);
    world_.cancel(op->attempt);
    world_.cancel(op->timer);
    op->done = nullptr;
  }
  // The crashed side of every connection disappears: its completions are destroyed
  // uncalled; the peer sees RST (or, without crash_sends_reset, silence until it sends).
  std::vector<std::shared_ptr<Conn>> affected;
  for (const auto& [id, c] : conns_) {
    if (c->side[0].host == h || c->side[1].host == h) affected.push_back(c);
  }
  for (auto& c : affected) {
    for (int i = 0; i < 2; ++i) {
      Side& sd = c->side[i];
      if (sd.host != h || sd.gone) continue;
      sd.gone = true;
      sd.closed = true;
      if (sd.read) {
        world_.cancel(sd.read->timer);
        sd.read.reset();
      }
      if (sd.write) {
        world_.cancel(sd.write->timer);
        sd.write.reset();
      }
      if (!c->reset && !c->side[1 - i].gone && config_.crash_sends_reset) {
        Pipe& p = c->pipe[i];
        p.flight.clear();  // unsent data dies with the host
        p.flight_bytes = 0;
        world_.cancel(p.head);
        p.last_due = world_.now();
        p.rst_queued = false;
        enqueue_control(c, i, false, true);
      }
    }
    if (c->side[0].gone && c->side[1].gone) reset_conn(c, "both ends crashed");
    maybe_forget(c);
  }
}

}  // namespace mail::sim
