// Connection: the one driver of a server connection, for every protocol — the loop of
// STYLE.md habit 1 around a DrivenSession. It owns the stream, a fixed read buffer and the
// timers; feeds bytes, drains events and outputs after every session call, writes one
// round of replies at once, honours Pause/StartTls/Close, arms poll_timeout(), runs jobs
// (verdicts computed off the loop) and their results in order, lingers before closing,
// and tears down only when nothing of it is in flight. Implicit TLS (RFC 8314) and
// STARTTLS (RFC 3207 §4.2, CVE-2011-0411: buffered plaintext is dropped) live here, once,
// and so does the DEFLATE layer of IMAP COMPRESS (RFC 4978 §3), above TLS when both run.
// Env only: no Asio, no clock but env.clock(); the session is only ever called from run().
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/function.h"
#include "node/deflate_codec.h"
#include "node/driven_session.h"
#include "node/wakeup.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "tls/context.h"

namespace mail::node {

// The driver's fixed budgets (a protocol service takes them from its configuration).
struct ConnectionConfig {
  std::uint32_t read_buffer_bytes = 16 * 1024;  // fixed per connection
  Duration write_timeout = 5min;                // one write of replies to a slow reader
  // After the last reply we half-close and read (discarding) until the client closes, so
  // unread client bytes do not turn our close into an RST that destroys the final reply.
  Duration linger_timeout = 2s;
  std::uint32_t linger_bytes_max = 256 * 1024;
  Duration tls_handshake_timeout = 60s;  // STARTTLS and implicit TLS
  DeflateParams deflate;                 // out::StartCompress (IMAP COMPRESS=DEFLATE)
};

// What the protocol sees of the connection it runs on: who, where, and how.
struct ConnectionInfo {
  std::uint64_t id = 0;
  rt::Endpoint remote;
  rt::Endpoint local;
  std::uint8_t listener_kind = 0;  // the protocol's own listener tag (SMTP: ListenerKind)
  bool tls = false;                // implicit TLS is active (the session starts inside it)
};

// Counters the driver keeps for its service (the simulator checks session_buffered_max).
struct ConnectionCounters {
  std::uint64_t session_buffered_max = 0;  // a session's buffered bytes + unread input
  std::uint64_t tls_handshakes = 0;        // STARTTLS and implicit TLS, completed
  std::uint64_t tls_handshake_failures = 0;
  std::uint64_t compressions = 0;  // connections that turned DEFLATE on
};

class Connection;

// Makes the session of a connection; called once, after an implicit TLS handshake.
class SessionFactory {
 public:
  virtual ~SessionFactory() = default;
  virtual std::unique_ptr<DrivenSession> open_session(Connection& connection, const ConnectionInfo& info) = 0;
};

class Connection {
 public:
  // A verdict computed off the loop, applied from it in completion order. `session_open`
  // is false once the session is over: then it may only be logged (the client was told
  // 421 or is gone; a retry may duplicate, never lose).
  using JobResult = UniqueFunction<void(Instant now, bool session_open)>;

  // `log_name` prefixes every log line ("smtp" -> "smtp[7]: ..."); `kind_label` names the
  // listener in the connect line. `tls` is the context at accept time (reload-safe); null
  // means no TLS. `implicit_tls` runs the handshake before the session exists.
  Connection(rt::Env& env, const ConnectionConfig& config, ConnectionCounters& counters, SessionFactory& factory,
             std::unique_ptr<rt::Stream> stream, ConnectionInfo info, std::string_view log_name,
             std::string_view kind_label, std::shared_ptr<tls::TlsContext> tls, bool implicit_tls);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs the connection to its end: the stream is closed and no operation, timer or job
  // of this connection is in flight when it completes.
  rt::Task<void> run();

  // Ask the session to finish: graceful (after the current exchange) or forced (now).
  void request_shutdown(bool force);
  // Close the stream now (after the forced goodbye had its grace).
  void abort();

  // For the protocol's session: run `job` as a child task; its result is applied from the
  // loop. Input stays unread meanwhile only if the session stops taking it.
  void start_job(rt::Task<JobResult> job);
  // For a running job: applies `partial` from the loop as a result would be (in order with
  // the others), and resumes the job once what it produced has been written. A command
  // with a large answer (FETCH of many bodies) streams it in chunks instead of holding it
  // whole. False when the session was over by then (`partial` ran with session_open
  // false): the job should stop and return.
  rt::Task<bool> deliver(JobResult partial);
  void set_close_reason(std::string_view why);  // the first reason given wins
  void log(rt::LogLevel level, std::string_view text) const;  // "<name>[<id>]: <text>"

