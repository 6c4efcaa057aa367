#include "guest-agent/init/leave_initramfs.h"

#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {
namespace {

constexpr char kNewRoot[] = "/newroot";

// The module files are loaded; unlinking them returns their pages (ramfs holds them in RAM).
void RemoveModuleFiles() {
  DIR* dir = ::opendir("/lib/modules");
  if (dir == nullptr) return;
  while (dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name.ends_with(".ko") || name.ends_with(".ko.xz") || name.ends_with(".ko.zst")) {
      ::unlinkat(::dirfd(dir), name.c_str(), 0);
    }
  }
  ::closedir(dir);
}

}  // namespace

absl::Status LeaveInitramfs() {
  if (::mkdir(kNewRoot, 0755) != 0 && errno != EEXIST) return ErrnoStatus(errno, StrCat("mkdir ", kNewRoot));
  if (::mount("tmpfs", kNewRoot, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) {
    return ErrnoStatus(errno, StrCat("mount tmpfs on ", kNewRoot));
  }
  for (const char* dir : {"dev", "proc", "sys", "run"}) {
    const std::string from = StrCat("/", dir);
    const std::string to = StrCat(kNewRoot, "/", dir);
    if (::mkdir(to.c_str(), 0755) != 0) return ErrnoStatus(errno, StrCat("mkdir ", to));
    if (::mount(from.c_str(), to.c_str(), nullptr, MS_MOVE, nullptr) != 0) {
      return ErrnoStatus(errno, StrCat("move ", from, " to ", to));
    }
  }
  for (const char* dir : {"tmp", "lib", "lib/modules"}) {
    const std::string to = StrCat(kNewRoot, "/", dir);
    if (::mkdir(to.c_str(), dir[0] == 't' ? 01777 : 0755) != 0) return ErrnoStatus(errno, StrCat("mkdir ", to));
  }
  struct stat st;
  if (::stat("/bin", &st) == 0 && S_ISDIR(st.st_mode)) {
    const std::string to = StrCat(kNewRoot, "/bin");
    if (::mkdir(to.c_str(), 0755) != 0 || ::mount("/bin", to.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      return ErrnoStatus(errno, StrCat("bind /bin to ", to));
    }
  }
  RemoveModuleFiles();
  if (::chdir(kNewRoot) != 0) return ErrnoStatus(errno, StrCat("chdir ", kNewRoot));
  if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0) return ErrnoStatus(errno, "move the new root onto /");
  if (::chroot(".") != 0) return ErrnoStatus(errno, "chroot into the new root");
  if (::chdir("/") != 0) return ErrnoStatus(errno, "chdir /");
  return absl::OkStatus();
}

}  // namespace kata::guest
