#include "host-runtime/snapshotter/loop_mount.h"

#include <libmount/libmount.h>
#include <sys/mount.h>

#include <cerrno>

#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"

namespace kata::snapshotter {

absl::Status LoopMount(const std::string& image, const std::string& dir, const std::string& fstype, const std::string& options) {
  libmnt_context* cxt = mnt_new_context();
  if (cxt == nullptr) return absl::ResourceExhaustedError("libmount: no context");
  const std::string all = options.empty() ? "loop" : "loop," + options;
  mnt_context_set_source(cxt, image.c_str());
  mnt_context_set_target(cxt, dir.c_str());
  mnt_context_set_fstype(cxt, fstype.c_str());
  mnt_context_set_options(cxt, all.c_str());
  mnt_context_disable_helpers(cxt, 1);  // the kernel's filesystem, never a /sbin/mount.* helper
  mnt_context_disable_mtab(cxt, 1);
  const int rc = mnt_context_mount(cxt);
  absl::Status status = absl::OkStatus();
  if (rc != 0 || mnt_context_get_status(cxt) != 1) {
    char buf[BUFSIZ] = {};
    mnt_context_get_excode(cxt, rc, buf, sizeof(buf));
    const int syscall_errno = mnt_context_get_syscall_errno(cxt);
    status = syscall_errno != 0 ? ErrnoStatus(syscall_errno, StrCat("mount ", fstype, " ", image, " on ", dir))
                                : absl::InternalError(StrCat("mount ", fstype, " ", image, " on ", dir, ": ", buf));
  }
  mnt_free_context(cxt);
  return status;
}

absl::Status Unmount(const std::string& dir, int flags) {
  if (::umount2(dir.c_str(), flags) != 0) return ErrnoStatus(errno, StrCat("unmount ", dir));
  return absl::OkStatus();
}

}  // namespace kata::snapshotter
