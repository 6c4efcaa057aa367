#include <fcntl.h>
#include <sys/mount.h>

#include <cerrno>

#include "guest-agent/process/child_steps.h"
#include "guest-agent/setup/init_steps.h"

namespace kata::guest {

void PrepareRoot(SetupContext& ctx) noexcept {
  const InitPlan& p = ctx.plan;
  // linux.rootfsPropagation on the whole tree (runc: rslave by default), so what the
  // container mounts never propagates back to the agent unless the spec asks for shared.
  if (::mount(nullptr, "/", nullptr, p.root_propagation, nullptr) != 0) ChildFail(ctx.status_fd, kStepMountPrivate, errno);
  // pivot_root refuses a new root whose parent mount is shared.
  if (!p.rootfs_mount.empty() && ::mount(nullptr, p.rootfs_mount.c_str(), nullptr, MS_PRIVATE, nullptr) != 0) {
    ChildFail(ctx.status_fd, kStepMountPrivate, errno);
  }
  if (::mount(p.rootfs.c_str(), p.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    ChildFail(ctx.status_fd, kStepBindRootfs, errno);
  }
  ctx.root_fd = ::open(p.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (ctx.root_fd < 0) ChildFail(ctx.status_fd, kStepOpenRoot, errno);
}

}  // namespace kata::guest
