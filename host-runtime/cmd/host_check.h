#pragma once

// `kata-runtime check`: whether this host can run sandboxes, each item a yes/no with why.

#include <string>
#include <vector>

#include "libkata/config/config.h"

namespace kata::runtime {

struct CheckItem {
  std::string what;
  bool ok;
  std::string why;
  bool required = true;  // a "no" on an optional item (vhost-vsock) does not fail the check
};

std::vector<CheckItem> CheckHost(const config::Config& config);

// The guest kernel's build configuration (`<kernel>.config`, which rootfs-builder writes):
// CONFIG_SECCOMP_FILTER, CONFIG_BPF_SYSCALL and CONFIG_CGROUP_BPF, without which
// linux.seccomp and linux.resources.devices fail in the guest. Missing file: optional "no".
CheckItem CheckGuestKernelConfig(const std::string& path);

// The module file names an initrd's lib/modules/load-order lists (for "erofs in the guest").
// Reads newc cpio after decompressing with the zstd or gzip tool, by the file's magic.
absl::StatusOr<std::vector<std::string>> InitrdModules(const std::string& initrd);

}  // namespace kata::runtime
