#include "host-runtime/snapshotter/erofs_snapshotter.h"

#include <ftw.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "host-runtime/rootfs/erofs_layers_mount.h"
#include "host-runtime/snapshotter/host_layers_mount.h"
#include "host-runtime/snapshotter/loop_mount.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"
#include "libkata/mount/remove_tree.h"

namespace kata::snapshotter {
namespace {

const log::Subsystem kLog("snapshotter");

constexpr size_t kMaxKeyBytes = 4096;
constexpr size_t kMaxLabelBytes = 4096;  // containerd's labels.Validate: name + value

constexpr char kLayerFile[] = "layer.erofs";
constexpr char kMergedFile[] = "merged.erofs";
constexpr char kWritableImage[] = "rw.img";

absl::Status MakeDir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return ErrnoStatus(errno, StrCat("mkdir ", path));
  return absl::OkStatus();
}

// Bytes a file or tree takes on disk, and its inodes (nftw's callback has no context pointer).
thread_local SnapshotUsage* walk_usage = nullptr;
int AddUsage(const char*, const struct stat* st, int, struct FTW*) {
  walk_usage->size += static_cast<int64_t>(st->st_blocks) * 512;
  walk_usage->inodes += 1;
  return 0;
}

absl::StatusOr<SnapshotUsage> DiskUsage(const std::string& path) {
  SnapshotUsage usage;
  walk_usage = &usage;
  const int rc = ::nftw(path.c_str(), AddUsage, 64, FTW_PHYS | FTW_MOUNT);
  walk_usage = nullptr;
  if (rc != 0) return ErrnoStatus(errno, StrCat("usage of ", path));
  return usage;
}

}  // namespace

bool IsUnpackKey(std::string_view key) {
  // "<namespace>/<n>/<key>" through containerd's metadata layer; a bare key otherwise.
  size_t slash = key.find('/');
  if (slash != std::string_view::npos) {
    const size_t second = key.find('/', slash + 1);
    if (second != std::string_view::npos) key.remove_prefix(second + 1);
  }
  return key.starts_with("extract-");
}

absl::Status ValidateKey(std::string_view field, std::string_view key) {
  if (key.empty()) return absl::InvalidArgumentError(StrCat(field, ": empty"));
  if (key.size() > kMaxKeyBytes) return absl::InvalidArgumentError(StrCat(field, ": longer than ", kMaxKeyBytes, " bytes"));
  if (key.find('\0') != std::string_view::npos) return absl::InvalidArgumentError(StrCat(field, ": holds a NUL byte"));
  return absl::OkStatus();
}

