#include "guest-agent/server/channel_select.h"

#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <thread>

#include "libkata/base/str_cat.h"
#include "libkata/base/unique_fd.h"
#include "libkata/log/log.h"

namespace kata::guest {
namespace {

const log::Subsystem kLog("channel");

bool VsockHasLocalCid() {
  UniqueFd fd(::open("/dev/vsock", O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  unsigned int cid = VMADDR_CID_ANY;
  if (::ioctl(fd.get(), IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) != 0) return false;
  return cid != VMADDR_CID_ANY && cid > VMADDR_CID_HOST;
}

ChannelProbe Probe() {
  ChannelProbe p;
  p.vsock = VsockHasLocalCid();
  if (auto port = FindVirtioPort("/sys/class/virtio-ports", kAgentPortName); port.ok()) p.serial_port = *port;
  return p;
}

}  // namespace

absl::StatusOr<ChannelKind> ChooseChannel(ChannelKind wanted, const ChannelProbe& probe) {
  const bool serial = !probe.serial_port.empty();
  switch (wanted) {
    case ChannelKind::kVsock:
      if (probe.vsock) return ChannelKind::kVsock;
      return absl::FailedPreconditionError("agent channel vsock: the VM has no vsock device with a CID");
    case ChannelKind::kSerial:
      if (serial) return ChannelKind::kSerial;
      return absl::FailedPreconditionError(StrCat("agent channel serial: no virtio-serial port named ", kAgentPortName));
    case ChannelKind::kAuto:
      if (probe.vsock) return ChannelKind::kVsock;
      if (serial) return ChannelKind::kSerial;
      return absl::FailedPreconditionError(
          StrCat("no agent channel: neither a vsock device nor a virtio-serial port named ", kAgentPortName));
  }
  return absl::InvalidArgumentError("unknown channel kind");
}

absl::StatusOr<std::unique_ptr<Listener>> OpenGuestChannel(ChannelKind wanted, absl::Duration wait) {
  const absl::Time deadline = absl::Now() + wait;
  for (;;) {
    const ChannelProbe probe = Probe();
    auto kind = ChooseChannel(wanted, probe);
    if (kind.ok()) {
      if (*kind == ChannelKind::kVsock) return ListenVsock(kAgentVsockPort);
      return ListenSerial(probe.serial_port);
    }
    if (absl::Now() >= deadline) return kind.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace kata::guest
