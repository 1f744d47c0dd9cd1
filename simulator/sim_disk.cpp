// SimDisk: the two-layer in-memory file system and its async facade (see sim_disk.h).
#include "sim_disk.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "sim_env.h"

namespace mail::sim {

namespace {
std::string_view mode_name(rt::WriteMode m) noexcept {
  switch (m) {
    case rt::WriteMode::create_new: return "create_new";
    case rt::WriteMode::truncate: return "truncate";
    case rt::WriteMode::append: return "append";
  }
  return "?";
}
}  // namespace

// ============================================================================ DiskState

DiskState::DiskState() {
  Inode root;
  root.dir = true;
  root.links = 1;  // the root is always named
  root.durable_links = 1;
  inodes_.emplace(kRoot, std::move(root));
}

Result<std::vector<std::string>> DiskState::split(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i <= path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    const std::string_view part = path.substr(i, j - i);
    if (part == "..") return fail(Errc::invalid, "'..' in simulated path");
    if (!part.empty() && part != ".") parts.emplace_back(part);
    i = j + 1;
  }
  return parts;
}

namespace {
// The components of a path without copying them ("" and "." skipped; the caller has
// already refused "..", see has_dot_dot).
struct PathParts {
  std::string_view path;
  std::size_t i = 0;
  bool next(std::string_view& part) noexcept {
    while (i <= path.size()) {
      std::size_t j = path.find('/', i);
      if (j == std::string_view::npos) j = path.size();
      part = path.substr(i, j - i);
      i = j + 1;
      if (!part.empty() && part != ".") return true;
    }
    return false;
  }
};

bool has_dot_dot(std::string_view path) noexcept {
  for (std::size_t at = path.find(".."); at != std::string_view::npos; at = path.find("..", at + 1)) {
    const bool starts = at == 0 || path[at - 1] == '/';
    const bool ends = at + 2 == path.size() || path[at + 2] == '/';
    if (starts && ends) return true;
  }
  return false;
}
}  // namespace

Result<DiskState::Ino> DiskState::resolve(std::string_view path) const {
  if (has_dot_dot(path)) return fail(Errc::invalid, "'..' in simulated path");
  Ino cur = kRoot;
  PathParts parts{path};
  std::string_view part;
  while (parts.next(part)) {
    const Inode& node = inodes_.at(cur);
    if (!node.dir) return fail(Errc::invalid, "not a directory");
    auto it = node.entries.find(part);
    if (it == node.entries.end()) return fail(Errc::not_found, std::string(path));
    cur = it->second;
  }
  return cur;
}

Result<std::pair<DiskState::Ino, std::string>> DiskState::resolve_parent(std::string_view path) const {
  if (has_dot_dot(path)) return fail(Errc::invalid, "'..' in simulated path");
  PathParts parts{path};
  std::string_view part;
  if (!parts.next(part)) return fail(Errc::invalid, "the root has no parent");
  Ino cur = kRoot;
  std::string_view next;
  while (parts.next(next)) {
    // `part` names a directory on the way to the last component.
    const Inode& node = inodes_.at(cur);
    auto it = node.entries.find(part);
    if (it == node.entries.end()) return fail(Errc::not_found, std::string(path));
    cur = it->second;
    if (!inodes_.at(cur).dir) return fail(Errc::invalid, "not a directory");
    part = next;
  }
  return std::pair<Ino, std::string>(cur, std::string(part));
}

DiskState::Ino DiskState::new_inode(bool dir) {
  const Ino ino = next_ino_++;
  Inode node;
  node.dir = dir;
  inodes_.emplace(ino, std::move(node));
  return ino;
}

void DiskState::set_entry(Ino dir, const std::string& name, Ino child) {
  Inode& d = inodes_.at(dir);
  d.entries.insert_or_assign(name, child);
  d.changed.insert(name);
}

