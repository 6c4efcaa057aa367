#include "guest-agent/uevent/matchers.h"

#include <cctype>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "libkata/base/file_util.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {
namespace {

// Matches "/virtio<digits>/block/<name>" exactly (name: one path component).
bool IsVirtioBlockTail(std::string_view tail, std::string_view want_name) {
  if (!tail.starts_with("/virtio")) return false;
  tail.remove_prefix(7);
  size_t digits = 0;
  while (digits < tail.size() && std::isdigit(static_cast<unsigned char>(tail[digits]))) ++digits;
  if (digits == 0) return false;
  tail.remove_prefix(digits);
  if (!tail.starts_with("/block/")) return false;
  tail.remove_prefix(7);
  if (tail.empty() || tail.find('/') != std::string_view::npos) return false;
  return want_name.empty() || tail == want_name;
}

}  // namespace

bool IsReadyBlockDevice(const Uevent& e, const std::string& sysfs_root) {
  if (e.subsystem != "block" || e.devname.empty()) return false;
  if (e.action != "add" && e.action != "change") return false;
  auto size = ReadFileToString(StrCat(sysfs_root, e.devpath, "/size"), 64);
  uint64_t sectors = 0;
  return size.ok() && absl::SimpleAtoi(absl::StripAsciiWhitespace(*size), &sectors) && sectors > 0;
}

PciPathBlockMatcher::PciPathBlockMatcher(std::string pci_path, std::string pci_devpath,
                                         std::string sysfs_root)
    : pci_path_(std::move(pci_path)),
      pci_devpath_(std::move(pci_devpath)),
      sysfs_root_(std::move(sysfs_root)) {}

bool PciPathBlockMatcher::Matches(const Uevent& e) const {
  if (!std::string_view(e.devpath).starts_with(pci_devpath_)) return false;
  if (!IsVirtioBlockTail(std::string_view(e.devpath).substr(pci_devpath_.size()), "")) return false;
  return IsReadyBlockDevice(e, sysfs_root_);
}

std::string PciPathBlockMatcher::Describe() const {
  return StrCat("virtio-blk device at PCI path ", pci_path_, " (", pci_devpath_, "/virtio*/block/*)");
}

VirtioBlkNameMatcher::VirtioBlkNameMatcher(std::string name, std::string sysfs_root)
    : name_(std::move(name)), sysfs_root_(std::move(sysfs_root)) {}

bool VirtioBlkNameMatcher::Matches(const Uevent& e) const {
  const size_t pos = e.devpath.rfind("/virtio");
  if (pos == std::string::npos) return false;
  if (!IsVirtioBlockTail(std::string_view(e.devpath).substr(pos), name_)) return false;
  return IsReadyBlockDevice(e, sysfs_root_);
}

std::string VirtioBlkNameMatcher::Describe() const {
  return StrCat("virtio-blk device ", name_, " (*/virtio*/block/", name_, ")");
}

BlockNameMatcher::BlockNameMatcher(std::string name, std::string sysfs_root)
    : name_(std::move(name)), sysfs_root_(std::move(sysfs_root)) {}

bool BlockNameMatcher::Matches(const Uevent& e) const {
  return e.devname == name_ && IsReadyBlockDevice(e, sysfs_root_);
}

std::string BlockNameMatcher::Describe() const { return StrCat("block device /dev/", name_); }

}  // namespace kata::guest
