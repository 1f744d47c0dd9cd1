// Coroutine wrappers over the callback-style Env interfaces, so node/ and store/ code
// reads top to bottom: `auto r = co_await rt::read_some(stream, buf, deadline);`.
#pragma once

#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include "core/assert.h"
#include "runtime/env.h"
#include "runtime/task.h"

namespace mail::rt {

inline auto read_some(Stream& s, std::span<std::byte> into, Instant deadline) {
  return async_op<std::size_t>([&s, into, deadline](Completion<std::size_t> c) { s.async_read_some(into, deadline, std::move(c)); });
}
inline auto write_all(Stream& s, std::span<const std::byte> bytes, Instant deadline) {
  return async_op<void>([&s, bytes, deadline](Completion<void> c) { s.async_write_all(bytes, deadline, std::move(c)); });
}
inline auto accept(Listener& l) {
  return async_op<std::unique_ptr<Stream>>([&l](Completion<std::unique_ptr<Stream>> c) { l.async_accept(std::move(c)); });
}
inline auto connect(Net& n, Endpoint to, Instant deadline) {
  return async_op<std::unique_ptr<Stream>>(
      [&n, to = std::move(to), deadline](Completion<std::unique_ptr<Stream>> c) { n.async_connect(to, deadline, std::move(c)); });
}
inline auto sleep_until(Timer& t, Instant deadline) {
  return async_op<void>([&t, deadline](Completion<void> c) { t.async_wait_until(deadline, std::move(c)); });
}

inline auto write_file(Disk& d, std::string path, std::string data, WriteMode mode) {
  return async_op<void>([&d, path = std::move(path), data = std::move(data), mode](Completion<void> c) mutable {
    d.async_write_file(std::move(path), std::move(data), mode, std::move(c));
  });
}
inline auto write_parts(Disk& d, std::string path, std::shared_ptr<const std::vector<std::string>> parts, WriteMode mode) {
  return async_op<void>([&d, path = std::move(path), parts = std::move(parts), mode](Completion<void> c) mutable {
    d.async_write_parts(std::move(path), std::move(parts), mode, std::move(c));
  });
}
inline auto read_file(Disk& d, std::string path) {
  return async_op<std::string>([&d, path = std::move(path)](Completion<std::string> c) mutable { d.async_read_file(std::move(path), std::move(c)); });
}
inline auto read_range(Disk& d, std::string path, std::uint64_t offset, std::size_t max_bytes) {
  return async_op<std::string>([&d, path = std::move(path), offset, max_bytes](Completion<std::string> c) mutable {
    d.async_read_range(std::move(path), offset, max_bytes, std::move(c));
  });
}
// Reads every file of `paths` (not empty) with Disk::async_read_each: each file's Result,
// in the order of `paths`; the whole never fails.
inline auto read_files(Disk& d, std::vector<std::string> paths) {
  using Files = std::vector<Result<std::string>>;
  return async_op<Files>([&d, paths = std::move(paths)](Completion<Files> c) mutable {
    d.async_read_each(std::move(paths), std::move(c));
  });
}
inline auto sync_files(Disk& d, std::vector<std::string> paths) {
  return async_op<void>([&d, paths = std::move(paths)](Completion<void> c) mutable { d.async_sync_files(std::move(paths), std::move(c)); });
}
inline auto sync_dir(Disk& d, std::string path) {
  return async_op<void>([&d, path = std::move(path)](Completion<void> c) mutable { d.async_sync_dir(std::move(path), std::move(c)); });
}
inline auto rename(Disk& d, std::string from, std::string to) {
  return async_op<void>([&d, from = std::move(from), to = std::move(to)](Completion<void> c) mutable {
    d.async_rename(std::move(from), std::move(to), std::move(c));
  });
}
inline auto rename_each(Disk& d, std::vector<std::pair<std::string, std::string>> moves) {
  return async_op<std::vector<Result<void>>>([&d, moves = std::move(moves)](Completion<std::vector<Result<void>>> c) mutable {
    d.async_rename_each(std::move(moves), std::move(c));
  });
}
inline auto link(Disk& d, std::string from, std::string to) {
  return async_op<void>([&d, from = std::move(from), to = std::move(to)](Completion<void> c) mutable {
    d.async_link(std::move(from), std::move(to), std::move(c));
  });
}
inline auto remove(Disk& d, std::string path) {
  return async_op<void>([&d, path = std::move(path)](Completion<void> c) mutable { d.async_remove(std::move(path), std::move(c)); });
}
inline auto make_dirs(Disk& d, std::string path) {
  return async_op<void>([&d, path = std::move(path)](Completion<void> c) mutable { d.async_make_dirs(std::move(path), std::move(c)); });
}
inline auto list_dir(Disk& d, std::string path) {
  return async_op<std::vector<DirEntry>>(
      [&d, path = std::move(path)](Completion<std::vector<DirEntry>> c) mutable { d.async_list_dir(std::move(path), std::move(c)); });
}
inline auto file_size(Disk& d, std::string path) {
  return async_op<std::uint64_t>([&d, path = std::move(path)](Completion<std::uint64_t> c) mutable { d.async_file_size(std::move(path), std::move(c)); });
}

namespace detail {
template <class R>
struct LaneResult {
  using type = Result<R>;
};
template <class T>
struct LaneResult<Result<T>> {
  using type = Result<T>;
};
template <class T>
struct LaneValue;
template <class T>
struct LaneValue<Result<T>> {
  using type = T;
};
}  // namespace detail

// Runs `fn` as one job of `lane` (off the executor in production; runtime/env.h) and
// resumes with what it returned: `auto r = co_await rt::run_on(lane, [&] { return
// db.count(); });`. A Result<T> comes back as is, void as Result<void>, any other R as
// Result<R>. `fn` may capture the awaiting frame's locals by reference: the frame stays
// suspended until the job is over. If the lane is destroyed first, the frame is never
// resumed (as with any completion at teardown).
template <class F>
auto run_on(BlockingLane& lane, F fn) {
  using R = std::invoke_result_t<F&>;
  using Out = typename detail::LaneResult<R>::type;
  using T = typename detail::LaneValue<Out>::type;
  return async_op<T>([&lane, fn = std::move(fn)](Completion<T> c) mutable {
    // The job's value travels to the completion through a slot both share: the job runs
    // on the lane's thread, the completion later on the executor.
    auto slot = std::make_shared<std::optional<Out>>();
    lane.run(
        [slot, fn = std::move(fn)]() mutable {
          if constexpr (std::is_void_v<R>) {
            fn();
            slot->emplace(Status{});
          } else {
            slot->emplace(fn());
          }
        },
        [slot, c = std::move(c)](Result<void> r) mutable {
          if (!r) {
            c(fail(r.error()));
            return;
          }
          MAIL_ASSERT(slot->has_value());
          c(std::move(**slot));
        });
  });
}

}  // namespace mail::rt
