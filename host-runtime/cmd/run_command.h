#pragma once

// `kata-runtime run`: an OCI bundle's container in a new VM, the way `runc run` does it.

#include <string>

#include "libkata/config/config.h"

namespace kata::runtime {

struct RunOptions {
  std::string bundle;         // holds config.json
  std::string rootfs_mounts;  // containerd-shaped Mounts (JSON); empty: the bundle's rootfs directory, over 9p
  std::string id;
};

// Streams stdout/stderr, forwards stdin and SIGINT/SIGTERM/SIGHUP/SIGQUIT, tears the sandbox
// down at exit. Returns the container's exit status (128+signal for a signal), or 125 with a
// message on stderr when the runtime itself failed (as runc and podman do).
int RunContainer(const config::Config& config, const RunOptions& options);

}  // namespace kata::runtime
