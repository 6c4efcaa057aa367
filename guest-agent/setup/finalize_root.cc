#include <sys/mount.h>

#include <cerrno>

#include "guest-agent/process/child_steps.h"
#include "guest-agent/setup/child_fs.h"
#include "guest-agent/setup/init_steps.h"

namespace kata::guest {

void FinalizeRoot(SetupContext& ctx) noexcept {
  const InitPlan& p = ctx.plan;
  for (size_t i = 0; i < p.mounts.size(); ++i) {
    const MountStep& m = p.mounts[i];
    if (!m.readonly_after_devices) continue;
    const char* path = m.destination.c_str();
    if (::mount(nullptr, path, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | ChildMountFlagsOf(path), nullptr) != 0) {
      ChildFail(ctx.status_fd, kStepMount, errno, static_cast<int32_t>(i));
    }
  }
  // root.readonly keeps the root's other flags (nosuid, nodev...), as runc's remount does.
  if (p.root_readonly &&
      ::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | ChildMountFlagsOf("/"), nullptr) != 0) {
    ChildFail(ctx.status_fd, kStepReadonlyRoot, errno);
  }
}

}  // namespace kata::guest
