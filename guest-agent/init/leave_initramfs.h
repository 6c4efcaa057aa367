#pragma once

// The initramfs is the root mount of the VM's first mount namespace, and pivot_root(2)
// refuses to move that one (EINVAL): a container's pivot_root would fail. As switch_root(8)
// does, /init moves its world onto a tmpfs mounted over "/" and chroots into it; the
// containers' mount namespaces then start from a root that has a parent and can be pivoted.

#include "absl/status/status.h"

namespace kata::guest {

// Mounts a tmpfs at /newroot, moves /dev, /proc, /sys and /run into it (early mounts first),
// binds /bin (debug images carry busybox there), removes the loaded modules' files from the
// initramfs (they are in the kernel now; their memory comes back), then MS_MOVEs it to "/"
// and chroots. Errors name the step.
absl::Status LeaveInitramfs();

}  // namespace kata::guest
