#include "host-runtime/devices/host_block_device.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>

#include "absl/strings/str_split.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/file_util.h"
#include "libkata/base/str_cat.h"

namespace kata::runtime {

absl::StatusOr<std::string> FindHostBlockDevice(int64_t major, int64_t minor, const std::string& sysfs,
                                                const std::string& dev) {
  const std::string numbers = StrCat(major, ":", minor);
  if (major < 0 || minor < 0 || major > 0xfff || minor > 0xfffff) {
    return absl::InvalidArgumentError(StrCat("block device ", numbers, ": not a device number"));
  }
  auto uevent = ReadFileToString(StrCat(sysfs, "/dev/block/", numbers, "/uevent"), 4096);
  if (!uevent.ok()) return absl::NotFoundError(StrCat("the host has no block device ", numbers));
  std::string name;
  for (absl::string_view line : absl::StrSplit(*uevent, '\n')) {
    if (absl::ConsumePrefix(&line, "DEVNAME=")) name = std::string(line);
  }
  if (name.empty() || name.find("..") != std::string::npos) {
    return absl::NotFoundError(StrCat("block device ", numbers, ": the kernel names no node for it"));
  }
  const std::string path = StrCat(dev, "/", name);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, StrCat("block device ", numbers, ": ", path));
  if (!S_ISBLK(st.st_mode) || st.st_rdev != makedev(major, minor)) {
    return absl::FailedPreconditionError(StrCat("block device ", numbers, ": ", path, " is another device"));
  }
  return path;
}

}  // namespace kata::runtime
