#include <unistd.h>

#include <cerrno>

#include "guest-agent/process/child_steps.h"
#include "guest-agent/setup/init_steps.h"

namespace kata::guest {

void SetHostnames(SetupContext& ctx) noexcept {
  const InitPlan& p = ctx.plan;
  if (p.set_hostname && ::sethostname(p.hostname.c_str(), p.hostname.size()) != 0) ChildFail(ctx.status_fd, kStepHostname, errno);
  if (p.set_domainname && ::setdomainname(p.domainname.c_str(), p.domainname.size()) != 0) {
    ChildFail(ctx.status_fd, kStepDomainname, errno);
  }
}

}  // namespace kata::guest
