#include <climits>
#include <cstdlib>

#include "guest-agent/device/device_handler.h"
#include "guest-agent/device/pci_path.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {
namespace {

bool IsGroupName(std::string_view s) {
  return !s.empty() && s.size() <= 10 && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// The guest's IOMMU group of the PCI device at `pci_path`: basename of its iommu_group link.
absl::StatusOr<std::string> GuestGroup(const std::string& pci_path, const DeviceContext& ctx) {
  ASSIGN_OR_RETURN(std::string devpath, PciPathToDevpath(ctx.sysfs_root, pci_path));
  const std::string link = StrCat(ctx.sysfs_root, devpath, "/iommu_group");
  char target[PATH_MAX];
  if (::realpath(link.c_str(), target) == nullptr) {
    return absl::NotFoundError(StrCat("VFIO device at PCI path ", pci_path, " has no IOMMU group (", link, ")"));
  }
  const std::string_view t(target);
  const std::string group(t.substr(t.rfind('/') + 1));
  if (!IsGroupName(group)) return absl::FailedPreconditionError(StrCat(link, " names no group"));
  return group;
}

}  // namespace

absl::StatusOr<DeviceUpdate> VfioDeviceHandler::Update(const agent::Device& device, DeviceContext& ctx) {
  if (device.container_path().empty()) {
    return absl::InvalidArgumentError(StrCat("vfio device ", device.id(), " has no container_path"));
  }
  std::string group;
  for (const std::string& option : device.options()) {  // "<host BDF>=<guest PCI path>"
    const size_t eq = option.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(StrCat("vfio device option \"", option, "\" is not BDF=PCI-path"));
    }
    ASSIGN_OR_RETURN(std::string g, GuestGroup(option.substr(eq + 1), ctx));
    if (!group.empty() && g != group) {
      return absl::InvalidArgumentError(
          StrCat("vfio device ", device.id(), " spans IOMMU groups ", group, " and ", g));
    }
    group = g;
  }
  if (group.empty()) {
    const std::string prefix = StrCat(ctx.dev_root, "/vfio/");
    if (!device.vm_path().starts_with(prefix) || !IsGroupName(device.vm_path().substr(prefix.size()))) {
      return absl::InvalidArgumentError(
          StrCat("vfio device ", device.id(), ": vm_path \"", device.vm_path(), "\" is not ", prefix, "<group>"));
    }
    group = device.vm_path().substr(prefix.size());
  }
  const std::string node = StrCat(ctx.dev_root, "/vfio/", group);
  ASSIGN_OR_RETURN(DeviceNode n, StatDeviceNode(node));
  // The container must see the group under the guest's name.
  return DeviceUpdate{device.container_path(), n.type, n.major, n.minor, StrCat("/dev/vfio/", group)};
}

}  // namespace kata::guest
