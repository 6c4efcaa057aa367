#include "guest-agent/storage/mount_point_validation.h"

#include "absl/strings/str_join.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {

absl::Status ValidateMountPoint(const std::string& mount_point,
                                const std::vector<std::string>& allowed_roots) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(StrCat("mount point \"", mount_point.substr(0, 256), "\" ", why));
  };
  if (mount_point.empty()) return absl::InvalidArgumentError("mount point is empty");
  if (mount_point.find('\0') != std::string::npos) return bad("holds a NUL byte");
  if (mount_point.front() != '/') return bad("is not absolute");
  if (mount_point.size() > 1 && mount_point.back() == '/') return bad("ends with /");
  size_t start = 1;
  while (start <= mount_point.size()) {
    const size_t end = std::min(mount_point.find('/', start), mount_point.size());
    const std::string_view c(mount_point.data() + start, end - start);
    if (c.empty() || c == "." || c == "..") return bad("is not a clean path (empty, . or .. component)");
    start = end + 1;
  }
  for (const std::string& root : allowed_roots) {
    if (mount_point.starts_with(root + "/")) return absl::OkStatus();
  }
  return bad(StrCat("is not under an allowed directory (", absl::StrJoin(allowed_roots, ", "), ")"));
}

}  // namespace kata::guest
