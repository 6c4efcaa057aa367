#include "libkata/mount/remove_tree.h"

#include <ftw.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>

#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"
#include "libkata/mount/mountinfo.h"

namespace kata::mount {

absl::Status UnmountAndRemoveTree(const std::string& dir) {
  char real[PATH_MAX];
  if (::realpath(dir.c_str(), real) == nullptr) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus(errno, StrCat("resolve ", dir));
  }
  auto mounts = ListMountsUnder(real);
  if (!mounts.ok()) return mounts.status();
  std::vector<std::string> targets;
  for (const auto& m : *mounts) targets.push_back(m.target);
  // Innermost first: a parent cannot go while its children hold it.
  std::sort(targets.begin(), targets.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  for (const auto& t : targets) ::umount2(t.c_str(), MNT_DETACH);
  auto left = ListMountsUnder(real);
  if (!left.ok()) return left.status();
  if (!left->empty()) {
    return absl::FailedPreconditionError(StrCat("remove ", dir, ": ", left->front().target,
                                                " is still mounted; nothing removed"));
  }
  // FTW_MOUNT: never into another filesystem, should one be mounted meanwhile.
  const int rc = ::nftw(
      real,
      [](const char* p, const struct stat* st, int, struct FTW*) {
        const int r = S_ISDIR(st->st_mode) ? ::rmdir(p) : ::unlink(p);
        return r == 0 || errno == ENOENT ? 0 : errno;
      },
      64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  if (rc != 0) return ErrnoStatus(rc > 0 ? rc : errno, StrCat("remove ", dir));
  return absl::OkStatus();
}

}  // namespace kata::mount
