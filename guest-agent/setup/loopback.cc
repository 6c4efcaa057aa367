#include "guest-agent/common/loopback.h"
#include "guest-agent/process/child_steps.h"
#include "guest-agent/setup/init_steps.h"

namespace kata::guest {

void BringUpLoopback(SetupContext& ctx) noexcept {
  if (!ctx.plan.loopback_up) return;
  if (int err = BringLoopbackUp(); err != 0) ChildFail(ctx.status_fd, kStepLoopback, err);
}

}  // namespace kata::guest
