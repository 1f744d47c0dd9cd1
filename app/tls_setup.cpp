// load_server_tls / write_file_durably (see header). App layer: plain POSIX file calls and
// the system clock are allowed here (the certificate's notBefore), not below.
#include "app/tls_setup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>

#include "core/assert.h"
#include "tls/self_signed.h"

namespace mail::app {

Status write_file_durably(const std::string& path, std::string_view data, unsigned mode) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return fail(error_from_errno(errno, "create " + tmp));
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      return fail(error_from_errno(err, "write " + tmp));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return fail(error_from_errno(err, "fsync " + tmp));
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(error_from_errno(errno, "rename " + tmp));
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return fail(error_from_errno(errno, "open " + dir));
  const int synced = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  if (synced != 0) return fail(error_from_errno(err, "fsync " + dir));
  return {};
}

Result<TlsSetup> load_server_tls(const AppConfig& config, const std::string& hostname) {
  TlsSetup out;
  tls::TlsConfig tc;
  tc.cert_chain_file = config.tls.cert_file;
  tc.key_file = config.tls.key_file;
  if (tc.cert_chain_file.empty()) {
    const std::string dir = config.tls_dir();
    tc.cert_chain_file = dir + "/cert.pem";
    tc.key_file = dir + "/key.pem";
    std::error_code ec;
    if (!std::filesystem::exists(tc.cert_chain_file, ec) || !std::filesystem::exists(tc.key_file, ec)) {
      if (auto made = make_private_dirs(dir); !made.ok()) return fail(made.error());
      const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      auto pair = tls::generate_self_signed(hostname, WallTime{now_us});
      if (!pair.ok()) return fail(pair.error().code, "self-signed certificate: " + pair.error().detail);
      // The key first: a crash in between leaves no certificate, so the next start retries.
      if (auto w = write_file_durably(tc.key_file, pair->key_pem, 0600); !w.ok()) return fail(w.error());
      if (auto w = write_file_durably(tc.cert_chain_file, pair->cert_pem, 0644); !w.ok()) return fail(w.error());
      out.generated = true;
    }
  }
  auto ctx = tls::TlsContext::create(tls::Role::server, tc);
  if (!ctx.ok()) return fail(ctx.error().code, tc.cert_chain_file + ": " + ctx.error().detail);
  out.context = std::shared_ptr<tls::TlsContext>(std::move(ctx.value()));
  out.cert_file = tc.cert_chain_file;
  return out;
}

Status make_private_dirs(const std::string& path) {
  MAIL_ASSERT(!path.empty());
  std::string prefix;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    const std::size_t slash = path.find('/', pos);
    prefix = path.substr(0, slash == std::string::npos ? path.size() : slash);
    pos = slash == std::string::npos ? path.size() + 1 : slash + 1;
    if (prefix.empty() || prefix == "." || prefix == "..") continue;
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return fail(error_from_errno(errno, "cannot create " + prefix));
    }
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return fail(Errc::io, "cannot create " + path + ": not a directory");
  return {};
}

}  // namespace mail::app
