#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "guest-agent/process/child_steps.h"
#include "guest-agent/setup/init_steps.h"

namespace kata::guest {

void PivotRoot(SetupContext& ctx) noexcept {
  const int st = ctx.status_fd;
  // pivot_root(".", "."): the old root ends up on top of the new one. It is made a slave
  // first, so detaching it cannot propagate to the agent's mounts (a shared root).
  if (::fchdir(ctx.root_fd) != 0 || ::syscall(SYS_pivot_root, ".", ".") != 0) ChildFail(st, kStepPivotRoot, errno);
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) ChildFail(st, kStepPivotRoot, errno);
  if (::umount2(".", MNT_DETACH) != 0 || ::chdir("/") != 0) ChildFail(st, kStepPivotRoot, errno);
  ::close(ctx.root_fd);
  ctx.root_fd = -1;
}

}  // namespace kata::guest
