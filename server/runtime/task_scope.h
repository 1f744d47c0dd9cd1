// TaskScope: owner of an Env's detached root tasks. spawn() starts a task now; a finished
// task frees itself; destroy_all() destroys every unfinished frame (and so, recursively, the
// child tasks they await) — the simulator's host crash and the production shutdown path.
// Destroying in spawn order keeps a crash deterministic. Single-threaded, like the Env.
#pragma once

#include <coroutine>
#include <cstdint>
#include <map>

#include "runtime/task.h"

namespace mail::rt {

class TaskScope {
 public:
  TaskScope() = default;
  TaskScope(const TaskScope&) = delete;
  TaskScope& operator=(const TaskScope&) = delete;
  ~TaskScope() { destroy_all(); }

  // Starts `task` on the calling thread until its first suspension.
  void spawn(Task<void> task);

  // Destroys every unfinished root task without resuming it. The Env must first have
  // dropped (not invoked) every pending completion that could resume these frames.
  void destroy_all() noexcept;

  std::size_t live() const noexcept { return roots_.size(); }

 struct Root;  // the wrapper coroutine (task_scope.cpp)

 private:
  void finished(std::uint64_t id) noexcept { roots_.erase(id); }
  std::map<std::uint64_t, std::coroutine_handle<>> roots_;  // ordered: deterministic destroy
  std::uint64_t next_id_ = 1;
};

}  // namespace mail::rt
