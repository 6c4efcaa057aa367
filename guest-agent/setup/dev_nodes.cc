#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "guest-agent/process/child_steps.h"
#include "guest-agent/setup/child_fs.h"
#include "guest-agent/setup/init_steps.h"

namespace kata::guest {
namespace {

// An empty file at `relative` with `source` bound on it.
int BindNode(int root_fd, const std::string& relative, const std::string& source) noexcept {
  int fd = -1;
  if (int err = ChildOpenInRoot(root_fd, relative.c_str(), ChildCreate::kFile, true, &fd); err != 0) return err;
  const FdPath target = ChildFdPath(fd);
  const int rc = ::mount(source.c_str(), target.path, nullptr, MS_BIND, nullptr);
  const int err = rc == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

int MakeNode(int root_fd, const DeviceNodeStep& d) noexcept {
  int dir = -1;
  const char* name = nullptr;
  if (int err = ChildOpenParentInRoot(root_fd, d.relative.c_str(), &dir, &name); err != 0) return err;
  int err = 0;
  if (::mknodat(dir, name, d.mode, d.dev) == 0) {
    if (::fchownat(dir, name, d.uid, d.gid, AT_SYMLINK_NOFOLLOW) != 0) err = errno;
  } else if (errno == EEXIST) {
    err = 0;  // the image or a spec mount has it already (runc keeps it)
  } else if (!d.bind_source.empty()) {
    // A user namespace may not mknod (EPERM), a 9p share cannot hold nodes (ENXIO): bind the
    // VM's node instead, as runc binds the host's.
    err = BindNode(root_fd, d.relative, d.bind_source);
  } else {
    err = errno;
  }
  ::close(dir);
  return err;
}

int MakeSymlink(int root_fd, const SymlinkStep& s) noexcept {
  int dir = -1;
  const char* name = nullptr;
  if (int err = ChildOpenParentInRoot(root_fd, s.relative.c_str(), &dir, &name); err != 0) return err;
  if (s.replace && ::unlinkat(dir, name, 0) != 0 && errno != ENOENT) {
    const int err = errno;
    ::close(dir);
    return err;
  }
  const int err = ::symlinkat(s.target.c_str(), dir, name) == 0 || errno == EEXIST ? 0 : errno;
  ::close(dir);
  return err;
}

}  // namespace

void CreateDevNodes(SetupContext& ctx) noexcept {
  const InitPlan& p = ctx.plan;
  const mode_t old_umask = ::umask(0);  // nodes get exactly their mode
  if (p.setup_dev) {
    for (size_t i = 0; i < p.devices.size(); ++i) {
      if (int err = MakeNode(ctx.root_fd, p.devices[i]); err != 0) ChildFail(ctx.status_fd, kStepDevice, err, static_cast<int32_t>(i));
    }
    for (size_t i = 0; i < p.symlinks.size(); ++i) {
      if (int err = MakeSymlink(ctx.root_fd, p.symlinks[i]); err != 0) {
        ChildFail(ctx.status_fd, kStepSymlink, err, static_cast<int32_t>(i));
      }
    }
  }
  if (!p.console_source.empty()) {
    if (int err = BindNode(ctx.root_fd, "dev/console", p.console_source); err != 0) ChildFail(ctx.status_fd, kStepConsole, err);
  }
  ::umask(old_umask);
}

}  // namespace kata::guest
