#include <sched.h>

#include <cerrno>

#include "guest-agent/process/child_steps.h"
#include "guest-agent/setup/init_steps.h"

namespace kata::guest {

void JoinNamespaces(const std::vector<NamespaceJoin>& joins, int status_fd) noexcept {
  for (size_t i = 0; i < joins.size(); ++i) {
    if (::setns(joins[i].fd, joins[i].nstype) != 0) ChildFail(status_fd, kStepJoinNamespace, errno, static_cast<int32_t>(i));
  }
}

}  // namespace kata::guest
