// Connection: one connection's driver loop around a DrivenSession (see header).
// Must not: touch Asio or the OS clock, hold more than the fixed read buffer plus what the
// session itself bounds, resume the session from inside a completion (everything goes
// through the Wakeup, so the session is only ever called from run()).
#include "node/connection.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <variant>

#include "core/assert.h"
#include "node/deflate_stream.h"
#include "node/tls_stream.h"
#include "runtime/await.h"
#include "runtime/buggify.h"

namespace mail::node {

std::string_view to_string(Connection::Phase phase) noexcept {
  switch (phase) {
    case Connection::Phase::handshake: return "handshake";
    case Connection::Phase::open: return "open";
    case Connection::Phase::starting_tls: return "starting_tls";
    case Connection::Phase::starting_compress: return "starting_compress";
    case Connection::Phase::closing: return "closing";
    case Connection::Phase::lingering: return "lingering";
  }
  return "invalid";
}

Connection::Connection(rt::Env& env, const ConnectionConfig& config, ConnectionCounters& counters,
                       SessionFactory& factory, std::unique_ptr<rt::Stream> stream, ConnectionInfo info,
                       std::string_view log_name, std::string_view kind_label, std::shared_ptr<tls::TlsContext> tls,
                       bool implicit_tls)
    : env_(env),
      config_(config),
      counters_(counters),
      factory_(factory),
      stream_(std::move(stream)),
      info_(std::move(info)),
      log_name_(log_name),
      kind_label_(kind_label),
      tls_context_(std::move(tls)),
      timer_(env_.clock().make_timer()),
      pause_timer_(env_.clock().make_timer()),
      phase_(implicit_tls ? Phase::handshake : Phase::open),
      wakeup_(env_.executor()),
      input_(std::make_unique<char[]>(config.read_buffer_bytes)) {
  MAIL_ASSERT(stream_ != nullptr);
  MAIL_ASSERT(config_.read_buffer_bytes > 0);
  MAIL_ASSERT(!implicit_tls || tls_context_ != nullptr);
  MAIL_ASSERT(!info_.tls);  // set by run() once the implicit handshake is done
}

std::string Connection::prefix() const { return log_name_ + "[" + std::to_string(info_.id) + "]: "; }

void Connection::log(rt::LogLevel level, std::string_view text) const { env_.log().write(level, prefix() + std::string(text)); }

void Connection::set_close_reason(std::string_view why) {
  if (close_reason_.empty()) close_reason_ = std::string(why);
}

// The legal edges; everything else is a driver bug.
void Connection::enter(Phase next) {
  switch (phase_) {
    case Phase::handshake: MAIL_ASSERT(next == Phase::open || next == Phase::closing); break;
    case Phase::open:
      MAIL_ASSERT(next == Phase::starting_tls || next == Phase::starting_compress || next == Phase::closing);
      break;
    case Phase::starting_tls:
    case Phase::starting_compress: MAIL_ASSERT(next == Phase::open || next == Phase::closing); break;
    case Phase::closing: MAIL_ASSERT(next == Phase::lingering); break;
    case Phase::lingering: MAIL_ASSERT(false && "lingering is the last phase"); break;
  }
  phase_ = next;
}

void Connection::enter_closing(std::string_view why) {
  set_close_reason(why);
  if (!closing()) enter(Phase::closing);
}

void Connection::request_shutdown(bool force) {
  shutdown_requested_ = std::max(shutdown_requested_, force ? Shutdown::forced : Shutdown::graceful);
  wakeup_.notify();
}

void Connection::abort() {
  aborted_ = true;
  close_stream();
  wakeup_.notify();
}

void Connection::close_stream() {
  if (stream_closed_) return;
  stream_closed_ = true;
  stream_->close();  // pending read/write complete (canceled) later, from the executor
}

void Connection::start_job(rt::Task<JobResult> job) {
  MAIL_ASSERT(session_ != nullptr);
  ++jobs_in_flight_;
  env_.tasks().spawn(run_job(std::move(job)));
}

rt::Task<void> Connection::run_job(rt::Task<JobResult> job) {
  JobResult result = co_await std::move(job);
  MAIL_ASSERT(static_cast<bool>(result));
  job_results_.push_back(std::move(result));
  MAIL_ASSERT(jobs_in_flight_ > 0);
  --jobs_in_flight_;
  wakeup_.notify();
}

rt::Task<bool> Connection::deliver(JobResult partial) {
  MAIL_ASSERT(jobs_in_flight_ > 0);  // only a running job delivers
  MAIL_ASSERT(static_cast<bool>(partial));
  auto written = co_await rt::async_op<bool>([this, &partial](rt::Completion<bool> done) {
    job_results_.push_back([this, partial = std::move(partial), done = std::move(done)](Instant now, bool open) mutable {
      partial(now, open);
      delivered_.push_back(std::move(done));  // resumed after the write (release_delivered)
    });
    wakeup_.notify();
  });
  co_return written.ok() && written.value();
}

void Connection::release_delivered(bool open) {
  for (auto& done : delivered_) {
    env_.executor().post([done = std::move(done), open]() mutable { done(open); });
  }
  delivered_.clear();
}

rt::Task<void> Connection::run() {
  log(rt::LogLevel::info, "connect from " + info_.remote.to_string() + " (" + kind_label_ + ")");
  if (phase_ == Phase::handshake) {
    // RFC 8314 §3.3: TLS from the first byte, then the greeting inside it.
    if (!co_await handshake({})) {
      log(rt::LogLevel::info, "disconnect from " + client() + " (" + close_reason_ + ")");
      co_return;
    }
    info_.tls = true;
    enter(Phase::open);
  }
  session_ = factory_.open_session(*this, info_);
  MAIL_ASSERT(session_ != nullptr);

  for (;;) {
    co_await pump();
    if (finished()) break;
    if (phase_ == Phase::starting_tls) {
      co_await start_tls();
      continue;
    }
    if (phase_ == Phase::starting_compress) {
      co_await start_compress();
      continue;
    }
    schedule_io();
    co_await wakeup_.wait();
    apply_wakeups();
  }

  // Teardown: nothing of ours may still be in flight when the frame goes away.
  close_stream();
  if (timer_waits_ > 0) timer_->cancel();
  MAIL_ASSERT(jobs_in_flight_ == 0);  // finished() waited for them
  while (read_in_flight_ || timer_waits_ > 0 || jobs_in_flight_ > 0) {
    co_await wakeup_.wait();
    apply_wakeups();
  }
  MAIL_ASSERT(delivered_.empty());
  MAIL_ASSERT(job_results_.empty());
  const std::string summary = session_->summary();
  log(rt::LogLevel::info,
      "disconnect from " + client() + (summary.empty() ? "" : " " + summary) + " (" + close_reason_ + ")");
}

rt::Task<void> Connection::pump() {
  for (;;) {
    co_await drain();
    if (!step()) break;
  }
  co_await flush();
  release_delivered(!closing() && !session_->closed());
  if (phase_ == Phase::closing) {
    enter(Phase::lingering);
    if (peer_done_ || write_failed_ || aborted_ || stream_closed_) {
      peer_done_ = true;
      close_stream();
    } else {
      // Half-close, then read and discard until the client closes (bounded in time and
      // bytes): closing with unread input would send an RST that can destroy the reply.
      stream_->shutdown_send();
      linger_deadline_ = env_.clock().now() + config_.linger_timeout;
    }
  }
}

rt::Task<void> Connection::drain() {
  for (;;) {
    bool progress = session_->dispatch_events(env_.clock().now());
    while (auto output = session_->poll_output()) {
      progress = true;
      if (auto* send = std::get_if<proto::out::Send>(&*output)) {
        // Nothing may follow a Close on the wire; a well-behaved session sends nothing.
        if (closing()) continue;
        if (wbuf_.empty()) wbuf_ = std::move(send->bytes);  // a large answer is not copied
        else wbuf_ += send->bytes;
      } else if (auto* pause = std::get_if<proto::out::Pause>(&*output)) {
        // Error-reply delay: what precedes goes out now, what follows after `until`.
        co_await flush();
        if (!closing() && !aborted_ && pause->until > env_.clock().now()) {
          (void)co_await rt::sleep_until(*pause_timer_, pause->until);
        }
      } else if (std::holds_alternative<proto::out::StartTls>(*output)) {
        if (tls_context_ == nullptr) {
          enter_closing("STARTTLS requested but TLS is not configured");
        } else if (phase_ == Phase::open) {
          // CVE-2011-0411: whatever the client sent after STARTTLS in plaintext is dropped
          // (the session dropped its own copy); the handshake runs after the reply is out.
          enter(Phase::starting_tls);
          input_len_ = 0;
        }
      } else if (std::holds_alternative<proto::out::StartCompress>(*output)) {
        // RFC 4978 §3: the OK goes out as it is; whatever the session says next is
        // compressed, so it stays queued in the session until the layer is in place.
        co_await flush();
        if (phase_ == Phase::open) {
          enter(Phase::starting_compress);
          co_return;
        }
      } else {
        MAIL_ASSERT(std::holds_alternative<proto::out::Close>(*output));
        enter_closing("closed by session");
      }
    }
    if (!progress) break;
  }
  if (!closing() && session_->closed()) enter_closing("session closed");
}

bool Connection::step() {
  const Instant now = env_.clock().now();
  // Nothing the session says may be written before the DEFLATE layer is in place.
  if (phase_ == Phase::starting_compress) return false;
  if (closing() || session_->closed()) {
    // The session is over: results that arrive now are only logged.
    input_len_ = 0;
    while (!job_results_.empty()) {
      JobResult result = std::move(job_results_.front());
      job_results_.pop_front();
      result(now, false);
    }
    return false;
  }
  if (!job_results_.empty()) {
    JobResult result = std::move(job_results_.front());
    job_results_.pop_front();
    result(now, true);
    return true;
  }
  if (phase_ == Phase::starting_tls) return false;  // nothing is fed before the handshake
  if (shutdown_requested_ > shutdown_sent_) {
    shutdown_sent_ = shutdown_requested_;
    session_->shutdown(now, shutdown_sent_ == Shutdown::forced);
    return true;
  }
  if (timeout_due_) {
    timeout_due_ = false;
    const auto deadline = session_->poll_timeout();
    if (deadline && *deadline <= now) {
      session_->handle_timeout(now);
      return true;
    }
  }
  if (input_len_ > 0) {
    const std::size_t taken = session_->feed(std::string_view(input_.get(), input_len_), now);
    MAIL_ASSERT(taken <= input_len_);
    counters_.session_buffered_max =
        std::max<std::uint64_t>(counters_.session_buffered_max, session_->buffered_bytes() + (input_len_ - taken));
    if (taken > 0) {
      // Keep the unconsumed tail at the front; it is fed again after the next verdict.
      std::memmove(input_.get(), input_.get() + taken, input_len_ - taken);
      input_len_ -= taken;
      return true;
    }
    if (jobs_in_flight_ == 0) {
      // The session refuses input with no verdict pending: it would never take it.
      env_.log().write(rt::LogLevel::error,
                       prefix() + "session stalled in state " + std::string(session_->state_name()) + "; closing");
      enter_closing("session stalled");
    }
    return false;
  }
  if (peer_done_ && !eof_fed_) {
    eof_fed_ = true;
    session_->feed_eof(now);
    return true;
  }
  return false;
}

rt::Task<void> Connection::flush() {
  if (wbuf_.empty()) co_return;
  const std::string bytes = std::move(wbuf_);
  wbuf_.clear();
  if (write_failed_ || stream_closed_ || peer_error_) co_return;
  const Instant deadline = env_.clock().now() + config_.write_timeout;
  auto all = std::as_bytes(std::span(bytes.data(), bytes.size()));
  // BUGGIFY: replies split over two writes (clients must not depend on segment boundaries).
  if (all.size() > 1 && MAIL_BUGGIFY(env_, "smtp-connection.split-write")) {
    const std::size_t half = all.size() / 2;
    const auto head = all.first(half);  // a named local: GCC 12 and temporaries in co_await
    auto first = co_await rt::write_all(*stream_, head, deadline);
    if (!first.ok()) {
      write_failed_ = true;
      enter_closing("write failed: " + std::string(to_string(first.code())));
      co_return;
    }
    all = all.subspan(half);
  }
  auto written = co_await rt::write_all(*stream_, all, deadline);
  if (!written.ok()) {
    write_failed_ = true;
    enter_closing("write failed: " + std::string(to_string(written.code())));
  }
}

void Connection::apply_wakeups() {
  if (read_result_) {
    Result<std::size_t> r = std::move(*read_result_);
    read_result_.reset();
    if (r.ok()) {
      MAIL_ASSERT(*r > 0);
      MAIL_ASSERT(*r <= config_.read_buffer_bytes);
      if (closing()) {
        linger_bytes_ += *r;  // discarded: the session is over
        if (linger_bytes_ >= config_.linger_bytes_max) peer_done_ = true;
      } else {
        MAIL_ASSERT(input_len_ == 0);
        input_len_ = *r;
      }
    } else if (r.code() == Errc::timeout) {
      if (closing()) {
        peer_done_ = true;
      } else {
        timeout_due_ = true;
      }
    } else {
      peer_done_ = true;
      if (r.code() != Errc::eof && r.code() != Errc::canceled) {
        peer_error_ = true;
        set_close_reason("read: " + std::string(to_string(r.code())));
      }
    }
  }
  if (timer_fired_) {
    timer_fired_ = false;
    if (closing()) {
      // Linger over: stop waiting for the client's FIN.
      peer_done_ = true;
      if (read_in_flight_) close_stream();
    } else {
      timeout_due_ = true;
    }
  }
}

void Connection::schedule_io() {
  const Instant now = env_.clock().now();
  const bool lingering = phase_ == Phase::lingering;
  if (lingering && !peer_done_ && now >= linger_deadline_) {
    peer_done_ = true;
    if (read_in_flight_) close_stream();
  }

  // One read at a time, into the whole buffer, only when the session took everything:
  // leftover input means it is waiting for a verdict (backpressure). A read that completed
  // while pump() was awaiting (a write, a pause) is not applied yet: its bytes are in the
  // buffer, so no new read may reuse it before apply_wakeups() takes them.
  if (!read_in_flight_ && !read_result_ && !peer_done_ && !stream_closed_ && input_len_ == 0 &&
      phase_ != Phase::closing) {
    Instant deadline = instant_max();
    if (lingering) {
      deadline = linger_deadline_;
    } else if (auto t = session_->poll_timeout()) {
      deadline = *t;
    }
    read_in_flight_ = true;
    auto into = std::as_writable_bytes(std::span(input_.get(), config_.read_buffer_bytes));
    stream_->async_read_some(into, deadline, [this](Result<std::size_t> r) {
      read_in_flight_ = false;
      read_result_.emplace(std::move(r));
      wakeup_.notify();
    });
  }

  std::optional<Instant> want;
  if (closing()) {
    if (lingering && !peer_done_) want = linger_deadline_;
  } else {
    want = session_->poll_timeout();
  }
  if (want == timer_armed_at_) return;
  if (!want) {
    timer_->cancel();
    timer_armed_at_.reset();
    return;
  }
  timer_armed_at_ = want;
  ++timer_waits_;
  // Re-arming cancels the earlier wait (it completes canceled and only counts down).
  timer_->async_wait_until(*want, [this, at = *want](Status s) {
    MAIL_ASSERT(timer_waits_ > 0);
    --timer_waits_;
    if (s.ok() && timer_armed_at_ == at) {
      timer_armed_at_.reset();
      timer_fired_ = true;
    }
    wakeup_.notify();
  });
}

bool Connection::finished() const noexcept {
  return phase_ == Phase::lingering && peer_done_ && !read_in_flight_ && jobs_in_flight_ == 0 && job_results_.empty();
}

// ------------------------------------------------------------------------------ TLS

rt::Task<bool> Connection::handshake(std::string initial_ciphertext) {
  MAIL_ASSERT(tls_context_ != nullptr);
  MAIL_ASSERT(!read_in_flight_);
  auto engine = std::make_unique<tls::TlsEngine>(*tls_context_, tls::Role::server);
  const Instant deadline = env_.clock().now() + config_.tls_handshake_timeout;
  auto done = co_await upgrade_to_tls(env_.executor(), stream_, std::move(engine), std::move(initial_ciphertext), deadline);
  if (!done.ok()) {
    ++counters_.tls_handshake_failures;
    log(rt::LogLevel::info, "TLS handshake failed with " + client() + ": " + std::string(to_string(done.code())) + " " +
                                done.error().detail);
    enter_closing("TLS handshake failed");
    enter(Phase::lingering);
    peer_done_ = true;
    close_stream();
    co_return false;
  }
  ++counters_.tls_handshakes;
  log(rt::LogLevel::info, "TLS " + done->version + " " + done->cipher + " with " + client());
  co_return true;
}

rt::Task<void> Connection::settle_read() {
  while (read_in_flight_ && !closing()) {
    co_await wakeup_.wait();
    apply_wakeups();
  }
}

rt::Task<std::optional<std::string>> Connection::take_input_for_new_layer() {
  co_await settle_read();
  if (closing() || peer_done_) {
    if (!closing()) enter(Phase::open);  // pump() feeds the EOF / finishes the close
    input_len_ = 0;
    co_return std::nullopt;
  }
  std::string initial(input_.get(), input_len_);
  input_len_ = 0;
  co_return initial;
}

rt::Task<void> Connection::start_tls() {
  MAIL_ASSERT(phase_ == Phase::starting_tls);
  // A plain read may be in flight: what it brings arrived after the go-ahead was queued, so
  // it is the start of the TLS stream (or garbage that fails the handshake) — never commands.
  auto initial = co_await take_input_for_new_layer();
  if (!initial) co_return;
  if (!co_await handshake(std::move(*initial))) co_return;
  enter(Phase::open);
  session_->tls_established(env_.clock().now());
}

// ------------------------------------------------------------------------------ DEFLATE

rt::Task<void> Connection::start_compress() {
  MAIL_ASSERT(phase_ == Phase::starting_compress);
  // The input the session did not take, and a read in flight, came after the client saw
  // the OK (RFC 4978 §3: it must wait for it): the start of the compressed stream.
  auto initial = co_await take_input_for_new_layer();
  if (!initial) co_return;
  stream_ = std::make_unique<DeflateStream>(env_.executor(), std::move(stream_), config_.deflate, std::move(*initial));
  ++counters_.compressions;
  log(rt::LogLevel::debug, "DEFLATE on");
  enter(Phase::open);
  session_->compress_established(env_.clock().now());
}

}  // namespace mail::node
