#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>

#include "guest-agent/device/device_update.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {

absl::StatusOr<DeviceNode> StatDeviceNode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, StrCat("stat device node ", path));
  if (!S_ISBLK(st.st_mode) && !S_ISCHR(st.st_mode)) {
    return absl::FailedPreconditionError(StrCat(path, " is not a block or character device"));
  }
  return DeviceNode{S_ISBLK(st.st_mode) ? 'b' : 'c', static_cast<int64_t>(major(st.st_rdev)),
                    static_cast<int64_t>(minor(st.st_rdev))};
}

}  // namespace kata::guest
