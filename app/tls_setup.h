// The server's TLS certificate at startup and on SIGHUP: the configured PEM files, or a
// self-signed pair generated once under <data_dir>/tls (written durably, key mode 0600)
// when none is configured — the server says so, since clients will not verify it.
#pragma once

#include <memory>
#include <string>

#include "app/config.h"
#include "core/result.h"
#include "tls/context.h"

namespace mail::app {

struct TlsSetup {
  std::shared_ptr<tls::TlsContext> context;
  std::string cert_file;   // what was loaded
  bool generated = false;  // a self-signed pair was created just now
};

// Loads (or first generates) the certificate for `hostname`. Errors name the file.
Result<TlsSetup> load_server_tls(const AppConfig& config, const std::string& hostname);

// Writes `data` to `path` durably: a temporary file, fsync, rename, fsync of the directory.
Status write_file_durably(const std::string& path, std::string_view data, unsigned mode);

// mkdir -p with mode 0700 for every directory it creates (existing ones keep their mode):
// the data directory holds mail, the users' credentials and the TLS key, so what we create
// is never readable by other users, whatever the umask.
Status make_private_dirs(const std::string& path);

}  // namespace mail::app