void DiskState::maybe_free(Ino ino) {
  if (ino == kRoot) return;
  auto it = inodes_.find(ino);
  MAIL_ASSERT(it != inodes_.end());
  if (it->second.links != 0 || it->second.durable_links != 0) return;
  // Unreachable in both layers: free it, and release what its durable entries named
  // (its volatile entries are empty, or it could not have been unlinked).
  MAIL_ASSERT(it->second.entries.empty());
  auto children = std::move(it->second.durable_entries);
  inodes_.erase(it);
  for (const auto& [name, child] : children) {
    Inode& c = inodes_.at(child);
    MAIL_ASSERT(c.durable_links > 0);
    --c.durable_links;
    maybe_free(child);
  }
}

void DiskState::unlink_entry(Ino dir, const std::string& name) {
  Inode& d = inodes_.at(dir);
  auto it = d.entries.find(name);
  MAIL_ASSERT(it != d.entries.end());
  const Ino ino = it->second;
  d.entries.erase(it);
  d.changed.insert(name);
  Inode& node = inodes_.at(ino);
  MAIL_ASSERT(node.links > 0);
  --node.links;
  if (!node.dir && node.links == 0) bytes_used_ -= view(node.data).size();
  maybe_free(ino);
}

bool DiskState::is_ancestor(Ino maybe_ancestor, Ino ino) const {
  if (maybe_ancestor == ino) return true;
  const Inode& a = inodes_.at(maybe_ancestor);
  if (!a.dir) return false;
  for (const auto& [name, child] : a.entries) {
    if (is_ancestor(child, ino)) return true;
  }
  return false;
}

Status DiskState::write(std::string_view path, std::string_view data, rt::WriteMode mode, std::uint64_t quota_bytes) {
  auto parent = resolve_parent(path);
  if (!parent) return fail(parent.error());
  auto& [dir, name] = *parent;
  Inode& d = inodes_.at(dir);
  auto it = d.entries.find(name);
  if (it != d.entries.end()) {
    Inode& node = inodes_.at(it->second);
    if (node.dir) return fail(Errc::invalid, "is a directory");
    if (mode == rt::WriteMode::create_new) return fail(Errc::exists, std::string(path));
    const std::uint64_t old_size = view(node.data).size();
    const std::uint64_t new_size = mode == rt::WriteMode::append ? old_size + data.size() : data.size();
    if (quota_bytes != 0 && new_size > old_size && bytes_used_ + (new_size - old_size) > quota_bytes) {
      return fail(Errc::no_space, "simulated quota");
    }
    if (mode == rt::WriteMode::append && !data.empty()) {
      // Copy on write: the old contents may also be the durable ones.
      if (!node.data || node.data.use_count() > 1) node.data = std::make_shared<std::string>(view(node.data));
      node.data->append(data);
    } else if (mode != rt::WriteMode::append) {
      node.data = std::make_shared<std::string>(data);
    }
    bytes_used_ = bytes_used_ - old_size + new_size;
    node.dirty = true;
    node.positional = false;  // whole-file semantics from here on
    node.dirty_blocks.clear();
    return {};
  }
  if (quota_bytes != 0 && bytes_used_ + data.size() > quota_bytes) return fail(Errc::no_space, "simulated quota");
  const Ino ino = new_inode(false);
  Inode& node = inodes_.at(ino);
  node.data = std::make_shared<std::string>(data);
  node.dirty = true;
  node.links = 1;
  set_entry(dir, name, ino);
  bytes_used_ += data.size();
  return {};
}

Result<std::string> DiskState::read(std::string_view path) const {
  auto ino = resolve(path);
  if (!ino) return fail(ino.error());
  const Inode& node = inodes_.at(*ino);
  if (node.dir) return fail(Errc::invalid, "is a directory");
  return std::string(view(node.data));
}

Result<std::string_view> DiskState::read_view(std::string_view path) const {
  auto ino = resolve(path);
  if (!ino) return fail(ino.error());
  const Inode& node = inodes_.at(*ino);
  if (node.dir) return fail(Errc::invalid, "is a directory");
  return view(node.data);
}

Status DiskState::sync_file(std::string_view path) {
  auto ino = resolve(path);
  if (!ino) return fail(ino.error());
  Inode& node = inodes_.at(*ino);
  if (node.dir) return fail(Errc::invalid, "sync_files on a directory");
  node.durable_data = node.data;
  node.dirty = false;
  node.positional = false;
  node.dirty_blocks.clear();
  return {};
}

