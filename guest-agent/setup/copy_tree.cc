#include "guest-agent/setup/copy_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace kata::guest {
namespace {

struct LinuxDirent64 {
  ino64_t d_ino;
  off64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

int CopyFile(int src_dir, int dst_dir, const char* name, const struct stat& st) noexcept {
  const int in = ::openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0) return errno;
  const int out = ::openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 07777);
  if (out < 0) {
    const int err = errno;
    ::close(in);
    return err;
  }
  int err = 0;
  for (;;) {
    const ssize_t n = ::sendfile(out, in, nullptr, 1 << 20);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
  }
  ::close(in);
  ::close(out);
  return err;
}

int CopyDir(int src, int dst, int depth) noexcept {
  if (depth > kMaxCopyDepth) return ELOOP;
  alignas(8) char buf[2048];
  for (;;) {
    const long n = ::syscall(SYS_getdents64, src, buf, sizeof(buf));
    if (n < 0) return errno;
    if (n == 0) return 0;
    for (long off = 0; off < n;) {
      const auto* d = reinterpret_cast<const LinuxDirent64*>(buf + off);
      off += d->d_reclen;
      const char* name = d->d_name;
      if (::strcmp(name, ".") == 0 || ::strcmp(name, "..") == 0) continue;
      struct stat st;
      if (::fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno;
      int err = 0;
      if (S_ISDIR(st.st_mode)) {
        if (::mkdirat(dst, name, st.st_mode & 07777) != 0) return errno;
        const int sub_src = ::openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        const int sub_dst = ::openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        err = sub_src < 0 || sub_dst < 0 ? errno : CopyDir(sub_src, sub_dst, depth + 1);
        if (sub_src >= 0) ::close(sub_src);
        if (sub_dst >= 0) ::close(sub_dst);
      } else if (S_ISREG(st.st_mode)) {
        err = CopyFile(src, dst, name, st);
      } else if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        const ssize_t len = ::readlinkat(src, name, target, sizeof(target) - 1);
        if (len < 0) return errno;
        target[len] = '\0';
        if (::symlinkat(target, dst, name) != 0) err = errno;
      } else if (S_ISFIFO(st.st_mode)) {
        if (::mknodat(dst, name, st.st_mode, 0) != 0) err = errno;
      } else {
        continue;  // sockets and device nodes are not copied
      }
      if (err != 0) return err;
      if (::fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) return errno;
      if (!S_ISLNK(st.st_mode) && ::fchmodat(dst, name, st.st_mode & 07777, 0) != 0) return errno;
    }
  }
}

}  // namespace

int ChildCopyTree(int src_fd, int dst_fd) noexcept { return CopyDir(src_fd, dst_fd, 0); }

}  // namespace kata::guest
