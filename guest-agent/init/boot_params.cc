#include "guest-agent/init/boot_params.h"

#include "absl/strings/str_split.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"

namespace kata::guest {

absl::StatusOr<ChannelKind> ParseChannelKind(std::string_view name) {
  if (name == "auto") return ChannelKind::kAuto;
  if (name == "serial") return ChannelKind::kSerial;
  if (name == "vsock") return ChannelKind::kVsock;
  return absl::InvalidArgumentError(StrCat("agent channel \"", name, "\" is not auto, serial or vsock"));
}

absl::StatusOr<BootParams> ParseBootParams(std::string_view cmdline) {
  BootParams params;
  for (absl::string_view w : absl::StrSplit(ToAbsl(cmdline), absl::ByAnyChar(" \t\n"), absl::SkipEmpty())) {
    const std::string_view word = ToStd(w);
    if (!word.starts_with("agent.")) continue;
    const size_t eq = word.find('=');
    const std::string_view key = word.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : word.substr(eq + 1);
    if (key == "agent.log") {
      if (auto level = log::ParseLevel(std::string(value)); !level.ok()) {
        return absl::InvalidArgumentError(StrCat("kernel parameter ", word, ": ", level.status().message()));
      }
      params.log_level = std::string(value);
    } else if (key == "agent.channel") {
      auto kind = ParseChannelKind(value);
      if (!kind.ok()) return absl::InvalidArgumentError(StrCat("kernel parameter ", word, ": ", kind.status().message()));
      params.channel = *kind;
    } else if (key == "agent.hotplug_timeout") {
      absl::Duration d;
      if (!absl::ParseDuration(std::string(value), &d) || d <= absl::ZeroDuration()) {
        return absl::InvalidArgumentError(StrCat("kernel parameter ", word, " wants a positive duration such as 3s"));
      }
      params.hotplug_timeout = d;
    } else {
      return absl::InvalidArgumentError(StrCat("unknown kernel parameter ", word));
    }
  }
  return params;
}

}  // namespace kata::guest