Status DiskState::sync_dir(std::string_view path) {
  auto ino = resolve(path);
  if (!ino) return fail(ino.error());
  Inode& d = inodes_.at(*ino);
  if (!d.dir) return fail(Errc::invalid, "sync_dir on a file");
  // Only the names that changed since the last sync (O(changes), not O(directory size)).
  std::vector<Ino> released;
  for (const auto& name : d.changed) {
    auto now = d.entries.find(name);
    auto old = d.durable_entries.find(name);
    const Ino now_ino = now == d.entries.end() ? 0 : now->second;
    const Ino old_ino = old == d.durable_entries.end() ? 0 : old->second;
    if (now_ino == old_ino) continue;
    if (now_ino != 0) {
      ++inodes_.at(now_ino).durable_links;
      d.durable_entries.insert_or_assign(name, now_ino);
    } else {
      d.durable_entries.erase(old);
    }
    if (old_ino != 0) released.push_back(old_ino);
  }
  d.changed.clear();
  for (const Ino gone : released) {
    Inode& c = inodes_.at(gone);
    MAIL_ASSERT(c.durable_links > 0);
    --c.durable_links;
    maybe_free(gone);
  }
  return {};
}

Status DiskState::rename(std::string_view from, std::string_view to) {
  auto src_parent = resolve_parent(from);
  if (!src_parent) return fail(src_parent.error());
  auto dst_parent = resolve_parent(to);
  if (!dst_parent) return fail(dst_parent.error());
  auto& [src_dir, src_name] = *src_parent;
  auto& [dst_dir, dst_name] = *dst_parent;
  auto sit = inodes_.at(src_dir).entries.find(src_name);
  if (sit == inodes_.at(src_dir).entries.end()) return fail(Errc::not_found, std::string(from));
  const Ino src = sit->second;
  if (src_dir == dst_dir && src_name == dst_name) return {};
  const bool src_is_dir = inodes_.at(src).dir;
  if (src_is_dir && is_ancestor(src, dst_dir)) return fail(Errc::invalid, "rename into its own subtree");
  auto& dst_entries = inodes_.at(dst_dir).entries;
  auto dit = dst_entries.find(dst_name);
  if (dit != dst_entries.end()) {
    const Ino dst = dit->second;
    if (dst == src) return {};  // POSIX: two links to one inode, nothing happens
    const Inode& dn = inodes_.at(dst);
    if (dn.dir && !src_is_dir) return fail(Errc::invalid, "is a directory");
    if (!dn.dir && src_is_dir) return fail(Errc::invalid, "not a directory");
    if (dn.dir && !dn.entries.empty()) return fail(Errc::invalid, "directory not empty");
    unlink_entry(dst_dir, dst_name);
  }
  inodes_.at(src_dir).entries.erase(src_name);
  inodes_.at(src_dir).changed.insert(src_name);
  set_entry(dst_dir, dst_name, src);
  return {};
}

Status DiskState::link(std::string_view from, std::string_view to) {
  auto src = resolve(from);
  if (!src) return fail(src.error());
  if (inodes_.at(*src).dir) return fail(Errc::invalid, "hard link to a directory");
  auto dst_parent = resolve_parent(to);
  if (!dst_parent) return fail(dst_parent.error());
  auto& [dst_dir, dst_name] = *dst_parent;
  auto& entries = inodes_.at(dst_dir).entries;
  if (entries.count(dst_name) != 0) return fail(Errc::exists, std::string(to));
  set_entry(dst_dir, dst_name, *src);
  ++inodes_.at(*src).links;
  return {};
}

Status DiskState::remove(std::string_view path) {
  auto parent = resolve_parent(path);
  if (!parent) return fail(parent.error());
  auto& [dir, name] = *parent;
  const auto& entries = inodes_.at(dir).entries;
  auto it = entries.find(name);
  if (it == entries.end()) return fail(Errc::not_found, std::string(path));
  const Inode& node = inodes_.at(it->second);
  if (node.dir && !node.entries.empty()) return fail(Errc::invalid, "directory not empty");
  unlink_entry(dir, name);
  return {};
}

