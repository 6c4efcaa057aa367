#include "host-runtime/rootfs/shared_binds.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"

namespace kata::runtime {
namespace {

absl::Status MountOne(const SharedBind& b, const std::string& target) {
  char real[PATH_MAX];
  if (::realpath(b.source.c_str(), real) == nullptr) {
    return ErrnoStatus(errno, StrCat("mounts[", b.mount_index, "]: bind source ", b.source));
  }
  struct stat st;
  if (::stat(real, &st) != 0) return ErrnoStatus(errno, StrCat("mounts[", b.mount_index, "]: bind source ", b.source));
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(target).parent_path(), ec);
  if (ec) return absl::InternalError(StrCat("mkdir for ", target, ": ", ec.message()));
  if (S_ISDIR(st.st_mode)) {
    if (::mkdir(target.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoStatus(errno, StrCat("mkdir ", target));
  } else {
    const int fd = ::open(target.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return ErrnoStatus(errno, StrCat("create ", target));
    ::close(fd);
  }
  if (::mount(real, target.c_str(), nullptr, MS_BIND | (b.recursive ? MS_REC : 0), nullptr) != 0) {
    const int err = errno;
    ::remove(target.c_str());
    return ErrnoStatus(err, StrCat("mounts[", b.mount_index, "]: bind ", b.source, " for the guest"));
  }
  // Read-only on the host too: the guest cannot write through the share whatever it mounts.
  if (b.readonly && ::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
    const int err = errno;
    ::umount2(target.c_str(), MNT_DETACH);
    ::remove(target.c_str());
    return ErrnoStatus(err, StrCat("mounts[", b.mount_index, "]: make the share of ", b.source, " read-only"));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsBindMount(const oci::Mount& m) {
  return m.type() == "bind" || std::any_of(m.options().begin(), m.options().end(),
                                           [](const std::string& o) { return o == "bind" || o == "rbind"; });
}

absl::Status MountSharedBinds(const std::vector<SharedBind>& binds, const std::string& shared_dir,
                              std::vector<std::string>& mounted) {
  const size_t before = mounted.size();
  for (const SharedBind& b : binds) {
    const std::string target = StrCat(shared_dir, "/", b.host_target);
    if (absl::Status s = MountOne(b, target); !s.ok()) {
      std::vector<std::string> undo(mounted.begin() + static_cast<long>(before), mounted.end());
      mounted.resize(before);
      (void)UnmountSharedBinds(undo);
      return s;
    }
    mounted.push_back(target);
  }
  return absl::OkStatus();
}

absl::Status UnmountSharedBinds(std::vector<std::string>& mounted) {
  absl::Status first;
  for (auto it = mounted.rbegin(); it != mounted.rend(); ++it) {
    if (::umount2(it->c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT && first.ok()) {
      first = ErrnoStatus(errno, StrCat("unmount ", *it));
    }
    if (::remove(it->c_str()) != 0 && errno != ENOENT && first.ok()) first = ErrnoStatus(errno, StrCat("remove ", *it));
  }
  if (!mounted.empty()) ::rmdir(std::filesystem::path(mounted.front()).parent_path().c_str());
  mounted.clear();
  return first;
}

}  // namespace kata::runtime
