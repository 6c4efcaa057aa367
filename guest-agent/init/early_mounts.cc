#include "guest-agent/init/early_mounts.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <string>

#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {
namespace {

struct EarlyMount {
  const char* source;
  const char* target;
  const char* fstype;
  unsigned long flags;
  const char* data;
};

constexpr unsigned long kNoExec = MS_NOSUID | MS_NODEV | MS_NOEXEC;
// In order: each target's parent is mounted before it.
constexpr EarlyMount kEarlyMounts[] = {
    {"proc", "proc", "proc", kNoExec, nullptr},
    {"sysfs", "sys", "sysfs", kNoExec, nullptr},
    {"devtmpfs", "dev", "devtmpfs", MS_NOSUID, "mode=0755"},
    {"devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"},
    {"shm", "dev/shm", "tmpfs", kNoExec, "mode=1777"},
    {"tmpfs", "run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"},
    {"cgroup2", "sys/fs/cgroup", "cgroup2", kNoExec, nullptr},
};

}  // namespace

absl::Status MountEarlyFilesystems(const char* root) {
  std::string base = root;
  if (!base.ends_with('/')) base += '/';
  for (const EarlyMount& m : kEarlyMounts) {
    const std::string target = base + m.target;
    if (::mkdir(target.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoStatus(errno, StrCat("mkdir ", target));
    if (::mount(m.source, target.c_str(), m.fstype, m.flags, m.data) != 0 && errno != EBUSY) {
      return ErrnoStatus(errno, StrCat("mount ", m.fstype, " on ", target));
    }
  }
  return absl::OkStatus();
}

}  // namespace kata::guest
