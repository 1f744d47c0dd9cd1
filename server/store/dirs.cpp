// Directory helpers shared by the file stores (dirs.h). Every operation goes through
// Env::Disk and is started at once with when_all(); nothing here knows a layout.
#include "store/dirs.h"

#include <utility>

#include "runtime/await.h"
#include "store/when_all.h"

namespace mail::store {

std::string normal_data_dir(std::string_view data_dir) {
  if (data_dir.empty()) return ".";
  std::string out;
  out.reserve(data_dir.size());
  for (char c : data_dir) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  MAIL_ASSERT(!out.empty());
  MAIL_ASSERT(out.find("//") == std::string::npos);
  return out;
}

namespace {

Status first_error(std::vector<Status> results) {
  for (Status& s : results) {
    if (!s.ok()) return std::move(s);
  }
  return Status{};
}

}  // namespace

rt::Task<Status> make_dirs_all(rt::Disk& disk, std::vector<std::string> dirs) {
  std::vector<StartOp> ops;
  ops.reserve(dirs.size());
  for (std::string& dir : dirs) {
    ops.push_back([&disk, path = std::move(dir)](rt::Completion<void> c) mutable { disk.async_make_dirs(std::move(path), std::move(c)); });
  }
  co_return first_error(co_await when_all(std::move(ops)));
}

rt::Task<Status> sync_dirs_all(rt::Disk& disk, std::vector<std::string> dirs) {
  std::vector<StartOp> ops;
  ops.reserve(dirs.size());
  for (std::string& dir : dirs) {
    ops.push_back([&disk, path = std::move(dir)](rt::Completion<void> c) mutable { disk.async_sync_dir(std::move(path), std::move(c)); });
  }
  co_return first_error(co_await when_all(std::move(ops)));
}

}  // namespace mail::store
