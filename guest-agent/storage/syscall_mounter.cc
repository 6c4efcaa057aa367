#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "guest-agent/storage/mounter.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"
#include "libkata/safe_path/safe_path.h"

namespace kata::guest {
namespace {
const log::Subsystem kLog("storage");
}

absl::Status SyscallMounter::Mount(const std::string& source, const std::string& target,
                                   const std::string& fstype, unsigned long flags,
                                   const std::string& data) {
  if (::mount(source.c_str(), target.c_str(), fstype.c_str(), flags,
              data.empty() ? nullptr : data.c_str()) != 0) {
    return ErrnoStatus(errno, StrCat("mount ", fstype, " ", source, " on ", target));
  }
  return absl::OkStatus();
}

absl::Status SyscallMounter::Unmount(const std::string& target) {
  if (::umount2(target.c_str(), UMOUNT_NOFOLLOW) == 0) return absl::OkStatus();
  if (errno == EBUSY) {
    // Something still holds it (a process's cwd, an open file): detach it from the tree so
    // nothing is left mounted, and say so.
    kLog.Warn("mount busy; detaching lazily", {{"target", target}});
    if (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) return absl::OkStatus();
  }
  return ErrnoStatus(errno, StrCat("unmount ", target));
}

absl::StatusOr<std::string> SyscallMounter::MkdirAll(const std::string& root, const std::string& path,
                                                     mode_t mode, std::vector<std::string>* created) {
  return safe_path::MkdirAllInRoot(root, path, mode, created);
}

absl::Status SyscallMounter::Chown(const std::string& path, uid_t uid, gid_t gid) {
  if (::lchown(path.c_str(), uid, gid) != 0) return ErrnoStatus(errno, StrCat("chown ", path));
  return absl::OkStatus();
}

absl::Status SyscallMounter::Chmod(const std::string& path, mode_t mode) {
  if (::chmod(path.c_str(), mode) != 0) return ErrnoStatus(errno, StrCat("chmod ", path));
  return absl::OkStatus();
}

absl::Status SyscallMounter::RemoveDir(const std::string& path) {
  if (::rmdir(path.c_str()) != 0) return ErrnoStatus(errno, StrCat("rmdir ", path));
  return absl::OkStatus();
}

}  // namespace kata::guest
