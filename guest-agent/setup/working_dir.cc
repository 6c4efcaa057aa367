#include <unistd.h>

#include "guest-agent/process/child_steps.h"
#include "guest-agent/setup/child_fs.h"
#include "guest-agent/setup/init_steps.h"

namespace kata::guest {

void MakeWorkingDir(SetupContext& ctx) noexcept {
  if (ctx.plan.cwd_relative.empty()) return;
  int fd = -1;
  if (int err = ChildOpenInRoot(ctx.root_fd, ctx.plan.cwd_relative.c_str(), ChildCreate::kDir, false, &fd); err != 0) {
    ChildFail(ctx.status_fd, kStepMakeCwd, err);
  }
  ::close(fd);
}

}  // namespace kata::guest
