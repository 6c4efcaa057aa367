#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "guest-agent/process/child_steps.h"
#include "guest-agent/setup/init_steps.h"

namespace kata::guest {

void BringUpLoopback(SetupContext& ctx) noexcept {
  if (!ctx.plan.loopback_up) return;
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) ChildFail(ctx.status_fd, kStepLoopback, errno);
  ifreq req{};
  ::memcpy(req.ifr_name, "lo", 3);
  if (::ioctl(fd, SIOCGIFFLAGS, &req) != 0) ChildFail(ctx.status_fd, kStepLoopback, errno);
  req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP);
  if (::ioctl(fd, SIOCSIFFLAGS, &req) != 0) ChildFail(ctx.status_fd, kStepLoopback, errno);
  ::close(fd);
}

}  // namespace kata::guest
