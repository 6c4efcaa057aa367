#pragma once

// A filesystem image mounted on the host through a loop device (libmount sets the loop device
// up with autoclear: it goes when the filesystem is unmounted), and the mounts a host-side
// consumer stacks on it.

#include <string>

#include "absl/status/status.h"

namespace kata::snapshotter {

// mount -t `fstype` -o loop,`options` `image` `dir`. The error names the image.
absl::Status LoopMount(const std::string& image, const std::string& dir, const std::string& fstype, const std::string& options);

// umount2(dir, flags); the error names the directory.
absl::Status Unmount(const std::string& dir, int flags = 0);

}  // namespace kata::snapshotter
