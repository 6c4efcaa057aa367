#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>

#include "guest-agent/process/child_steps.h"
#include "guest-agent/setup/child_fs.h"
#include "guest-agent/setup/init_steps.h"

namespace kata::guest {

// After pivot_root, in the container's view: an image symlink at such a path is followed but
// cannot leave the root, and /proc is the container's own by now (runc's order).
void MakePathsReadonly(SetupContext& ctx) noexcept {
  const auto& paths = ctx.plan.readonly_paths;
  for (size_t i = 0; i < paths.size(); ++i) {
    const char* path = paths[i].c_str();
    if (::mount(path, path, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      if (errno == ENOENT) continue;  // nothing there to protect
      ChildFail(ctx.status_fd, kStepReadonly, errno, static_cast<int32_t>(i));
    }
    if (::mount(nullptr, path, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | ChildMountFlagsOf(path), nullptr) != 0) {
      ChildFail(ctx.status_fd, kStepReadonly, errno, static_cast<int32_t>(i));
    }
  }
}

}  // namespace kata::guest
