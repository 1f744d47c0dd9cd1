// Env: the only way node/ and store/ code touches the world. Production implements it
// with Asio + POSIX (server/io), the simulator with SimEnv (simulator/).
// Contract for every async_* call: the completion is invoked exactly once, never from
// inside the call itself (always later, from the Env's executor thread), unless the Env
// is torn down (shutdown or simulated crash), in which case it is destroyed uncalled.
// Destroying a Timer, Stream or Listener with an operation pending: the completion is
// either destroyed uncalled (simulator) or invoked later with Errc::canceled (production);
// so only destroy one while a coroutine awaits it when that coroutine is itself being
// destroyed by tasks().destroy_all(), which the Env runs only once no completion can run.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/function.h"
#include "core/prng.h"
#include "core/result.h"
#include "core/time.h"
#include "runtime/task_scope.h"

namespace mail::rt {

template <class T>
using Completion = UniqueFunction<void(Result<T>)>;

// ---------------------------------------------------------------------------- Executor
class Executor {
 public:
  virtual ~Executor() = default;
  // Runs fn later on the Env's (single) logical thread.
  virtual void post(UniqueFunction<void()> fn) = 0;
};

// ---------------------------------------------------------------------------- Clock
class Timer {
 public:
  virtual ~Timer() = default;
  // Completes with ok at `deadline`, or Errc::canceled after cancel() / destruction of
  // the Env. Re-arming while armed cancels the earlier wait first.
  virtual void async_wait_until(Instant deadline, Completion<void> done) = 0;
  virtual void cancel() = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant now() const = 0;       // monotonic
  virtual WallTime wall_now() const = 0;  // for Date:/Received: headers and file names
  virtual std::unique_ptr<Timer> make_timer() = 0;
};

// ---------------------------------------------------------------------------- Net
// An address starting with "unix:" names a Unix domain stream socket by its path
// ("unix:/var/lib/cloudsdial/control.sock"), with port 0; "unix:" alone is an unnamed end
// (the client side of such a connection). The production Env listens and connects on them
// (a listener's socket file has mode 0600 and is removed on close); the simulator refuses
// them with Errc::unsupported.
struct Endpoint {
  std::string address;  // textual IPv4 / IPv6 (no brackets), simulated host address or "unix:<path>"
  std::uint16_t port = 0;
  std::string to_string() const;  // "1.2.3.4:25" / "[::1]:25" / "unix:/path" (as is, no port)
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

inline constexpr std::string_view kUnixEndpointPrefix = "unix:";
// True when `ep.address` starts with "unix:".
bool is_unix_endpoint(const Endpoint& ep) noexcept;
// The socket path after "unix:" (empty for an unnamed end). Requires is_unix_endpoint(ep);
// the view points into ep.address.
std::string_view unix_path(const Endpoint& ep) noexcept;

class Stream {
 public:
  virtual ~Stream() = default;
  // Reads at least one byte (ok(n>0)), or Errc::eof on orderly close, Errc::timeout when
  // `deadline` passes first, Errc::reset / io otherwise.
  virtual void async_read_some(std::span<std::byte> into, Instant deadline, Completion<std::size_t> done) = 0;
  // Writes all of `bytes` (the caller keeps them alive until completion).
  virtual void async_write_all(std::span<const std::byte> bytes, Instant deadline, Completion<void> done) = 0;
  virtual void shutdown_send() = 0;  // half-close (FIN)
  virtual void close() = 0;          // both directions; pending ops complete canceled
  virtual Endpoint local_endpoint() const = 0;
  virtual Endpoint remote_endpoint() const = 0;
};

class Listener {
 public:
  virtual ~Listener() = default;
  virtual void async_accept(Completion<std::unique_ptr<Stream>> done) = 0;
  virtual Endpoint local_endpoint() const = 0;  // the bound port, when 0 was asked
  virtual void close() = 0;                     // pending accept completes canceled
};

class Net {
 public:
  virtual ~Net() = default;
  virtual Result<std::unique_ptr<Listener>> listen(const Endpoint& at) = 0;
  virtual void async_connect(const Endpoint& to, Instant deadline, Completion<std::unique_ptr<Stream>> done) = 0;
};

// ---------------------------------------------------------------------------- Disk
// Path-based whole-file operations: they map one-to-one onto the durability model
// (data durable after sync_file(s); a create/rename/link/unlink durable after
// sync_dir of its parent), which the simulator's disk reproduces exactly.
enum class WriteMode : std::uint8_t {
  create_new,  // fail with Errc::exists if present (O_EXCL)
  truncate,    // create or replace contents
  append,      // create or append
};

struct DirEntry {
  std::string name;
  bool is_dir = false;
};

class Disk {
 public:
  virtual ~Disk() = default;
  virtual void async_write_file(std::string path, std::string data, WriteMode mode, Completion<void> done) = 0;
  // The same write from buffers the caller keeps sharing (a retry under another name
  // needs the bytes again); the file's bytes are the parts in order (a header block and
  // the body, never joined in memory). An Env that can write them without copying
  // (writev) overrides this.
  virtual void async_write_parts(std::string path, std::shared_ptr<const std::vector<std::string>> parts,
                                 WriteMode mode, Completion<void> done) {
    std::string data;
    for (const auto& p : *parts) data += p;
    async_write_file(std::move(path), std::move(data), mode, std::move(done));
  }
  virtual void async_read_file(std::string path, Completion<std::string> done) = 0;
  // Several whole files (`paths` non-empty; a FETCH of many bodies): each file's Result in
  // the order of `paths`, one failing does not stop the others; the batch never fails. An
  // Env may read them as one job off the executor (PosixDisk: one worker hand-off for the
  // batch, so the reading runs beside the executor's rendering and sending); the default
  // starts every async_read_file at once and completes when the last one has.
  virtual void async_read_each(std::vector<std::string> paths, Completion<std::vector<Result<std::string>>> done);
  // Up to `max_bytes` of the file from `offset`: fewer only at its end, empty past it (a
  // large message goes out in pieces, never held whole). The default reads the whole file
  // and keeps the range — correct, not frugal; PosixDisk and SimDisk override it.
  virtual void async_read_range(std::string path, std::uint64_t offset, std::size_t max_bytes,
                                Completion<std::string> done) {
    async_read_file(std::move(path), [offset, max_bytes, done = std::move(done)](Result<std::string> r) mutable {
      if (!r.ok() || offset >= r->size()) {
        done(r.ok() ? Result<std::string>(std::string()) : std::move(r));
        return;
      }
      done(r->substr(static_cast<std::size_t>(offset), max_bytes));
    });
  }
  // Makes the data of each named file durable. Implementations may batch (group commit).
  virtual void async_sync_files(std::vector<std::string> paths, Completion<void> done) = 0;
  // Makes the directory's entries (creates, renames, links, unlinks) durable.
  virtual void async_sync_dir(std::string path, Completion<void> done) = 0;
  virtual void async_rename(std::string from, std::string to, Completion<void> done) = 0;
  // Several independent renames (from, to), `moves` non-empty; their statuses in order,
  // one failing does not stop the others. An Env may run them as one job; the default
  // starts every async_rename at once and completes when the last one has.
  virtual void async_rename_each(std::vector<std::pair<std::string, std::string>> moves,
                                 Completion<std::vector<Result<void>>> done);
  virtual void async_link(std::string from, std::string to, Completion<void> done) = 0;
  virtual void async_remove(std::string path, Completion<void> done) = 0;
  virtual void async_make_dirs(std::string path, Completion<void> done) = 0;  // mkdir -p
  virtual void async_list_dir(std::string path, Completion<std::vector<DirEntry>> done) = 0;
  virtual void async_file_size(std::string path, Completion<std::uint64_t> done) = 0;
};

// ---------------------------------------------------------------------------- BlockingLane
// A serial queue of blocking jobs (an embedded database engine's calls: SQLite, fsync).
// Jobs run one at a time, in submission order, OFF the executor: production gives every
// lane its own thread; the simulator runs a job inline at a later, deterministic moment
// (an event of the World, never from inside run()). After a job returns, `done` is posted
// to the executor (ok). A job may use only what its submitter keeps alive until `done`
// (the awaiting coroutine's frame) and SyncFiles; it must not call any other Env service.
// Destroying a lane (on the executor thread): queued jobs are destroyed uncalled, a
// running job finishes first (production joins the thread), and no `done` of this lane
// is called afterwards, not even a posted one. A lane must not outlive its Env.
class BlockingLane {
 public:
  virtual ~BlockingLane() = default;
  virtual void run(UniqueFunction<void()> job, Completion<void> done) = 0;
};

// ---------------------------------------------------------------------------- SyncFiles
// Synchronous positional file access for an embedded database engine (the SQLite VFS in
// store/sqlite/vfs.*), used ONLY from inside a BlockingLane job. The durability model is
// Disk's: written data is durable after sync(); a created or deleted file's directory
// entry after sync_dir(parent). There is no locking: the database runs with
// locking_mode=EXCLUSIVE and one connection per file, in one process (the data dir lock),
// so nobody else opens the file. Errors: Errc::not_found (missing file), Errc::no_space,
// Errc::io (anything else; also every call after the simulated host crashed).
class SyncFile {
 public:
  virtual ~SyncFile() = default;  // closes the file
  // Reads up to into.size() bytes at `offset`; fewer (possibly 0) only at end of file.
  virtual Result<std::size_t> read(std::uint64_t offset, std::span<std::byte> into) = 0;
  // Writes all of `bytes` at `offset`, extending the file (a gap reads as zeros).
  virtual Status write(std::uint64_t offset, std::span<const std::byte> bytes) = 0;
  virtual Status truncate(std::uint64_t size) = 0;  // shrink (or extend with zeros)
  virtual Result<std::uint64_t> size() = 0;
  virtual Status sync() = 0;  // makes the data and size durable (fdatasync)
};

class SyncFiles {
 public:
  virtual ~SyncFiles() = default;
  // Opens `path` read-write; with `create`, creates it (empty) when missing. A file
  // deleted while open is gone for its handles too (later calls fail).
  virtual Result<std::unique_ptr<SyncFile>> open(std::string_view path, bool create) = 0;
  virtual Status remove(std::string_view path) = 0;  // Errc::not_found when missing
  virtual Result<bool> exists(std::string_view path) = 0;
  virtual Status sync_dir(std::string_view path) = 0;  // makes creates/deletes in it durable
};

// ---------------------------------------------------------------------------- Dns
struct MxRecord {
  std::uint16_t preference = 0;
  std::string exchange;
};

class Dns {
 public:
  virtual ~Dns() = default;
  virtual void async_mx(std::string domain, Instant deadline, Completion<std::vector<MxRecord>> done) = 0;
  virtual void async_addresses(std::string host, Instant deadline, Completion<std::vector<std::string>> done) = 0;
  virtual void async_txt(std::string name, Instant deadline, Completion<std::vector<std::string>> done) = 0;
};

// ---------------------------------------------------------------------------- Log
enum class LogLevel : std::uint8_t { debug, info, warn, error };

class Log {
 public:
  virtual ~Log() = default;
  virtual void write(LogLevel level, std::string_view line) = 0;
};

// ---------------------------------------------------------------------------- Env
class Env {
 public:
  virtual ~Env() = default;
  // Root tasks of this Env (node services, connections): `env.tasks().spawn(task)`.
  // A derived Env's destructor must call tasks().destroy_all() before tearing down its
  // sockets, timers and disk, because destroying a frame destroys its Streams and Timers.
  TaskScope& tasks() noexcept { return tasks_; }
  virtual Executor& executor() = 0;
  virtual Clock& clock() = 0;
  virtual Prng& rng() = 0;  // fork() it per subsystem: rng().fork("maildir")
  virtual Net& net() = 0;
  virtual Disk& disk() = 0;
  virtual Dns& dns() = 0;
  virtual Log& log() = 0;
  virtual std::string_view hostname() const = 0;
  // Fault injection hook behind MAIL_BUGGIFY (runtime/buggify.h): the simulator decides per
  // seed and site; production never misbehaves on purpose.
  virtual bool buggify(std::string_view /*site*/) { return false; }
  // A new serial lane for blocking jobs (see BlockingLane); `name` names its thread. The
  // default runs each job on the executor itself (it blocks the loop: for test fakes
  // only); AsioEnv and SimEnv override it.
  virtual std::unique_ptr<BlockingLane> make_blocking_lane(std::string name);
  // File access for an embedded database inside lane jobs; nullptr means "use the OS
  // directly" (production: SQLite's own unix VFS, real fsync). The simulator returns its
  // disk model, so crashes and torn writes apply to the database files too.
  virtual SyncFiles* sync_files() { return nullptr; }

 private:
  TaskScope tasks_;
};

}  // namespace mail::rt
