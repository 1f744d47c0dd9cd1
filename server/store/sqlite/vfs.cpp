// Vfs: sqlite3_vfs (version 2) and sqlite3_io_methods (version 1) over rt::SyncFiles
// (see vfs.h). SQLite allocates each file object (szOsFile bytes) and calls xOpen on it;
// our C++ state lives in that block by placement new and dies in xClose.
#include "store/sqlite/vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <utility>

#include "core/assert.h"
#include "core/prng.h"

namespace mail::store::sqlite {

struct Vfs::Impl {
  sqlite3_vfs vfs{};
  std::string name;
  rt::SyncFiles& files;
  std::function<std::int64_t()> unix_ms_now;
  std::mutex rng_mu;  // xRandomness may be called from several lanes' threads
  Prng rng;
  Impl(rt::SyncFiles& f, VfsOptions o) : files(f), unix_ms_now(std::move(o.unix_ms_now)), rng(o.seed) {}
};

namespace {

// 2026-01-01T00:00:00Z, the simulator's wall epoch, when no clock is given.
constexpr std::int64_t kDefaultUnixMs = 1'767'225'600'000;
// Julian day number of the Unix epoch, in milliseconds (what xCurrentTimeInt64 counts).
constexpr std::int64_t kUnixEpochJulianMs = 210'866'760'000'000;
// Our tear model tears at 512-byte granularity; we claim no atomic or power-safe
// overwrite, so SQLite pads WAL commits to this boundary and trusts nothing more.
constexpr int kSectorBytes = 512;
constexpr int kPathMax = 1024;

struct File {
  sqlite3_file base;  // first: SQLite sees a sqlite3_file*
  Vfs::Impl* vfs;
  std::unique_ptr<rt::SyncFile> file;
  std::string path;
  bool delete_on_close;
  bool dir_sync_pending;  // we created it: its directory entry needs a sync_dir
};
static_assert(std::is_standard_layout_v<sqlite3_file>);

File* as_file(sqlite3_file* f) noexcept { return reinterpret_cast<File*>(f); }
Vfs::Impl* as_impl(sqlite3_vfs* v) noexcept { return static_cast<Vfs::Impl*>(v->pAppData); }

std::string parent_of(std::string_view path) {
  const auto slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

int io_code(const Error& e, int fallback) noexcept {
  if (e.code == Errc::no_space) return SQLITE_FULL;
  return fallback;
}

// ---------------------------------------------------------------- io methods

int x_close(sqlite3_file* f) {
  File* file = as_file(f);
  int rc = SQLITE_OK;
  file->file.reset();
  if (file->delete_on_close) {
    if (auto s = file->vfs->files.remove(file->path); !s && s.error().code != Errc::not_found) rc = SQLITE_IOERR_CLOSE;
  }
  file->~File();
  return rc;
}

int x_read(sqlite3_file* f, void* out, int amount, sqlite3_int64 offset) {
  File* file = as_file(f);
  MAIL_ASSERT(amount >= 0);
  MAIL_ASSERT(offset >= 0);
  auto n = file->file->read(static_cast<std::uint64_t>(offset),
                            std::span<std::byte>(static_cast<std::byte*>(out), static_cast<std::size_t>(amount)));
  if (!n) return SQLITE_IOERR_READ;
  MAIL_ASSERT(*n <= static_cast<std::size_t>(amount));
  if (*n < static_cast<std::size_t>(amount)) {
    // SQLite requires the unread tail to be zeroed on a short read.
    std::memset(static_cast<char*>(out) + *n, 0, static_cast<std::size_t>(amount) - *n);
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

int x_write(sqlite3_file* f, const void* in, int amount, sqlite3_int64 offset) {
  File* file = as_file(f);
  MAIL_ASSERT(amount >= 0);
  MAIL_ASSERT(offset >= 0);
  auto s = file->file->write(static_cast<std::uint64_t>(offset),
                             std::span<const std::byte>(static_cast<const std::byte*>(in), static_cast<std::size_t>(amount)));
  return s ? SQLITE_OK : io_code(s.error(), SQLITE_IOERR_WRITE);
}

int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  MAIL_ASSERT(size >= 0);
  auto s = as_file(f)->file->truncate(static_cast<std::uint64_t>(size));
  return s ? SQLITE_OK : io_code(s.error(), SQLITE_IOERR_TRUNCATE);
}

int x_sync(sqlite3_file* f, int /*flags*/) {
  File* file = as_file(f);
  if (auto s = file->file->sync(); !s) return SQLITE_IOERR_FSYNC;
  // Like the unix VFS (which does it for journals and the WAL), but for every file we
  // created, the main database too: a synced file whose name is not durable is lost.
  if (file->dir_sync_pending) {
    if (auto s = file->vfs->files.sync_dir(parent_of(file->path)); !s) return SQLITE_IOERR_DIR_FSYNC;
    file->dir_sync_pending = false;
  }
  return SQLITE_OK;
}

int x_file_size(sqlite3_file* f, sqlite3_int64* out) {
  auto n = as_file(f)->file->size();
  if (!n) return SQLITE_IOERR_FSTAT;
  *out = static_cast<sqlite3_int64>(*n);
  return SQLITE_OK;
}

// No locks: one connection per file, locking_mode=EXCLUSIVE, one process (vfs.h).
int x_lock(sqlite3_file*, int) { return SQLITE_OK; }
int x_unlock(sqlite3_file*, int) { return SQLITE_OK; }
int x_check_reserved_lock(sqlite3_file*, int* out) {
  *out = 0;
  return SQLITE_OK;
}
int x_file_control(sqlite3_file*, int, void*) { return SQLITE_NOTFOUND; }
int x_sector_size(sqlite3_file*) { return kSectorBytes; }
int x_device_characteristics(sqlite3_file*) { return 0; }

const sqlite3_io_methods kIoMethods = {
    1,  // iVersion: no xShm* (WAL index in heap memory under exclusive locking)
    x_close,       x_read,          x_write,          x_truncate, x_sync, x_file_size, x_lock, x_unlock,
    x_check_reserved_lock, x_file_control, x_sector_size, x_device_characteristics,
    nullptr,  // xShmMap
    nullptr,  // xShmLock
    nullptr,  // xShmBarrier
    nullptr,  // xShmUnmap
    nullptr,  // xFetch
    nullptr,  // xUnfetch
};

// ---------------------------------------------------------------- vfs methods

int x_open(sqlite3_vfs* v, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  Vfs::Impl* impl = as_impl(v);
  f->pMethods = nullptr;  // SQLite calls xClose only if this is set
  // Temporary files (no name) are not supported: temp_store=MEMORY keeps them in memory.
  if (name == nullptr) return SQLITE_CANTOPEN;
  const bool create = (flags & SQLITE_OPEN_CREATE) != 0;
  bool created = false;
  if (create) {
    auto there = impl->files.exists(name);
    if (!there) return SQLITE_CANTOPEN;
    if (*there && (flags & SQLITE_OPEN_EXCLUSIVE) != 0) return SQLITE_CANTOPEN;
    created = !*there;
  }
  auto file = impl->files.open(name, create);
  if (!file) return file.error().code == Errc::no_space ? SQLITE_FULL : SQLITE_CANTOPEN;
  File* self = new (f) File{sqlite3_file{}, impl, std::move(*file), name, (flags & SQLITE_OPEN_DELETEONCLOSE) != 0, created};
  self->base.pMethods = &kIoMethods;
  if (out_flags != nullptr) *out_flags = flags;
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs* v, const char* name, int dir_sync) {
  Vfs::Impl* impl = as_impl(v);
  if (auto s = impl->files.remove(name); !s) {
    return s.error().code == Errc::not_found ? SQLITE_IOERR_DELETE_NOENT : SQLITE_IOERR_DELETE;
  }
  if (dir_sync != 0) {
    if (auto s = impl->files.sync_dir(parent_of(name)); !s) return SQLITE_IOERR_DIR_FSYNC;
  }
  return SQLITE_OK;
}

int x_access(sqlite3_vfs* v, const char* name, int /*flags*/, int* out) {
  // SQLITE_ACCESS_EXISTS / READWRITE / READ: every file we can see we can read and write.
  auto there = as_impl(v)->files.exists(name);
  if (!there) return SQLITE_IOERR_ACCESS;
  *out = *there ? 1 : 0;
  return SQLITE_OK;
}

int x_full_pathname(sqlite3_vfs*, const char* name, int n_out, char* out) {
  // Paths are the Env's own (absolute in production, rooted in the simulator): as given.
  const std::size_t len = std::strlen(name);
  if (len + 1 > static_cast<std::size_t>(n_out)) return SQLITE_CANTOPEN;
  std::memcpy(out, name, len + 1);
  return SQLITE_OK;
}

void* x_dl_open(sqlite3_vfs*, const char*) { return nullptr; }  // no extensions
void x_dl_error(sqlite3_vfs*, int n, char* out) {
  if (n > 0) std::snprintf(out, static_cast<std::size_t>(n), "%s", "extensions are not supported");
}
void (*x_dl_sym(sqlite3_vfs*, void*, const char*))(void) { return nullptr; }
void x_dl_close(sqlite3_vfs*, void*) {}

int x_randomness(sqlite3_vfs* v, int n, char* out) {
  Vfs::Impl* impl = as_impl(v);
  std::lock_guard lock(impl->rng_mu);
  for (int i = 0; i < n; i += 8) {
    const std::uint64_t r = impl->rng.next_u64();
    std::memcpy(out + i, &r, static_cast<std::size_t>(std::min(8, n - i)));
  }
  return n;
}

int x_sleep(sqlite3_vfs*, int micros) { return micros; }  // never waits: nothing to wait for

std::int64_t unix_ms(Vfs::Impl* impl) { return impl->unix_ms_now ? impl->unix_ms_now() : kDefaultUnixMs; }

int x_current_time_int64(sqlite3_vfs* v, sqlite3_int64* out) {
  *out = kUnixEpochJulianMs + unix_ms(as_impl(v));
  return SQLITE_OK;
}

int x_current_time(sqlite3_vfs* v, double* out) {
  *out = static_cast<double>(kUnixEpochJulianMs + unix_ms(as_impl(v))) / 86'400'000.0;
  return SQLITE_OK;
}

int x_get_last_error(sqlite3_vfs*, int, char*) { return 0; }

std::atomic<std::uint64_t> g_next_vfs{1};

}  // namespace

Result<std::unique_ptr<Vfs>> Vfs::make(rt::SyncFiles& files, VfsOptions options) {
  auto impl = std::make_unique<Impl>(files, std::move(options));
  impl->name = "cloudsdial-" + std::to_string(g_next_vfs.fetch_add(1));
  sqlite3_vfs& v = impl->vfs;
  v.iVersion = 2;
  v.szOsFile = static_cast<int>(sizeof(File));
  v.mxPathname = kPathMax;
  v.zName = impl->name.c_str();
  v.pAppData = impl.get();
  v.xOpen = x_open;
  v.xDelete = x_delete;
  v.xAccess = x_access;
  v.xFullPathname = x_full_pathname;
  v.xDlOpen = x_dl_open;
  v.xDlError = x_dl_error;
  v.xDlSym = x_dl_sym;
  v.xDlClose = x_dl_close;
  v.xRandomness = x_randomness;
  v.xSleep = x_sleep;
  v.xCurrentTime = x_current_time;
  v.xGetLastError = x_get_last_error;
  v.xCurrentTimeInt64 = x_current_time_int64;
  if (const int rc = sqlite3_vfs_register(&v, 0); rc != SQLITE_OK) {
    return fail(Errc::io, std::string("sqlite: registering a VFS: ") + sqlite3_errstr(rc));
  }
  return std::unique_ptr<Vfs>(new Vfs(std::move(impl)));
}

Result<std::unique_ptr<Vfs>> Vfs::for_env(rt::Env& env) {
  rt::SyncFiles* files = env.sync_files();
  if (files == nullptr) return std::unique_ptr<Vfs>();
  VfsOptions o;
  o.seed = env.rng().fork("sqlite-vfs").seed();
  rt::Clock& clock = env.clock();
  o.unix_ms_now = [&clock] { return clock.wall_now().unix_us / 1000; };
  return make(*files, std::move(o));
}

Vfs::Vfs(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}

Vfs::~Vfs() {
  if (impl_) sqlite3_vfs_unregister(&impl_->vfs);
}

const std::string& Vfs::name() const noexcept { return impl_->name; }

}  // namespace mail::store::sqlite
