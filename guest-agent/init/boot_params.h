#pragma once

// The agent's settings when it runs as the VM's /init: the kernel hands init only the
// parameters it did not recognise, so the runtime passes ours on the kernel command line
// (agent.log=debug agent.channel=serial agent.hotplug_timeout=3s), read from /proc/cmdline.

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kata::guest {

enum class ChannelKind { kAuto, kSerial, kVsock };

struct BootParams {
  std::optional<std::string> log_level;
  ChannelKind channel = ChannelKind::kAuto;
  std::optional<absl::Duration> hotplug_timeout;
};

// Parses a kernel command line (pure). Unknown agent.* keys and bad values are errors naming
// the parameter; other parameters are the kernel's and ignored.
absl::StatusOr<BootParams> ParseBootParams(std::string_view cmdline);

absl::StatusOr<ChannelKind> ParseChannelKind(std::string_view name);

}  // namespace kata::guest
