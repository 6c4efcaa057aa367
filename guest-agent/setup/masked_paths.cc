#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>

#include "guest-agent/process/child_steps.h"
#include "guest-agent/setup/init_steps.h"

namespace kata::guest {

// /dev/null bound on files, an empty read-only tmpfs on directories (runc's maskPath), in the
// container's view after pivot_root.
void MaskPaths(SetupContext& ctx) noexcept {
  const auto& paths = ctx.plan.masked_paths;
  if (paths.empty()) return;
  // What covers the paths must really be the null device (CVE-2025-31133: an image or a mount
  // could have put something else at /dev/null).
  struct stat null_st;
  if (::stat("/dev/null", &null_st) != 0) ChildFail(ctx.status_fd, kStepMask, errno, 0);
  if (!S_ISCHR(null_st.st_mode) || null_st.st_rdev != makedev(1, 3)) ChildFail(ctx.status_fd, kStepMask, ENODEV, 0);
  for (size_t i = 0; i < paths.size(); ++i) {
    const char* path = paths[i].c_str();
    if (::mount("/dev/null", path, nullptr, MS_BIND, nullptr) == 0 || errno == ENOENT) continue;
    if (errno != ENOTDIR || ::mount("tmpfs", path, "tmpfs", MS_RDONLY, nullptr) != 0) {
      ChildFail(ctx.status_fd, kStepMask, errno, static_cast<int32_t>(i));
    }
  }
}

}  // namespace kata::guest
