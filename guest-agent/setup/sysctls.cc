#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "guest-agent/process/child_steps.h"
#include "guest-agent/setup/init_steps.h"

namespace kata::guest {

// Written through the container's own /proc (mounted by now), so each lands in its namespaces.
void ApplySysctls(SetupContext& ctx) noexcept {
  const InitPlan& p = ctx.plan;
  for (size_t i = 0; i < p.sysctls.size(); ++i) {
    const SysctlStep& s = p.sysctls[i];
    const int fd = ::open(s.path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || ::write(fd, s.value.data(), s.value.size()) != static_cast<ssize_t>(s.value.size())) {
      ChildFail(ctx.status_fd, kStepSysctl, errno, static_cast<int32_t>(i));
    }
    ::close(fd);
  }
}

}  // namespace kata::guest