  rt::Env& env() const noexcept { return env_; }
  const ConnectionInfo& info() const noexcept { return info_; }
  std::uint64_t id() const noexcept { return info_.id; }
  const std::string& client() const noexcept { return info_.remote.address; }

  // The phases of a connection; enter() allows only the edges drawn in connection.cpp.
  enum class Phase : std::uint8_t {
    handshake,     // implicit TLS before the session exists
    open,          // the session runs
    starting_tls,  // STARTTLS accepted: settle the read in flight, then the handshake
    starting_compress,  // COMPRESS accepted, its OK written: settle the read, then the layer
    closing,       // the session is over: its last replies are being written
    lingering,     // half-closed: discarding input until FIN, a deadline or a byte budget
  };
  enum class Shutdown : std::uint8_t { none, graceful, forced };  // ordered: forced wins

 private:
  rt::Task<void> pump();   // step + drain until nothing moves, then one write
  rt::Task<void> drain();  // events and outputs until both are empty
  bool step();             // at most one session call (job/shutdown/timeout/feed/eof)
  rt::Task<void> flush();  // write everything queued in wbuf_ (one write)
  rt::Task<void> run_job(rt::Task<JobResult> job);
  // Resumes the jobs whose deliver()ed output was applied and written (posted: never
  // inside the loop's own call). `open`: the session still runs.
  void release_delivered(bool open);
  // Wraps stream_ in a TlsStream and runs the handshake; false when it failed (closed).
  rt::Task<bool> handshake(std::string initial_ciphertext);
  rt::Task<void> start_tls();
  // Settles the read in flight and takes the unread input: the first bytes of the layer
  // about to be put on the stream (TLS, DEFLATE). nullopt when the connection is ending.
  rt::Task<std::optional<std::string>> take_input_for_new_layer();
  rt::Task<void> start_compress();
  rt::Task<void> settle_read();  // waits for the read in flight (phase change)
  void apply_wakeups();  // turn completed reads and timer expiries into state
  void schedule_io();    // keep one read and the session (or linger) timer armed
  void enter(Phase next);
  void enter_closing(std::string_view why);
  void close_stream();
  bool closing() const noexcept { return phase_ == Phase::closing || phase_ == Phase::lingering; }
  bool finished() const noexcept;
  std::string prefix() const;

  rt::Env& env_;
  const ConnectionConfig& config_;
  ConnectionCounters& counters_;
  SessionFactory& factory_;
  std::unique_ptr<rt::Stream> stream_;
  ConnectionInfo info_;
  std::string log_name_;
  std::string kind_label_;
  std::shared_ptr<tls::TlsContext> tls_context_;
  std::unique_ptr<rt::Timer> timer_;        // session poll_timeout() or the linger deadline
  std::unique_ptr<rt::Timer> pause_timer_;  // out::Pause
  std::unique_ptr<DrivenSession> session_;
  Phase phase_;
  Wakeup wakeup_;

  // Input: a fixed buffer; bytes [0, input_len_) were read but not yet taken by feed().
  std::unique_ptr<char[]> input_;
  std::size_t input_len_ = 0;
  bool read_in_flight_ = false;
  std::optional<Result<std::size_t>> read_result_;
  bool peer_done_ = false;   // EOF, an error, the linger budget: no more reads
  bool peer_error_ = false;  // ... and it was an error (nothing more can be written)
  bool eof_fed_ = false;

  // Session timer.
  std::optional<Instant> timer_armed_at_;
  std::uint32_t timer_waits_ = 0;
  bool timer_fired_ = false;
  bool timeout_due_ = false;  // the timer or a read deadline passed: re-check poll_timeout()

  // Jobs run as child tasks so reading and shutdown stay responsive meanwhile.
  std::uint32_t jobs_in_flight_ = 0;
  std::deque<JobResult> job_results_;
  std::vector<rt::Completion<bool>> delivered_;  // deliver() applied, waiting for the write

  Shutdown shutdown_requested_ = Shutdown::none;
  Shutdown shutdown_sent_ = Shutdown::none;

  std::string wbuf_;  // replies of this round, written as one write
  bool write_failed_ = false;
  bool stream_closed_ = false;
  bool aborted_ = false;
  Instant linger_deadline_{};
  std::size_t linger_bytes_ = 0;
  std::string close_reason_;
};

std::string_view to_string(Connection::Phase phase) noexcept;

}  // namespace mail::node
