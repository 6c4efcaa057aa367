#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "guest-agent/process/child_steps.h"
#include "guest-agent/setup/child_fs.h"
#include "guest-agent/setup/copy_tree.h"
#include "guest-agent/setup/init_steps.h"

namespace kata::guest {
namespace {

constexpr unsigned long kLockableFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;

// "mode=<octal>[,data]": a tmpfs over a directory keeps that directory's mode (runc).
bool TmpfsDataWithMode(int target_fd, const std::string& data, char (&out)[4096]) noexcept {
  struct stat st;
  if (::fstat(target_fd, &st) != 0 || !S_ISDIR(st.st_mode)) return false;
  char digits[8];
  int nd = 0;
  unsigned mode = st.st_mode & 07777;
  do {
    digits[nd++] = static_cast<char>('0' + (mode & 7));
    mode >>= 3;
  } while (mode != 0);
  size_t len = 0;
  ::memcpy(out, "mode=0", 6);
  len = 6;
  while (nd > 0) out[len++] = digits[--nd];
  if (!data.empty()) {
    if (len + 1 + data.size() >= sizeof(out)) return false;
    out[len++] = ',';
    ::memcpy(out + len, data.data(), data.size());
    len += data.size();
  }
  out[len] = '\0';
  return true;
}

void CopyUp(SetupContext& ctx, const MountStep& m, int32_t index, int covered_fd) noexcept {
  int mounted_fd = -1;
  if (int err = ChildOpenInRoot(ctx.root_fd, m.relative.c_str(), ChildCreate::kNothing, false, &mounted_fd); err != 0) {
    ChildFail(ctx.status_fd, kStepMount, err, index);
  }
  const int dir_fd = ::openat(mounted_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) ChildFail(ctx.status_fd, kStepMount, errno, index);
  if (int err = ChildCopyTree(covered_fd, dir_fd); err != 0) ChildFail(ctx.status_fd, kStepMount, err, index);
  if ((m.flags & MS_RDONLY) != 0) {
    const FdPath path = ChildFdPath(mounted_fd);
    if (::mount(nullptr, path.path, nullptr, MS_REMOUNT | (m.flags & ~static_cast<unsigned long>(MS_REC)), m.data.empty() ? nullptr : m.data.c_str()) != 0) {
      ChildFail(ctx.status_fd, kStepMount, errno, index);
    }
  }
  ::close(dir_fd);
  ::close(mounted_fd);
  ::close(covered_fd);
}

}  // namespace

void MountSpecMounts(SetupContext& ctx) noexcept {
  const InitPlan& p = ctx.plan;
  const int st = ctx.status_fd;
  for (size_t i = 0; i < p.mounts.size(); ++i) {
    const MountStep& m = p.mounts[i];
    const int32_t index = static_cast<int32_t>(i);
    const ChildCreate create = m.bind && !m.source_is_dir ? ChildCreate::kFile : ChildCreate::kDir;
    int target_fd = -1;
    if (int err = ChildOpenInRoot(ctx.root_fd, m.relative.c_str(), create, m.no_symlink, &target_fd); err != 0) {
      ChildFail(st, kStepMount, err, index);
    }
    const FdPath target = ChildFdPath(target_fd);
    char mode_data[4096];
    const char* data = m.data.empty() ? nullptr : m.data.c_str();
    if (m.tmpfs_keep_mode && TmpfsDataWithMode(target_fd, m.data, mode_data)) data = mode_data;
    // tmpcopyup: the covered directory stays readable through an fd opened before the mount;
    // the tmpfs is filled while still writable and made read-only afterwards if asked.
    const int covered_fd = m.tmpcopyup ? ::openat(target_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (m.tmpcopyup && covered_fd < 0) ChildFail(st, kStepMount, errno, index);
    const unsigned long no_ro = m.readonly_after_devices || m.tmpcopyup ? static_cast<unsigned long>(MS_RDONLY) : 0;
    if (::mount(m.source.c_str(), target.path, m.fstype.c_str(), m.flags & ~no_ro, data) != 0) ChildFail(st, kStepMount, errno, index);
    ::close(target_fd);
    if (m.tmpcopyup) CopyUp(ctx, m, index, covered_fd);
    if (m.remount_flags == 0 && m.propagation.empty() && (m.recursive_attr_set | m.recursive_attr_clr) == 0) continue;
    // The fd names the directory under the new mount: look the path up again to reach the mount.
    int mounted_fd = -1;
    if (int err = ChildOpenInRoot(ctx.root_fd, m.relative.c_str(), ChildCreate::kNothing, false, &mounted_fd); err != 0) {
      ChildFail(st, kStepMount, err, index);
    }
    const FdPath mounted = ChildFdPath(mounted_fd);
    if (m.remount_flags != 0 &&
        ::mount(nullptr, mounted.path, nullptr, MS_REMOUNT | MS_BIND | m.remount_flags, nullptr) != 0) {
      // Flags the source's mount has locked (in a user namespace) must be kept (runc retries so).
      const unsigned long locked = ChildMountFlagsOf(m.source.c_str()) & kLockableFlags;
      if (errno != EPERM ||
          ::mount(nullptr, mounted.path, nullptr, MS_REMOUNT | MS_BIND | m.remount_flags | locked, nullptr) != 0) {
        ChildFail(st, kStepMount, errno, index);
      }
    }
    if ((m.recursive_attr_set | m.recursive_attr_clr) != 0) {
      mount_attr attr{};
      attr.attr_set = m.recursive_attr_set;
      attr.attr_clr = m.recursive_attr_clr;
      if (::syscall(SYS_mount_setattr, AT_FDCWD, mounted.path, AT_RECURSIVE, &attr, sizeof(attr)) != 0) {
        ChildFail(st, kStepMount, errno, index);
      }
    }
    for (unsigned long propagation : m.propagation) {
      if (::mount(nullptr, mounted.path, nullptr, propagation, nullptr) != 0) ChildFail(st, kStepMount, errno, index);
    }
    ::close(mounted_fd);
  }
}

}  // namespace kata::guest
