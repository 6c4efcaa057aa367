#include "guest-agent/setup/child_fs.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace kata::guest {
namespace {

int OpenAt2(int dir_fd, const char* path, uint64_t flags) noexcept {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd;
  do {
    fd = static_cast<int>(::syscall(SYS_openat2, dir_fd, path, &how, sizeof(how)));
  } while (fd < 0 && errno == EAGAIN);  // a rename raced the lookup
  return fd;
}

}  // namespace

int ChildOpenInRoot(int root_fd, const char* relative, ChildCreate create, bool no_follow_last, int* out_fd) noexcept {
  while (*relative == '/') ++relative;
  char buf[PATH_MAX];
  const size_t n = ::strnlen(relative, sizeof(buf));
  if (n >= sizeof(buf)) return ENAMETOOLONG;
  ::memcpy(buf, relative, n + 1);
  while (n > 0 && buf[n - 1] == '/') buf[n - 1] = '\0';
  int parent = ::fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
  if (parent < 0) return errno;
  if (buf[0] == '\0') {
    *out_fd = parent;
    return 0;
  }
  size_t start = 0;
  for (size_t i = 0;; ++i) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    const bool last = buf[i] == '\0';
    const char saved = buf[i];
    buf[i] = '\0';
    if (i == start) {  // "a//b"
      buf[i] = saved;
      start = i + 1;
      continue;
    }
    const uint64_t flags = O_PATH | (last ? (no_follow_last ? O_NOFOLLOW : 0) : O_DIRECTORY);
    int fd = OpenAt2(root_fd, buf, flags);
    if (fd < 0 && errno == ENOENT && create != ChildCreate::kNothing) {
      const char* name = buf + start;
      int made;
      if (last && create == ChildCreate::kFile) {
        made = ::openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (made >= 0) ::close(made);
      } else {
        made = ::mkdirat(parent, name, 0755);
      }
      if (made < 0 && errno != EEXIST) {
        const int err = errno;
        ::close(parent);
        return err;
      }
      fd = OpenAt2(root_fd, buf, flags);
    }
    if (fd < 0) {
      const int err = errno;
      ::close(parent);
      return err;
    }
    ::close(parent);
    if (last) {
      if (no_follow_last) {
        struct stat st;
        if (::fstat(fd, &st) != 0 || S_ISLNK(st.st_mode)) {
          const int err = S_ISLNK(st.st_mode) ? ELOOP : errno;
          ::close(fd);
          return err;
        }
      }
      *out_fd = fd;
      return 0;
    }
    parent = fd;
    buf[i] = saved;
    start = i + 1;
  }
}

int ChildOpenParentInRoot(int root_fd, const char* relative, int* out_fd, const char** name) noexcept {
  const char* slash = ::strrchr(relative, '/');
  *name = slash ? slash + 1 : relative;
  if (**name == '\0') return EINVAL;
  char dir[PATH_MAX];
  const size_t len = slash ? static_cast<size_t>(slash - relative) : 0;
  if (len >= sizeof(dir)) return ENAMETOOLONG;
  ::memcpy(dir, relative, len);
  dir[len] = '\0';
  return ChildOpenInRoot(root_fd, dir, ChildCreate::kDir, false, out_fd);
}

FdPath ChildFdPath(int fd) noexcept {
  FdPath p;
  char digits[12];
  int nd = 0;
  unsigned u = static_cast<unsigned>(fd);
  do {
    digits[nd++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  static constexpr char kPrefix[] = "/proc/self/fd/";
  size_t len = sizeof(kPrefix) - 1;
  ::memcpy(p.path, kPrefix, len);
  while (nd > 0) p.path[len++] = digits[--nd];
  p.path[len] = '\0';
  return p;
}

unsigned long ChildMountFlagsOf(const char* path) noexcept {
  struct statfs s;
  if (::statfs(path, &s) != 0) return 0;
  static constexpr struct {
    unsigned long st, ms;
  } kFlags[] = {{ST_RDONLY, MS_RDONLY},     {ST_NOSUID, MS_NOSUID},         {ST_NODEV, MS_NODEV},
                {ST_NOEXEC, MS_NOEXEC},     {ST_NOATIME, MS_NOATIME},       {ST_NODIRATIME, MS_NODIRATIME},
                {ST_RELATIME, MS_RELATIME}};
  unsigned long flags = 0;
  for (const auto& f : kFlags) {
    if (static_cast<unsigned long>(s.f_flags) & f.st) flags |= f.ms;
  }
  return flags;
}

}  // namespace kata::guest
