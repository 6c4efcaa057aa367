#pragma once

// What /init must set up before anything else: the kernel mounts nothing for it (not even
// devtmpfs, which Debian builds in but does not auto-mount).

#include "absl/status/status.h"

namespace kata::guest {

// Mounts /proc, /sys, /dev (devtmpfs), /dev/pts, /dev/shm, /run and /sys/fs/cgroup (cgroup2)
// under `root` ("/" in the VM). One already mounted is left as it is. The first failure is
// returned naming its mount point; the VM is useless without them, so nothing is undone.
absl::Status MountEarlyFilesystems(const char* root = "/");

}  // namespace kata::guest
