#pragma once

// `kata-runtime containerd-config`: prints containerd's configuration for our runtime, or
// installs it as a drop-in the operator's config.toml imports (host-runtime/install/).

#include <string>
#include <string_view>
#include <vector>

namespace kata::runtime {

// `args`: what follows `containerd-config`. Returns the exit status; messages on stderr.
int ContainerdConfigCommand(const std::vector<std::string_view>& args);

}  // namespace kata::runtime
