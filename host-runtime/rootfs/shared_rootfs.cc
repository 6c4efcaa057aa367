#include "host-runtime/rootfs/shared_rootfs.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>

#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"
#include "libkata/mount/options.h"

namespace kata::runtime {

absl::Status MountSharedRootfs(const SharedRootfs& rootfs, const std::string& target) {
  std::error_code ec;
  std::filesystem::create_directories(target, ec);
  if (ec) return absl::InternalError(StrCat("mkdir ", target, ": ", ec.message()));
  const auto split = mount::SplitKataMarkers(rootfs.mount.options);
  auto options = mount::ParseMountOptions(split.mount_options);
  if (!options.ok()) return options.status();
  const unsigned long propagation = MS_PRIVATE | MS_SHARED | MS_SLAVE | MS_UNBINDABLE;
  unsigned long flags = options->flags & ~propagation;
  const bool bind = (flags & MS_BIND) != 0 || rootfs.mount.type == "bind";
  if (bind) {
    if (::mount(rootfs.mount.source.c_str(), target.c_str(), nullptr, MS_BIND | (flags & MS_REC), nullptr) != 0) {
      return ErrnoStatus(errno, StrCat("bind ", rootfs.mount.source, " on ", target));
    }
    if ((flags & MS_RDONLY) &&
        ::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
      const int err = errno;
      ::umount2(target.c_str(), MNT_DETACH);
      return ErrnoStatus(err, StrCat("remount ", target, " read-only"));
    }
    return absl::OkStatus();
  }
  if (::mount(rootfs.mount.source.c_str(), target.c_str(), rootfs.mount.type.c_str(), flags, options->data.c_str()) != 0) {
    return ErrnoStatus(errno, StrCat("mount ", rootfs.mount.type, " rootfs on ", target));
  }
  return absl::OkStatus();
}

absl::Status UnmountSharedRootfs(const std::string& target) {
  if (::umount2(target.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    return ErrnoStatus(errno, StrCat("unmount ", target));
  }
  if (::rmdir(target.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, StrCat("rmdir ", target));
  return absl::OkStatus();
}

}  // namespace kata::runtime