Status DiskState::make_dirs(std::string_view path) {
  auto parts = split(path);
  if (!parts) return fail(parts.error());
  Ino cur = kRoot;
  for (const auto& part : *parts) {
    auto& entries = inodes_.at(cur).entries;
    auto it = entries.find(part);
    if (it != entries.end()) {
      if (!inodes_.at(it->second).dir) return fail(Errc::exists, "a file is in the way");
      cur = it->second;
      continue;
    }
    const Ino ino = new_inode(true);
    inodes_.at(ino).links = 1;
    set_entry(cur, part, ino);
    cur = ino;
  }
  return {};
}

Result<std::vector<rt::DirEntry>> DiskState::list(std::string_view path) const {
  auto ino = resolve(path);
  if (!ino) return fail(ino.error());
  const Inode& d = inodes_.at(*ino);
  if (!d.dir) return fail(Errc::invalid, "not a directory");
  std::vector<rt::DirEntry> out;
  out.reserve(d.entries.size());
  for (const auto& [name, child] : d.entries) out.push_back(rt::DirEntry{name, inodes_.at(child).dir});
  return out;
}

Status DiskState::visit(std::string_view dir, const Visitor& fn) const {
  auto ino = resolve(dir);
  if (!ino) return fail(ino.error());
  const Inode& d = inodes_.at(*ino);
  if (!d.dir) return fail(Errc::invalid, "not a directory");
  for (const auto& [name, child] : d.entries) {
    const Inode& c = inodes_.at(child);
    fn(name, c.dir, c.dir ? std::string_view() : view(c.data));
  }
  return {};
}

Result<std::uint64_t> DiskState::size(std::string_view path) const {
  auto ino = resolve(path);
  if (!ino) return fail(ino.error());
  const Inode& node = inodes_.at(*ino);
  if (node.dir) return fail(Errc::invalid, "is a directory");
  return static_cast<std::uint64_t>(view(node.data).size());
}

bool DiskState::exists(std::string_view path) const { return resolve(path).ok(); }

Result<DiskState::Inode*> DiskState::positional_file(std::string_view path) {
  auto ino = resolve(path);
  if (!ino) return fail(ino.error());
  Inode& node = inodes_.at(*ino);
  if (node.dir) return fail(Errc::invalid, "is a directory");
  // Copy on write: the bytes may be shared with the durable layer or a durable_view().
  if (!node.data || node.data.use_count() > 1) node.data = std::make_shared<std::string>(view(node.data));
  return &node;
}

Status DiskState::write_at(std::string_view path, std::uint64_t offset, std::string_view data, std::uint64_t quota_bytes) {
  auto ino = resolve(path);
  if (!ino) return fail(ino.error());
  const Inode& existing = inodes_.at(*ino);
  if (existing.dir) return fail(Errc::invalid, "is a directory");
  const std::uint64_t old_size = view(existing.data).size();
  const std::uint64_t new_size = std::max<std::uint64_t>(old_size, offset + data.size());
  if (quota_bytes != 0 && new_size > old_size && bytes_used_ + (new_size - old_size) > quota_bytes) {
    return fail(Errc::no_space, "simulated quota");
  }
  if (data.empty()) return {};
  auto node = positional_file(path);
  MAIL_ASSERT(node.ok());
  Inode& n = **node;
  if (n.data->size() < new_size) n.data->resize(new_size, '\0');
  n.data->replace(offset, data.size(), data);
  bytes_used_ = bytes_used_ - old_size + new_size;
  n.dirty = true;
  n.positional = true;
  const std::uint64_t last = (offset + data.size() - 1) / kTearBlockBytes;
  for (std::uint64_t b = offset / kTearBlockBytes; b <= last; ++b) n.dirty_blocks.insert(b);
  return {};
}

Result<std::size_t> DiskState::read_at(std::string_view path, std::uint64_t offset, std::span<std::byte> into) const {
  auto bytes = read_view(path);
  if (!bytes) return fail(bytes.error());
  if (offset >= bytes->size()) return std::size_t{0};
  const std::size_t n = std::min<std::size_t>(into.size(), bytes->size() - offset);
  std::memcpy(into.data(), bytes->data() + offset, n);
  return n;
}

