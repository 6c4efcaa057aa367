#pragma once

// The snapshotter's metadata: which snapshots exist, their kind, parent and labels, in one
// SQLite database (Debian's libsqlite3; its journal makes every change all-or-nothing, so a
// crash mid-way never leaves half a snapshot recorded). Keys are data here, never paths: a
// snapshot's files live under its numeric id, which is never reused.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

struct sqlite3;

namespace kata::snapshotter {

// containerd's snapshots.Kind numbers.
enum class SnapshotKind { kView = 1, kActive = 2, kCommitted = 3 };

// What holds a snapshot's own files: nothing (a view, a committed layer: layer.erofs), a
// directory the walking differ fills (an unpack), or an ext4 image (a container's).
enum class WritableLayer { kNone = 0, kDirectory = 1, kExt4Image = 2 };

using Labels = std::map<std::string, std::string>;

struct SnapshotRecord {
  int64_t id = 0;
  std::string key;
  int64_t parent_id = 0;  // 0: none
  std::string parent;     // the parent's key (name), "" for none
  SnapshotKind kind = SnapshotKind::kActive;
  WritableLayer writable = WritableLayer::kNone;
  absl::Time created = absl::UnixEpoch();
  absl::Time updated = absl::UnixEpoch();
  Labels labels;
};

class SnapshotStore {
 public:
  // Opens (creating) the database at `path`.
  static absl::StatusOr<std::unique_ptr<SnapshotStore>> Open(const std::string& path);
  ~SnapshotStore();
  SnapshotStore(const SnapshotStore&) = delete;
  SnapshotStore& operator=(const SnapshotStore&) = delete;

  // Runs `fn` in one transaction: committed when it returns OK, rolled back otherwise.
  absl::Status InTransaction(const std::function<absl::Status()>& fn);

  // NotFound naming the key.
  absl::StatusOr<SnapshotRecord> Get(std::string_view key);
  // Inserts `record` (its id, parent key and times are filled in); AlreadyExists for a taken
  // key. `record.parent_id` must name an existing snapshot.
  absl::StatusOr<SnapshotRecord> Insert(SnapshotRecord record);
  // The ids from `id` up to the chain's base: id, its parent, its parent's parent, ...
  absl::StatusOr<std::vector<int64_t>> Chain(int64_t id);
  // The snapshot becomes committed under `name`, with exactly `labels`.
  absl::Status MarkCommitted(int64_t id, std::string_view name, const Labels& labels, absl::Time now);
  absl::Status SetLabels(int64_t id, const Labels& labels, absl::Time now);
  absl::Status Delete(int64_t id);
  absl::StatusOr<int64_t> CountChildren(int64_t id);
  absl::StatusOr<std::vector<SnapshotRecord>> All();

 private:
  explicit SnapshotStore(sqlite3* db) : db_(db) {}
  absl::Status Exec(const char* sql);
  absl::StatusOr<Labels> LabelsOf(int64_t id);
  absl::Status WriteLabels(int64_t id, const Labels& labels);

  sqlite3* db_;
};

}  // namespace kata::snapshotter
