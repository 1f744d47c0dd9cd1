// Control-socket client (see header). Must not: wait forever on a server that accepts but
// never answers (every step has a deadline).
#include "app/control_client.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <span>
#include <vector>

#include "runtime/await.h"

namespace mail::app {

rt::Task<std::optional<std::string>> ask_server(rt::Env& env, rt::Endpoint at, std::string request) {
  auto stream = co_await rt::connect(env.net(), at, env.clock().now() + Duration(5s));
  if (!stream.ok()) co_return std::nullopt;
  request += '\n';
  auto bytes = std::as_bytes(std::span<const char>(request.data(), request.size()));
  if (auto w = co_await rt::write_all(**stream, bytes, env.clock().now() + Duration(10s)); !w.ok()) co_return std::nullopt;
  std::string answer;
  std::vector<std::byte> buf(64 * 1024);
  for (;;) {
    auto r = co_await rt::read_some(**stream, buf, env.clock().now() + Duration(60s));
    if (!r.ok()) break;
    answer.append(reinterpret_cast<const char*>(buf.data()), *r);
  }
  (*stream)->close();
  co_return answer;
}

bool server_holds_lock(const std::string& pid_path) {
  const int fd = ::open(pid_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return held;
}

long read_pid_file(const std::string& pid_path) {
  std::ifstream in(pid_path);
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return 0;
  return pid;
}

}  // namespace mail::app