absl::Status ValidateLabels(const Labels& labels) {
  for (const auto& [name, value] : labels) {
    if (name.empty()) return absl::InvalidArgumentError("labels: a label has an empty name");
    if (name.size() + value.size() > kMaxLabelBytes) {
      return absl::InvalidArgumentError(StrCat("labels: label \"", name.substr(0, 64), "\" is longer than ", kMaxLabelBytes, " bytes"));
    }
    if (name.find('\0') != std::string::npos || value.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(StrCat("labels: label \"", name.substr(0, 64), "\" holds a NUL byte"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ErofsSnapshotter>> ErofsSnapshotter::Open(const SnapshotterOptions& options) {
  if (options.root.empty() || options.root.front() != '/') {
    return absl::InvalidArgumentError(StrCat("root \"", options.root, "\": want an absolute path"));
  }
  std::error_code ec;
  std::filesystem::create_directories(options.root, ec);
  if (ec) return absl::InternalError(StrCat("create root ", options.root, ": ", ec.message()));
  ::chmod(options.root.c_str(), 0700);
  for (const char* dir : {"/snapshots", "/template", "/template/upper", "/template/work", "/empty"}) {
    RETURN_IF_ERROR(MakeDir(options.root + dir, std::string_view(dir) == "/snapshots" ? 0700 : 0755));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<SnapshotStore> store, SnapshotStore::Open(options.root + "/metadata.db"));
  SnapshotterOptions resolved = options;
  RETURN_IF_ERROR(ResolveLayerTools(&resolved.tools));
  std::unique_ptr<ErofsSnapshotter> s(new ErofsSnapshotter(resolved, std::move(store)));
  {
    absl::MutexLock lock(&s->mu_);
    RETURN_IF_ERROR(s->CleanupLocked());
  }
  return s;
}

std::string ErofsSnapshotter::SnapshotDir(int64_t id) const { return StrCat(options_.root, "/snapshots/", id); }

absl::StatusOr<std::vector<runtime::RootfsMount>> ErofsSnapshotter::MountsOf(const SnapshotRecord& r) {
  if (r.kind == SnapshotKind::kCommitted) {
    return absl::FailedPreconditionError(StrCat("snapshot \"", r.key, "\" is committed: only active snapshots and views have mounts"));
  }
  const std::string dir = SnapshotDir(r.id);
  std::vector<std::string> layers;
  if (r.parent_id != 0) {
    ASSIGN_OR_RETURN(std::vector<int64_t> chain, store_->Chain(r.parent_id));
    layers = LayersOf(chain);
  }
  if (r.kind == SnapshotKind::kView) {
    if (layers.empty()) return std::vector<runtime::RootfsMount>{{"bind", dir + "/fs", "", {"ro", "rbind"}}};
    return std::vector<runtime::RootfsMount>{runtime::ToRootfsMount({"", layers, {"ro"}})};
  }
  if (r.writable == WritableLayer::kDirectory) {
    if (layers.empty()) return std::vector<runtime::RootfsMount>{{"bind", dir + "/fs", "", {"rw", "rbind"}}};
    // Only containerd's differ uses an unpack's mounts, and it writes straight into upperdir
    // (whiteouts as overlayfs writes them). The parents are EROFS files, not directories, so
    // lowerdir is an empty directory: the mount stays well-formed without any host mount.
    return std::vector<runtime::RootfsMount>{
        {"overlay", "overlay", "", {"workdir=" + dir + "/work", "upperdir=" + dir + "/fs", "lowerdir=" + options_.root + "/empty"}}};
  }
  return std::vector<runtime::RootfsMount>{runtime::ToRootfsMount({dir + "/" + kWritableImage, layers, {}})};
}

std::vector<std::string> ErofsSnapshotter::LayersOf(const std::vector<int64_t>& chain) const {
  if (chain.size() >= 2) {
    const std::string merged = StrCat(SnapshotDir(chain[0]), "/", kMergedFile);
    if (::access(merged.c_str(), F_OK) == 0) return {merged};
  }
  std::vector<std::string> layers;
  for (int64_t id : chain) layers.push_back(StrCat(SnapshotDir(id), "/", kLayerFile));
  return layers;
}

absl::Status ErofsSnapshotter::EnsureMerged(const std::vector<int64_t>& chain) {
  if (chain.size() < 2) return absl::OkStatus();
  const std::string merged = StrCat(SnapshotDir(chain[0]), "/", kMergedFile);
  if (::access(merged.c_str(), F_OK) == 0) return absl::OkStatus();
  runtime::ErofsLayersMount view;
  for (int64_t id : chain) view.layers.push_back(StrCat(SnapshotDir(id), "/", kLayerFile));
  view.other_options = {"ro"};
  const std::string dir = StrCat(options_.root, "/merging-", chain[0]);
  RETURN_IF_ERROR(MakeDir(dir, 0700));
  absl::Status s = MountLayersOnHost(view, dir, options_.root + "/scratch");
  if (s.ok()) {
    const absl::Time start = absl::Now();
    s = MakeErofsLayer(options_.tools, dir, merged);
    if (absl::Status u = Unmount(dir, MNT_DETACH); !u.ok() && s.ok()) s = u;
    if (s.ok()) {
      kLog.Info("layers merged", {{"layers", static_cast<int64_t>(chain.size())}, {"path", merged},
                                  {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
    }
  }
  ::rmdir(dir.c_str());
  return s;
}

absl::StatusOr<std::vector<runtime::RootfsMount>> ErofsSnapshotter::Create(SnapshotKind kind, const std::string& key,
                                                                          const std::string& parent, const Labels& labels) {
  RETURN_IF_ERROR(ValidateKey("key", key));
  if (!parent.empty()) RETURN_IF_ERROR(ValidateKey("parent", parent));
  RETURN_IF_ERROR(ValidateLabels(labels));
  absl::MutexLock lock(&mu_);
  std::vector<runtime::RootfsMount> mounts;
  std::string made_dir;
  absl::Status s = store_->InTransaction([&]() -> absl::Status {
    SnapshotRecord r;
    r.key = key;
    r.kind = kind;
    r.labels = labels;
    r.created = r.updated = absl::Now();
    if (!parent.empty()) {
      auto p = store_->Get(parent);
      if (absl::IsNotFound(p.status())) return absl::NotFoundError(StrCat("parent snapshot \"", parent, "\" does not exist"));
      if (!p.ok()) return p.status();
      if (p->kind != SnapshotKind::kCommitted) {
        return absl::InvalidArgumentError(StrCat("parent \"", parent, "\" is not a committed snapshot"));
      }
      r.parent_id = p->id;
    }
    r.writable = kind == SnapshotKind::kView ? WritableLayer::kNone
                 : IsUnpackKey(key)          ? WritableLayer::kDirectory
                                             : WritableLayer::kExt4Image;
    ASSIGN_OR_RETURN(r, store_->Insert(std::move(r)));
    const std::string dir = SnapshotDir(r.id);
    RETURN_IF_ERROR(kata::mount::UnmountAndRemoveTree(dir));  // ids are never reused; this is only belt and braces
    RETURN_IF_ERROR(MakeDir(dir, 0700));
    made_dir = dir;
    if (r.writable == WritableLayer::kDirectory) {
      RETURN_IF_ERROR(MakeDir(dir + "/fs", 0755));
      RETURN_IF_ERROR(MakeDir(dir + "/work", 0700));
    } else if (r.writable == WritableLayer::kExt4Image) {
      RETURN_IF_ERROR(MakeWritableImage(options_.tools, dir + "/" + kWritableImage, options_.writable_size_bytes,
                                        options_.root + "/template"));
    } else if (r.parent_id == 0) {
      RETURN_IF_ERROR(MakeDir(dir + "/fs", 0755));
    }
    if (r.writable != WritableLayer::kDirectory && r.parent_id != 0 && options_.merge_layers) {
      ASSIGN_OR_RETURN(std::vector<int64_t> chain, store_->Chain(r.parent_id));
      // Without it the snapshot still works, a disk per layer: worth a warning, not a failure.
      if (absl::Status s = EnsureMerged(chain); !s.ok()) kLog.Warn("layers not merged", {{"key", key}, {"error", s.ToString()}});
    }
    ASSIGN_OR_RETURN(mounts, MountsOf(r));
    return absl::OkStatus();
  });
  if (!s.ok()) {
    if (!made_dir.empty()) (void)kata::mount::UnmountAndRemoveTree(made_dir);
    return s;
  }
  kLog.Info(kind == SnapshotKind::kView ? "view created" : "snapshot prepared", {{"key", key}, {"parent", parent}});
  return mounts;
}

absl::StatusOr<std::vector<runtime::RootfsMount>> ErofsSnapshotter::Prepare(const std::string& key, const std::string& parent,
                                                                           const Labels& labels) {
  return Create(SnapshotKind::kActive, key, parent, labels);
}

absl::StatusOr<std::vector<runtime::RootfsMount>> ErofsSnapshotter::View(const std::string& key, const std::string& parent,
                                                                        const Labels& labels) {
  return Create(SnapshotKind::kView, key, parent, labels);
}

absl::StatusOr<std::vector<runtime::RootfsMount>> ErofsSnapshotter::Mounts(const std::string& key) {
  RETURN_IF_ERROR(ValidateKey("key", key));
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SnapshotRecord r, store_->Get(key));
  return MountsOf(r);
}

absl::Status ErofsSnapshotter::Commit(const std::string& name, const std::string& key, const Labels& labels) {
  RETURN_IF_ERROR(ValidateKey("name", name));
  RETURN_IF_ERROR(ValidateKey("key", key));
  RETURN_IF_ERROR(ValidateLabels(labels));
  absl::MutexLock lock(&mu_);
  int64_t id = 0;
  RETURN_IF_ERROR(store_->InTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(SnapshotRecord r, store_->Get(key));
    if (r.kind != SnapshotKind::kActive) return absl::FailedPreconditionError(StrCat("snapshot \"", key, "\" is not active"));
    if (store_->Get(name).ok()) return absl::AlreadyExistsError(StrCat("snapshot \"", name, "\" already exists"));
    id = r.id;
    const std::string dir = SnapshotDir(r.id);
    const std::string layer = StrCat(dir, "/", kLayerFile);
    if (r.writable == WritableLayer::kDirectory) {
      RETURN_IF_ERROR(MakeErofsLayer(options_.tools, dir + "/fs", layer));
    } else {
      RETURN_IF_ERROR(MakeErofsLayerFromImage(options_.tools, StrCat(dir, "/", kWritableImage), dir + "/mnt", layer));
    }
    return store_->MarkCommitted(r.id, name, labels, absl::Now());
  }));
  // The layer is in layer.erofs now; what it was made from goes (Cleanup retries a failure).
  const std::string dir = SnapshotDir(id);
  for (const std::string& leftover : {dir + "/fs", dir + "/work", dir + "/mnt"}) {
    if (absl::Status s = kata::mount::UnmountAndRemoveTree(leftover); !s.ok()) kLog.Warn("remove after commit", {{"error", s.ToString()}});
  }
  ::unlink(StrCat(dir, "/", kWritableImage).c_str());
  kLog.Info("snapshot committed", {{"key", key}, {"name", name}});
  return absl::OkStatus();
}

absl::Status ErofsSnapshotter::Remove(const std::string& key) {
  RETURN_IF_ERROR(ValidateKey("key", key));
  absl::MutexLock lock(&mu_);
  int64_t id = 0;
  RETURN_IF_ERROR(store_->InTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(SnapshotRecord r, store_->Get(key));
    ASSIGN_OR_RETURN(int64_t children, store_->CountChildren(r.id));
    if (children > 0) {
      return absl::FailedPreconditionError(StrCat("snapshot \"", key, "\" has ", children, " child snapshot(s): remove them first"));
    }
    id = r.id;
    return store_->Delete(r.id);
  }));
  if (absl::Status s = kata::mount::UnmountAndRemoveTree(SnapshotDir(id)); !s.ok()) {
    kLog.Warn("snapshot removed; its files stay until cleanup", {{"key", key}, {"error", s.ToString()}});
  }
  kLog.Info("snapshot removed", {{"key", key}});
  return absl::OkStatus();
}

absl::StatusOr<SnapshotRecord> ErofsSnapshotter::Stat(const std::string& key) {
  RETURN_IF_ERROR(ValidateKey("key", key));
  absl::MutexLock lock(&mu_);
  return store_->Get(key);
}

absl::StatusOr<SnapshotRecord> ErofsSnapshotter::Update(const std::string& key, const LabelUpdate& update) {
  RETURN_IF_ERROR(ValidateKey("info.name", key));
  RETURN_IF_ERROR(ValidateLabels(update.labels));
  absl::MutexLock lock(&mu_);
  SnapshotRecord out;
  RETURN_IF_ERROR(store_->InTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(SnapshotRecord r, store_->Get(key));
    Labels labels = r.labels;
    if (update.paths.empty()) labels = update.labels;
    for (const std::string& path : update.paths) {
      if (path == "labels") {
        labels = update.labels;
      } else if (path.starts_with("labels.") && path.size() > 7) {
        const std::string name = path.substr(7);
        if (auto it = update.labels.find(name); it != update.labels.end()) {
          labels[name] = it->second;
        } else {
          labels.erase(name);
        }
      } else {
        return absl::InvalidArgumentError(StrCat("update_mask: cannot update field \"", path, "\" of a snapshot (only labels)"));
      }
    }
    RETURN_IF_ERROR(ValidateLabels(labels));
    RETURN_IF_ERROR(store_->SetLabels(r.id, labels, absl::Now()));
    ASSIGN_OR_RETURN(out, store_->Get(key));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<SnapshotRecord>> ErofsSnapshotter::List() {
  absl::MutexLock lock(&mu_);
  return store_->All();
}

absl::StatusOr<SnapshotUsage> ErofsSnapshotter::Usage(const std::string& key) {
  RETURN_IF_ERROR(ValidateKey("key", key));
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SnapshotRecord r, store_->Get(key));
  const std::string dir = SnapshotDir(r.id);
  switch (r.kind == SnapshotKind::kCommitted ? WritableLayer::kNone : r.writable) {
    case WritableLayer::kDirectory:
      return DiskUsage(dir + "/fs");
    case WritableLayer::kExt4Image:
      return DiskUsage(StrCat(dir, "/", kWritableImage));
    case WritableLayer::kNone:
      break;
  }
  if (r.kind == SnapshotKind::kView) return SnapshotUsage{};
  return DiskUsage(dir);  // layer.erofs, and merged.erofs when a chain ends here
}

absl::Status ErofsSnapshotter::Cleanup() {
  absl::MutexLock lock(&mu_);
  return CleanupLocked();
}

absl::Status ErofsSnapshotter::CleanupLocked() {
  ASSIGN_OR_RETURN(std::vector<SnapshotRecord> all, store_->All());
  std::map<int64_t, const SnapshotRecord*> by_id;
  for (const SnapshotRecord& r : all) by_id[r.id] = &r;
  std::error_code ec;
  const std::string snapshots = options_.root + "/snapshots";
  std::vector<std::string> orphans;
  for (const auto& entry : std::filesystem::directory_iterator(snapshots, ec)) {
    int64_t id = 0;
    const std::string name = entry.path().filename();
    auto it = absl::SimpleAtoi(name, &id) ? by_id.find(id) : by_id.end();
    if (it == by_id.end()) {
      orphans.push_back(entry.path());
      continue;
    }
    const std::string dir = entry.path();
    ::unlink((dir + "/" + kLayerFile + ".tmp").c_str());  // a commit cut short
    ::unlink(StrCat(dir, "/", kMergedFile, ".tmp").c_str());  // a merge cut short
    if (it->second->kind == SnapshotKind::kCommitted) {  // a commit whose tidy-up was cut short
      for (const char* leftover : {"/fs", "/work", "/mnt"}) orphans.push_back(dir + leftover);
      ::unlink(StrCat(dir, "/", kWritableImage).c_str());
    }
  }
  if (ec) return absl::InternalError(StrCat("list ", snapshots, ": ", ec.message()));
  // A merge cut short: its host overlay, and the helper's directories under it.
  for (const auto& entry : std::filesystem::directory_iterator(options_.root, ec)) {
    if (entry.path().filename().string().starts_with("merging-")) orphans.push_back(entry.path());
  }
  for (const auto& entry : std::filesystem::directory_iterator(options_.root + "/scratch", ec)) orphans.push_back(entry.path());
  for (const std::string& path : orphans) {
    if (!std::filesystem::exists(path)) continue;
    RETURN_IF_ERROR(kata::mount::UnmountAndRemoveTree(path));
    kLog.Info("removed files no snapshot owns", {{"path", path}});
  }
  return absl::OkStatus();
}

}  // namespace kata::snapshotter
