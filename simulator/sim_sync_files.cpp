// SimSyncFiles: rt::SyncFiles over DiskState (see sim_sync_files.h).
#include "sim_sync_files.h"

#include <utility>

#include "core/assert.h"

namespace mail::sim {

namespace {

// A handle names its file by path: a file removed while open is gone for it too.
class SimSyncFile final : public rt::SyncFile {
 public:
  SimSyncFile(SimSyncFiles& owner, std::string path) : owner_(owner), path_(std::move(path)) {}

  Result<std::size_t> read(std::uint64_t offset, std::span<std::byte> into) override {
    if (auto s = owner_.check(SimSyncFiles::Kind::read, "sfile.read", path_); !s) return fail(s.error());
    return owner_.state().read_at(path_, offset, into);
  }

  Status write(std::uint64_t offset, std::span<const std::byte> bytes) override {
    if (auto s = owner_.check(SimSyncFiles::Kind::write, "sfile.write", path_); !s) return s;
    const std::string_view data(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    Status s = owner_.state().write_at(path_, offset, data, owner_.config().quota_bytes);
    std::string detail = path_;
    detail += " off=";
    detail += std::to_string(offset);
    detail += " len=";
    detail += std::to_string(bytes.size());
    if (!s) {
      detail += " -> ";
      detail += to_string(s.code());
    }
    owner_.record("sfile.write", detail);
    return s;
  }

  Status truncate(std::uint64_t size) override {
    if (auto s = owner_.check(SimSyncFiles::Kind::write, "sfile.truncate", path_); !s) return s;
    Status s = owner_.state().truncate(path_, size, owner_.config().quota_bytes);
    std::string detail = path_;
    detail += " size=";
    detail += std::to_string(size);
    if (!s) {
      detail += " -> ";
      detail += to_string(s.code());
    }
    owner_.record("sfile.truncate", detail);
    return s;
  }

  Result<std::uint64_t> size() override {
    if (auto s = owner_.check(SimSyncFiles::Kind::read, "sfile.size", path_); !s) return fail(s.error());
    return owner_.state().size(path_);
  }

  Status sync() override {
    if (auto s = owner_.check(SimSyncFiles::Kind::sync, "sfile.sync", path_); !s) return s;
    if (owner_.config().lying_sync) {
      owner_.record("sfile.sync", "(lying) " + path_);
      return {};
    }
    Status s = owner_.state().sync_file(path_);
    owner_.record("sfile.sync", s ? path_ : path_ + " -> " + std::string(to_string(s.code())));
    return s;
  }

 private:
  SimSyncFiles& owner_;
  std::string path_;
};

}  // namespace

SimSyncFiles::SimSyncFiles(World& world, HostId host, std::uint32_t incarnation, DiskState& state, SimDisk& disk,
                           Prng fault_rng)
    : world_(world), host_(host), incarnation_(incarnation), state_(state), disk_(disk), fault_rng_(fault_rng) {}

void SimSyncFiles::record(std::string_view what, std::string_view detail) { world_.record(host_, what, detail); }

Status SimSyncFiles::check(Kind kind, std::string_view what, std::string_view path) {
  ++ops_;
  // World::crash marks the host down before it destroys the services: from then on this
  // disk is gone (what those destructors write is power-lost anyway; a sync must not
  // make it durable). A later boot has a new incarnation and a new SimSyncFiles.
  if (!world_.host_up(host_) || world_.incarnation(host_) != incarnation_) {
    return fail(Errc::io, "simulated host is down");
  }
  const DiskConfig& c = disk_.config();
  const std::uint32_t eio_ppm = kind == Kind::read ? c.read_eio_ppm : kind == Kind::write ? c.write_eio_ppm : c.sync_eio_ppm;
  if (eio_ppm != 0 && fault_rng_.chance_ppm(eio_ppm)) {
    std::string detail(path);
    detail += " -> EIO";
    world_.record(host_, what, detail);
    return fail(Errc::io, "simulated EIO");
  }
  return {};
}

Result<std::unique_ptr<rt::SyncFile>> SimSyncFiles::open(std::string_view path, bool create) {
  if (auto s = check(Kind::write, "sfile.open", path); !s) return fail(s.error());
  if (!state_.exists(path)) {
    if (!create) return fail(Errc::not_found, std::string(path));
    // An empty file: only its directory entry, durable after sync_dir of the parent.
    if (auto s = state_.write(path, {}, rt::WriteMode::create_new, disk_.config().quota_bytes); !s) {
      world_.record(host_, "sfile.create", std::string(path) + " -> " + std::string(to_string(s.code())));
      return fail(s.error());
    }
    world_.record(host_, "sfile.create", path);
  } else if (state_.is_dir(path)) {
    return fail(Errc::invalid, "is a directory");
  }
  return std::unique_ptr<rt::SyncFile>(std::make_unique<SimSyncFile>(*this, std::string(path)));
}

Status SimSyncFiles::remove(std::string_view path) {
  if (auto s = check(Kind::write, "sfile.remove", path); !s) return s;
  Status s = state_.remove(path);
  world_.record(host_, "sfile.remove", s ? std::string(path) : std::string(path) + " -> " + std::string(to_string(s.code())));
  return s;
}

Result<bool> SimSyncFiles::exists(std::string_view path) {
  if (auto s = check(Kind::read, "sfile.exists", path); !s) return fail(s.error());
  return state_.exists(path);
}

Status SimSyncFiles::sync_dir(std::string_view path) {
  if (auto s = check(Kind::sync, "sfile.sync_dir", path); !s) return s;
  if (disk_.config().lying_sync) {
    world_.record(host_, "sfile.sync_dir", "(lying) " + std::string(path));
    return {};
  }
  Status s = state_.sync_dir(path);
  world_.record(host_, "sfile.sync_dir", s ? std::string(path) : std::string(path) + " -> " + std::string(to_string(s.code())));
  return s;
}

}  // namespace mail::sim
