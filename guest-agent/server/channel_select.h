#pragma once

// Which channel the agent serves on in the VM: the host chose it by the device it gave the
// VM (vhost-vsock-pci or a virtserialport named agent.channel.0); `auto` follows that.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "guest-agent/init/boot_params.h"
#include "guest-agent/server/listener.h"

namespace kata::guest {

inline constexpr char kAgentPortName[] = "agent.channel.0";
inline constexpr uint32_t kAgentVsockPort = 1024;

struct ChannelProbe {
  bool vsock = false;        // the kernel has a vsock transport with a CID of its own
  std::string serial_port;   // /dev/vportNpM named agent.channel.0, or empty
};

// Pure: which listener to open, given what the VM offers. auto prefers vsock (production
// hosts), then the serial port. FailedPrecondition naming what is missing.
absl::StatusOr<ChannelKind> ChooseChannel(ChannelKind wanted, const ChannelProbe& probe);

// Looks at the VM (vsock local CID, /sys/class/virtio-ports) until the wanted channel shows
// up or `wait` passes (devices probe while modules load), then listens on it.
absl::StatusOr<std::unique_ptr<Listener>> OpenGuestChannel(ChannelKind wanted, absl::Duration wait);

}  // namespace kata::guest
