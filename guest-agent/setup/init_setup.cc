#include <unistd.h>

#include "guest-agent/setup/init_steps.h"

namespace kata::guest {

void RunInitSetup(const InitPlan& plan, int status_fd) noexcept {
  SetupContext ctx{plan, status_fd};
  BringUpLoopback(ctx);
  PrepareRoot(ctx);
  MountSpecMounts(ctx);
  CreateDevNodes(ctx);
  MakeWorkingDir(ctx);
  PivotRoot(ctx);
  FinalizeRoot(ctx);
  SetHostnames(ctx);
  ApplySysctls(ctx);
  MakePathsReadonly(ctx);
  MaskPaths(ctx);
}

}  // namespace kata::guest
