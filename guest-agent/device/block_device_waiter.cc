#include "guest-agent/device/block_device_waiter.h"

#include "guest-agent/device/pci_path.h"
#include "guest-agent/uevent/matchers.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"

namespace kata::guest {
namespace {
const log::Subsystem kLog("device");
}

absl::StatusOr<std::string> UeventBlockDeviceWaiter::WaitForBlockDevice(const std::string& source,
                                                                        absl::Duration timeout) {
  const absl::Time start = absl::Now();
  std::unique_ptr<UeventMatcher> matcher;
  if (source.starts_with("/dev/")) {
    const std::string name = source.substr(5);
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
      return absl::InvalidArgumentError(StrCat("block device source \"", source, "\" is not /dev/<name>"));
    }
    // vdX is virtio-blk (the agent's own bus); anything else (loop, sd) by name alone.
    if (name.starts_with("vd")) matcher = std::make_unique<VirtioBlkNameMatcher>(name, sysfs_root_);
    else matcher = std::make_unique<BlockNameMatcher>(name, sysfs_root_);
  } else {
    ASSIGN_OR_RETURN(std::string devpath, PciPathToDevpath(sysfs_root_, source));
    matcher = std::make_unique<PciPathBlockMatcher>(source, devpath, sysfs_root_);
  }
  ASSIGN_OR_RETURN(Uevent e, store_.Wait(*matcher, timeout));
  const std::string node = StrCat(dev_root_, "/", e.devname);
  kLog.Debug("block device ready", {{"source", source}, {"device", node},
                                    {"waited_ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  return node;
}

}  // namespace kata::guest
