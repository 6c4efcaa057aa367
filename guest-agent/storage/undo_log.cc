#include "guest-agent/storage/undo_log.h"

#include "libkata/log/log.h"

namespace kata::guest {
namespace {
const log::Subsystem kLog("storage");
}

void UndoLog::CreatedDirs(const std::vector<std::string>& dirs, bool inside_mount) {
  for (const auto& d : dirs) {
    actions_.push_back({inside_mount ? Kind::kRemoveDirOnRollback : Kind::kRemoveDir, d});
  }
}

void UndoLog::Append(UndoLog&& other) {
  actions_.insert(actions_.end(), std::make_move_iterator(other.actions_.begin()),
                  std::make_move_iterator(other.actions_.end()));
  other.actions_.clear();
}

absl::Status UndoLog::Rollback(Mounter& mounter) { return Run(mounter, /*rollback=*/true); }
absl::Status UndoLog::Teardown(Mounter& mounter) { return Run(mounter, /*rollback=*/false); }

absl::Status UndoLog::Run(Mounter& mounter, bool rollback) {
  absl::Status first;
  for (auto it = actions_.rbegin(); it != actions_.rend(); ++it) {
    absl::Status s;
    switch (it->kind) {
      case Kind::kUnmount:
        s = mounter.Unmount(it->path);
        break;
      case Kind::kRemoveDir:
        s = mounter.RemoveDir(it->path);
        break;
      case Kind::kRemoveDirOnRollback:
        if (rollback) s = mounter.RemoveDir(it->path);
        break;
    }
    if (!s.ok()) {
      kLog.Error(rollback ? "rollback step failed" : "teardown step failed",
                 {{"path", it->path}, {"error", std::string(s.message())}});
      if (first.ok()) first = s;
    }
  }
  actions_.clear();
  return first;
}

}  // namespace kata::guest
