// Coroutine wrappers over the callback-style Env interfaces, so node/ and store/ code
// reads top to bottom: `auto r = co_await rt::read_some(stream, buf, deadline);`.
#pragma once

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

}  // namespace mail::rt
