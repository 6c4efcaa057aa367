#pragma once

// The real PlanEnvironment: what the agent finds out about the VM and the image before it
// plans a container's init (mountinfo, /proc/kcore, the image's /etc/passwd, bind sources,
// the VM's device nodes).

#include <sys/types.h>

#include <string>

#include "guest-agent/setup/init_plan_builder.h"

namespace kata::guest {

PlanEnvironment ProbePlanEnvironment(const std::string& rootfs, pid_t sandbox_init_pid);

// The image's /etc/passwd (read inside `rootfs`, symlinks kept in it); "" when it has none.
std::string ReadImagePasswd(const std::string& rootfs);

}  // namespace kata::guest