Status DiskState::truncate(std::string_view path, std::uint64_t size, std::uint64_t quota_bytes) {
  auto ino = resolve(path);
  if (!ino) return fail(ino.error());
  const Inode& existing = inodes_.at(*ino);
  if (existing.dir) return fail(Errc::invalid, "is a directory");
  const std::uint64_t old_size = view(existing.data).size();
  if (size == old_size) return {};
  if (quota_bytes != 0 && size > old_size && bytes_used_ + (size - old_size) > quota_bytes) {
    return fail(Errc::no_space, "simulated quota");
  }
  auto node = positional_file(path);
  MAIL_ASSERT(node.ok());
  Inode& n = **node;
  n.data->resize(size, '\0');
  bytes_used_ = bytes_used_ - old_size + size;
  n.dirty = true;
  n.positional = true;
  return {};
}

DiskState::Blob DiskState::torn_blocks(const Inode& node, Prng& tear) {
  const std::string_view now = view(node.data);
  const std::string_view old = view(node.durable_data);
  const std::uint64_t lo = std::min(now.size(), old.size());
  const std::uint64_t hi = std::max(now.size(), old.size());
  const std::uint64_t size = lo == hi ? lo : tear.between(lo, hi);
  auto out = std::make_shared<std::string>(old.substr(0, std::min<std::uint64_t>(old.size(), size)));
  out->resize(size, '\0');
  for (const std::uint64_t b : node.dirty_blocks) {
    const std::uint64_t start = b * kTearBlockBytes;
    if (start >= size) break;
    if (!tear.chance_ppm(500'000)) continue;  // this block never reached the platter
    // Beyond the volatile end (a truncation that did not land), the durable bytes stay.
    const std::uint64_t end = std::min({start + kTearBlockBytes, size, static_cast<std::uint64_t>(now.size())});
    if (end > start) out->replace(start, end - start, now.substr(start, end - start));
  }
  return out;
}

bool DiskState::is_dir(std::string_view path) const {
  auto ino = resolve(path);
  return ino.ok() && inodes_.at(*ino).dir;
}

void DiskState::crash(Prng* tear, std::uint32_t tear_ppm) {
  // 1. Every inode falls back to its durable contents (inode order: deterministic draws).
  for (auto& [ino, node] : inodes_) {
    if (node.dir) {
      node.entries = node.durable_entries;
      node.changed.clear();
      continue;
    }
    if (node.dirty && tear != nullptr && tear_ppm != 0 && tear->chance_ppm(tear_ppm)) {
      if (node.positional) {
        // Positional writes (a database's pages): some of the dirty blocks landed.
        node.durable_data = torn_blocks(node, *tear);
      } else {
        // A torn write: the blocks of a prefix of the new data reached the platter.
        const std::string_view now = view(node.data);
        const std::string_view old = view(node.durable_data);
        std::size_t common = 0;
        const std::size_t lim = std::min(now.size(), old.size());
        while (common < lim && now[common] == old[common]) ++common;
        const auto keep = static_cast<std::size_t>(tear->between(common, now.size()));
        node.durable_data = std::make_shared<std::string>(now.substr(0, keep));
      }
    }
    node.data = node.durable_data;
    node.dirty = false;
    node.positional = false;
    node.dirty_blocks.clear();
  }
  collect_and_recount();
}

void DiskState::collect_and_recount() {
  // 2. Keep only what the durable tree reaches, and recount links.
  std::map<Ino, bool> reachable;
  std::vector<Ino> stack{kRoot};
  while (!stack.empty()) {
    const Ino ino = stack.back();
    stack.pop_back();
    if (!reachable.emplace(ino, true).second) continue;
    for (const auto& [name, child] : inodes_.at(ino).entries) stack.push_back(child);
  }
  bytes_used_ = 0;
  for (auto it = inodes_.begin(); it != inodes_.end();) {
    if (reachable.count(it->first) == 0) {
      it = inodes_.erase(it);
      continue;
    }
    it->second.links = 0;
    it->second.durable_links = 0;
    ++it;
  }
  for (auto& [ino, node] : inodes_) {
    for (const auto& [name, child] : node.entries) {
      Inode& c = inodes_.at(child);
      ++c.links;
      ++c.durable_links;
    }
  }
  for (auto& [ino, node] : inodes_) {
    if (!node.dir) bytes_used_ += view(node.data).size();
  }
  inodes_.at(kRoot).links = 1;
  inodes_.at(kRoot).durable_links = 1;
}

DiskState DiskState::durable_view() const {
  // crash() without tearing on a copy, but copying only the durable layer (file contents
  // are shared pointers; nothing volatile is copied just to be dropped).
  DiskState copy;
  copy.inodes_.clear();
  for (const auto& [ino, node] : inodes_) {
    Inode c;
    c.dir = node.dir;
    if (node.dir) {
      c.entries = node.durable_entries;
      c.durable_entries = node.durable_entries;
    } else {
      c.data = node.durable_data;
      c.durable_data = node.durable_data;
    }
    copy.inodes_.emplace_hint(copy.inodes_.end(), ino, std::move(c));
  }
  copy.next_ino_ = next_ino_;
  copy.collect_and_recount();
  return copy;
}

std::vector<std::string> DiskState::walk() const {
  std::vector<std::string> out;
  std::vector<std::pair<Ino, std::string>> stack{{kRoot, ""}};
  while (!stack.empty()) {
    auto [ino, prefix] = std::move(stack.back());
    stack.pop_back();
    const Inode& node = inodes_.at(ino);
    // Reverse order on the stack gives a sorted pre-order walk.
    for (auto it = node.entries.rbegin(); it != node.entries.rend(); ++it) {
      stack.emplace_back(it->second, prefix + "/" + it->first);
    }
    if (ino != kRoot) out.push_back(node.dir ? prefix + "/" : prefix);
  }
  return out;
}

// ============================================================================ SimDisk

SimDisk::SimDisk(World& world, HostId host, DiskState& state, DiskConfig config, Prng latency_rng, Prng fault_rng)
    : world_(world),
      host_(host),
      state_(state),
      config_(std::move(config)),
      latency_rng_(latency_rng),
      fault_rng_(fault_rng) {}

template <class T, class Apply>
void SimDisk::submit(Kind kind, std::string_view what, std::string detail, rt::Completion<T> done, Apply apply) {
  MAIL_ASSERT(done);
  ++ops_;
  const Latency& lat = kind == Kind::sync ? config_.sync_latency : config_.latency;
  const Duration delay = lat.sample(latency_rng_);
  const std::uint32_t eio_ppm = kind == Kind::read    ? config_.read_eio_ppm
                                : kind == Kind::write ? config_.write_eio_ppm
                                                      : config_.sync_eio_ppm;
  const bool eio = eio_ppm != 0 && fault_rng_.chance_ppm(eio_ppm);
  // The effect happens when the operation completes: a crash before then loses it, and
  // concurrent operations may complete (and so apply) in any order, as with a thread pool.
  world_.schedule_after(delay, host_,
                        [this, eio, what, detail = std::move(detail), done = std::move(done),
                         apply = std::move(apply)]() mutable {
                          if (eio) {
                            world_.record(host_, what, detail + " -> EIO");
                            done(fail(Errc::io, "simulated EIO"));
                            return;
                          }
                          Result<T> r = apply();
                          if (r.ok()) {
                            world_.record(host_, what, detail);
                          } else {
                            world_.record(host_, what, detail + " -> " + std::string(to_string(r.code())));
                          }
                          done(std::move(r));
                        });
}

void SimDisk::async_write_file(std::string path, std::string data, rt::WriteMode mode, rt::Completion<void> done) {
  std::string detail = path + " " + std::string(mode_name(mode)) + " len=" + std::to_string(data.size()) +
                       " h=" + hex64(content_hash(data));
  submit<void>(Kind::write, "disk.write", std::move(detail), std::move(done),
               [this, path = std::move(path), data = std::move(data), mode]() -> Status {
                 return state_.write(path, data, mode, config_.quota_bytes);
               });
}

void SimDisk::async_read_file(std::string path, rt::Completion<std::string> done) {
  std::string detail = path;
  submit<std::string>(Kind::read, "disk.read", std::move(detail), std::move(done),
                      [this, path = std::move(path)]() -> Result<std::string> { return state_.read(path); });
}

void SimDisk::async_read_range(std::string path, std::uint64_t offset, std::size_t max_bytes,
                               rt::Completion<std::string> done) {
  std::string detail = path + " @" + std::to_string(offset);
  submit<std::string>(Kind::read, "disk.read_range", std::move(detail), std::move(done),
                      [this, path = std::move(path), offset, max_bytes]() -> Result<std::string> {
                        auto all = state_.read(path);
                        if (!all.ok() || offset >= all->size()) {
                          if (!all.ok()) return all;
                          return std::string();
                        }
                        return all->substr(static_cast<std::size_t>(offset), max_bytes);
                      });
}

void SimDisk::async_sync_files(std::vector<std::string> paths, rt::Completion<void> done) {
  std::string detail = config_.lying_sync ? "(lying)" : "";
  for (const auto& p : paths) {
    if (!detail.empty()) detail += ' ';
    detail += p;
  }
  submit<void>(Kind::sync, "disk.sync_files", std::move(detail), std::move(done),
               [this, paths = std::move(paths)]() -> Status {
                 if (config_.lying_sync) return {};
                 // One fsync per file, in order; the first failure stops the batch (the
                 // earlier files stay durable, as with a real loop of fsync calls).
                 for (const auto& p : paths) {
                   if (auto s = state_.sync_file(p); !s) return s;
                 }
                 return {};
               });
}

void SimDisk::async_sync_dir(std::string path, rt::Completion<void> done) {
  std::string detail = config_.lying_sync ? "(lying) " + path : path;
  submit<void>(Kind::sync, "disk.sync_dir", std::move(detail), std::move(done),
               [this, path = std::move(path)]() -> Status {
                 if (config_.lying_sync) return {};
                 return state_.sync_dir(path);
               });
}

void SimDisk::async_rename(std::string from, std::string to, rt::Completion<void> done) {
  std::string detail = from + " -> " + to;
  submit<void>(Kind::write, "disk.rename", std::move(detail), std::move(done),
               [this, from = std::move(from), to = std::move(to)]() -> Status { return state_.rename(from, to); });
}

void SimDisk::async_link(std::string from, std::string to, rt::Completion<void> done) {
  std::string detail = from + " => " + to;
  submit<void>(Kind::write, "disk.link", std::move(detail), std::move(done),
               [this, from = std::move(from), to = std::move(to)]() -> Status { return state_.link(from, to); });
}

void SimDisk::async_remove(std::string path, rt::Completion<void> done) {
  std::string detail = path;
  submit<void>(Kind::write, "disk.remove", std::move(detail), std::move(done),
               [this, path = std::move(path)]() -> Status { return state_.remove(path); });
}

void SimDisk::async_make_dirs(std::string path, rt::Completion<void> done) {
  std::string detail = path;
  submit<void>(Kind::write, "disk.mkdirs", std::move(detail), std::move(done),
               [this, path = std::move(path)]() -> Status { return state_.make_dirs(path); });
}

void SimDisk::async_list_dir(std::string path, rt::Completion<std::vector<rt::DirEntry>> done) {
  std::string detail = path;
  submit<std::vector<rt::DirEntry>>(
      Kind::read, "disk.list", std::move(detail), std::move(done),
      [this, path = std::move(path)]() -> Result<std::vector<rt::DirEntry>> { return state_.list(path); });
}

void SimDisk::async_file_size(std::string path, rt::Completion<std::uint64_t> done) {
  std::string detail = path;
  submit<std::uint64_t>(Kind::read, "disk.size", std::move(detail), std::move(done),
                        [this, path = std::move(path)]() -> Result<std::uint64_t> { return state_.size(path); });
}

}  // namespace mail::sim
