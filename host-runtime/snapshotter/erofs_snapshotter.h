#pragma once

// kata-erofs-snapshotter's snapshots, with containerd's snapshotter semantics (errors as the
// codes containerd maps: NotFound, AlreadyExists, FailedPrecondition, InvalidArgument):
//  - an unpack (containerd's `extract-...` keys) is a directory containerd's walking differ
//    fills (a bind mount, or an overlay whose upperdir it writes straight into); Commit turns
//    it into layer.erofs and frees the directory;
//  - any other active snapshot is a container's: an ext4 image for its writes over the
//    parents' layers, returned as one kata-erofs-mount (erofs_layers_mount.h);
//  - a view is the parents' layers, read-only.
// The parents' layers are one merged.erofs of the whole chain when it has several layers
// (made at the first Prepare or View over it, kept beside its topmost layer, shared by every
// container of the image): one disk for the VM whatever the image's number of layers.
// Files live under <root>/snapshots/<id>/; metadata in <root>/metadata.db. Every operation
// is one metadata transaction around its files, so a crash leaves at most files no snapshot
// owns, which Open and Cleanup remove.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "host-runtime/rootfs/rootfs_plan.h"
#include "host-runtime/snapshotter/layer_files.h"
#include "host-runtime/snapshotter/snapshot_store.h"

namespace kata::snapshotter {

struct SnapshotterOptions {
  std::string root;
  uint64_t writable_size_bytes = 10ull << 30;  // each container's ext4 image (sparse)
  bool merge_layers = true;                    // merged.erofs for chains of several layers
  LayerTools tools;
};

struct SnapshotUsage {
  int64_t size = 0;  // bytes the snapshot's own files take on disk
  int64_t inodes = 0;
};

// Fields of Update's mask: "labels" (all of them) or "labels.<name>"; none means all labels.
struct LabelUpdate {
  Labels labels;
  std::vector<std::string> paths;
};

class ErofsSnapshotter {
 public:
  static absl::StatusOr<std::unique_ptr<ErofsSnapshotter>> Open(const SnapshotterOptions& options);

  absl::StatusOr<std::vector<runtime::RootfsMount>> Prepare(const std::string& key, const std::string& parent, const Labels& labels);
  absl::StatusOr<std::vector<runtime::RootfsMount>> View(const std::string& key, const std::string& parent, const Labels& labels);
  absl::StatusOr<std::vector<runtime::RootfsMount>> Mounts(const std::string& key);
  absl::Status Commit(const std::string& name, const std::string& key, const Labels& labels);
  absl::Status Remove(const std::string& key);
  absl::StatusOr<SnapshotRecord> Stat(const std::string& key);
  absl::StatusOr<SnapshotRecord> Update(const std::string& key, const LabelUpdate& update);
  absl::StatusOr<std::vector<SnapshotRecord>> List();
  absl::StatusOr<SnapshotUsage> Usage(const std::string& key);
  // Removes files no snapshot owns (a crash mid-way, a removal cut short).
  absl::Status Cleanup();

  // <root>/snapshots/<id>
  std::string SnapshotDir(int64_t id) const;

 private:
  explicit ErofsSnapshotter(const SnapshotterOptions& options, std::unique_ptr<SnapshotStore> store)
      : options_(options), store_(std::move(store)) {}
  absl::StatusOr<std::vector<runtime::RootfsMount>> Create(SnapshotKind kind, const std::string& key, const std::string& parent,
                                                           const Labels& labels);
  absl::StatusOr<std::vector<runtime::RootfsMount>> MountsOf(const SnapshotRecord& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CleanupLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The chain's layer files (topmost first) as a snapshot over it sees them: its merged.erofs
  // when there is one, else each layer.erofs.
  std::vector<std::string> LayersOf(const std::vector<int64_t>& chain) const;
  // Makes the chain's merged.erofs unless it is there: the layers overlaid read-only on the
  // host, the merged tree written by mkfs.erofs (whiteouts and opaque directories resolved).
  absl::Status EnsureMerged(const std::vector<int64_t>& chain) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const SnapshotterOptions options_;
  absl::Mutex mu_;  // one operation at a time: metadata and files change together
  std::unique_ptr<SnapshotStore> store_ ABSL_GUARDED_BY(mu_);
};

// Keys containerd's unpacker uses ("<namespace>/<n>/extract-<...>" through a proxy).
bool IsUnpackKey(std::string_view key);

// Keys and labels as containerd could send them: a non-empty key of at most 4096 bytes
// without NUL; label names non-empty, name and value together at most 4096 bytes (containerd's
// own limit). InvalidArgument naming the field.
absl::Status ValidateKey(std::string_view field, std::string_view key);
absl::Status ValidateLabels(const Labels& labels);

}  // namespace kata::snapshotter
