#include "guest-agent/device/pci_path.h"

#include <dirent.h>

#include <cerrno>

#include "absl/strings/str_split.h"
#include "fmt/format.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {
namespace {

constexpr uint8_t kMaxSlot = 0x1f;

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The one bus below a bridge: the single entry of <bridge>/pci_bus/ ("0000:01").
absl::StatusOr<std::string> ChildBus(const std::string& bridge_dir) {
  const std::string dir_path = StrCat(bridge_dir, "/pci_bus");
  DIR* dir = ::opendir(dir_path.c_str());
  if (dir == nullptr) return ErrnoStatus(errno, StrCat("PCI bridge bus directory ", dir_path));
  std::vector<std::string> buses;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') buses.emplace_back(e->d_name);
  }
  ::closedir(dir);
  if (buses.size() != 1) {
    return absl::FailedPreconditionError(
        StrCat(dir_path, " holds ", buses.size(), " buses; a bridge on a PCI path has exactly one"));
  }
  return buses.front();
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> ParsePciPath(std::string_view path) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(StrCat("PCI path \"", path.substr(0, 64), "\": ", why));
  };
  if (path.empty()) return bad("empty");
  std::vector<uint8_t> slots;
  for (absl::string_view part : absl::StrSplit(ToAbsl(path), '/')) {
    if (part.size() != 2) return bad("each slot is two hex digits");
    const int hi = HexDigit(part[0]);
    const int lo = HexDigit(part[1]);
    if (hi < 0 || lo < 0) return bad("each slot is two hex digits");
    const auto slot = static_cast<uint8_t>(hi * 16 + lo);
    if (slot > kMaxSlot) return bad(fmt::format("slot {:02x} is above {:02x}", slot, kMaxSlot));
    slots.push_back(slot);
  }
  return slots;
}

absl::StatusOr<std::string> PciPathToDevpath(const std::string& sysfs_root, std::string_view path) {
  ASSIGN_OR_RETURN(std::vector<uint8_t> slots, ParsePciPath(path));
  std::string devpath = "/devices/pci0000:00";
  std::string bus = "0000:00";
  for (size_t i = 0; i < slots.size(); ++i) {
    devpath += fmt::format("/{}:{:02x}.0", bus, slots[i]);
    if (i + 1 == slots.size()) break;
    auto child = ChildBus(StrCat(sysfs_root, devpath));
    if (!child.ok()) {
      return absl::Status(child.status().code(),
                          StrCat("PCI path ", path, ": ", ToStd(child.status().message())));
    }
    bus = *child;
  }
  return devpath;
}

}  // namespace kata::guest
