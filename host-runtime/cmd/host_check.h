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

// The guest kernel against libkata/kernel's requirements, from its build configuration
// (`<kernel>.config`, which rootfs-builder writes) and the modules the initrd loads (an
// option built as a module counts when the initrd loads it). Two items: the required options
// (a "no" names each missing option and what fails without it) and the optional ones. A
// missing .config gives one optional "no": an image built elsewhere cannot be judged.
std::vector<CheckItem> CheckGuestKernelConfig(const std::string& config_path,
                                              const std::vector<std::string>& initrd_modules);

// The module file names ("erofs.ko") an initrd's lib/modules/load-order lists, empty when it
// has none (a kernel with everything built in). Reads newc cpio after decompressing with the
// zstd or gzip tool, by the file's magic.
absl::StatusOr<std::vector<std::string>> InitrdModules(const std::string& initrd);

}  // namespace kata::runtime
