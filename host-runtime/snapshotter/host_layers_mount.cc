#include "host-runtime/snapshotter/host_layers_mount.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "absl/strings/str_join.h"
#include "host-runtime/snapshotter/loop_mount.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unique_fd.h"
#include "libkata/mount/options.h"

namespace kata::snapshotter {
namespace {

// The helper's own mounts, undone (detached) and their directories removed when it goes.
class ScratchMounts {
 public:
  ~ScratchMounts() {
    for (auto it = mounted_.rbegin(); it != mounted_.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) ::rmdir(it->c_str());
  }
  absl::StatusOr<std::string> MakeRoot(const std::string& parent) {
    if (::mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoStatus(errno, StrCat("mkdir ", parent));
    std::string templ = parent + "/XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) return ErrnoStatus(errno, StrCat("mkdtemp in ", parent));
    dirs_.push_back(templ);
    return templ;
  }
  absl::Status Mount(const std::string& image, const std::string& dir, const char* fstype, const char* options) {
    if (::mkdir(dir.c_str(), 0700) != 0) return ErrnoStatus(errno, StrCat("mkdir ", dir));
    dirs_.push_back(dir);
    RETURN_IF_ERROR(LoopMount(image, dir, fstype, options));
    mounted_.push_back(dir);
    return absl::OkStatus();
  }

 private:
  std::vector<std::string> dirs_, mounted_;
};

// QEMU locks the images it opens (OFD locks on bytes from 100 on, one per permission): a
// writable layer a VM has open must not be mounted on the host as well, or two kernels would
// write one ext4.
absl::Status CheckNotOpenInVm(const std::string& image) {
  UniqueFd fd(::open(image.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, StrCat("open ", image));
  struct flock lock = {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = 100;
  lock.l_len = 200;
  if (::fcntl(fd.get(), F_OFD_GETLK, &lock) != 0) return ErrnoStatus(errno, StrCat("lock test on ", image));
  if (lock.l_type != F_UNLCK) {
    return absl::FailedPreconditionError(StrCat(image, " is open in a VM (QEMU holds its lock): it cannot be mounted on the host too"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MountLayersOnHost(const runtime::ErofsLayersMount& m, const std::string& target, const std::string& scratch_parent) {
  ASSIGN_OR_RETURN(kata::mount::MountOptions opts, kata::mount::ParseMountOptions(m.other_options));
  if (!opts.data.empty()) {
    return absl::InvalidArgumentError(StrCat(runtime::kErofsLayersMountType, ": unknown option(s) \"", opts.data, "\""));
  }
  const bool read_only = (opts.flags & MS_RDONLY) != 0;
  ScratchMounts scratch;
  ASSIGN_OR_RETURN(std::string root, scratch.MakeRoot(scratch_parent));
  std::vector<std::string> lowers;
  std::string upper_dir, work_dir;
  if (!m.upper_image.empty()) {
    RETURN_IF_ERROR(CheckNotOpenInVm(m.upper_image));
    RETURN_IF_ERROR(scratch.Mount(m.upper_image, root + "/upper", "ext4", read_only ? "ro,noload" : "rw"));
    if (read_only) {
      lowers.push_back(root + "/upper/upper");
    } else {
      upper_dir = root + "/upper/upper";
      work_dir = root + "/upper/work";
    }
  }
  for (size_t i = 0; i < m.layers.size(); ++i) {
    const std::string dir = StrCat(root, "/", i);
    RETURN_IF_ERROR(scratch.Mount(m.layers[i], dir, "erofs", "ro"));
    lowers.push_back(dir);
  }
  const unsigned long flags = opts.flags & ~static_cast<unsigned long>(MS_RDONLY);
  if (lowers.size() + (upper_dir.empty() ? 0 : 1) == 1) {
    // One directory alone: overlayfs wants two layers at least, a bind mount does it.
    const std::string only = upper_dir.empty() ? lowers[0] : upper_dir;
    if (::mount(only.c_str(), target.c_str(), nullptr, MS_BIND | flags, nullptr) != 0) {
      return ErrnoStatus(errno, StrCat("bind ", only, " on ", target));
    }
    if (read_only && ::mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | flags, nullptr) != 0) {
      absl::Status s = ErrnoStatus(errno, StrCat("make ", target, " read-only"));
      ::umount2(target.c_str(), MNT_DETACH);
      return s;
    }
    return absl::OkStatus();
  }
  std::string data = "lowerdir=" + absl::StrJoin(lowers, ":");
  if (!upper_dir.empty()) data += ",upperdir=" + upper_dir + ",workdir=" + work_dir;
  if (::mount("overlay", target.c_str(), "overlay", flags | (read_only ? MS_RDONLY : 0), data.c_str()) != 0) {
    return ErrnoStatus(errno, StrCat("mount overlay of ", m.layers.size(), " layer(s) on ", target));
  }
  return absl::OkStatus();  // scratch's destructor detaches the helper mounts
}

}  // namespace kata::snapshotter
