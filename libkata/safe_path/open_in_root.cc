#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <vector>

#include "absl/strings/match.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/status_macros.h"
#include "libkata/safe_path/path_components.h"
#include "libkata/safe_path/safe_path.h"

namespace kata::safe_path {
namespace {

using internal::SplitComponents;

absl::StatusOr<UniqueFd> OpenWithOpenat2(int root_fd, std::string_view path, int flags) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const std::string p = path.empty() ? "." : std::string(path);
  for (;;) {
    const long fd = ::syscall(SYS_openat2, root_fd, p.c_str(), &how, sizeof(how));
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno == EINTR || errno == EAGAIN) continue;  // EAGAIN: a rename raced the lookup
    return ErrnoStatus(errno, StrCat("open \"", path, "\" in root"));
  }
}

// The same resolution in user space: each component opened with O_NOFOLLOW from the directory
// fd before it, symlink targets spliced into the pending components (absolute ones from root),
// `..` popping the stack of directory fds but never past root.
absl::StatusOr<UniqueFd> OpenWithWalk(int root_fd, std::string_view path, int flags) {
  std::deque<std::string> pending = SplitComponents(path);
  std::vector<UniqueFd> stack;  // directories below root, innermost last
  auto current = [&]() { return stack.empty() ? root_fd : stack.back().get(); };
  int links = 0;
  while (!pending.empty()) {
    std::string c = std::move(pending.front());
    pending.pop_front();
    if (c == ".") continue;
    if (c == "..") {
      if (!stack.empty()) stack.pop_back();
      continue;
    }
    UniqueFd fd(::openat(current(), c.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return ErrnoStatus(errno, StrCat("open \"", path, "\" in root at \"", c, "\""));
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, StrCat("stat \"", c, "\""));
    if (S_ISLNK(st.st_mode)) {
      if (++links > internal::kMaxSymlinks) {
        return absl::FailedPreconditionError(StrCat("too many symlinks opening \"", path, "\" in root"));
      }
      char buf[PATH_MAX];
      // readlinkat on an O_PATH symlink fd with an empty name reads that link.
      const ssize_t n = ::readlinkat(fd.get(), "", buf, sizeof(buf));
      if (n < 0) return ErrnoStatus(errno, StrCat("readlink \"", c, "\""));
      const std::string_view target(buf, static_cast<size_t>(n));
      if (!target.empty() && target.front() == '/') stack.clear();
      std::deque<std::string> parts = SplitComponents(target);
      pending.insert(pending.begin(), parts.begin(), parts.end());
      continue;
    }
    if (!pending.empty() && !S_ISDIR(st.st_mode)) {
      return ErrnoStatus(ENOTDIR, StrCat("open \"", path, "\" in root at \"", c, "\""));
    }
    stack.push_back(std::move(fd));
  }
  // Reopen the final object with the caller's flags through /proc (an O_PATH fd cannot be
  // read); /proc/self/fd/N names exactly the object we reached, not a path to re-resolve.
  const std::string self = stack.empty() ? StrCat("/proc/self/fd/", root_fd)
                                         : StrCat("/proc/self/fd/", stack.back().get());
  if ((flags & O_PATH) != 0 && !stack.empty() && (flags & ~(O_PATH | O_CLOEXEC | O_NOFOLLOW)) == 0) {
    return std::move(stack.back());
  }
  UniqueFd out(::open(self.c_str(), flags | O_CLOEXEC));
  if (!out.valid()) return ErrnoStatus(errno, StrCat("open \"", path, "\" in root"));
  return out;
}

absl::StatusOr<std::string> FdPath(int fd) {
  char buf[PATH_MAX];
  const std::string link = StrCat("/proc/self/fd/", fd);
  const ssize_t n = ::readlink(link.c_str(), buf, sizeof(buf));
  if (n < 0) return ErrnoStatus(errno, StrCat("readlink ", link));
  return std::string(buf, static_cast<size_t>(n));
}

bool Under(const std::string& path, const std::string& root) {
  return root == "/" || path == root || path.starts_with(root + "/");
}

absl::StatusOr<UniqueFd> OpenRoot(const std::string& root) {
  UniqueFd fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, StrCat("open root ", root));
  return fd;
}

}  // namespace

bool KernelHasOpenat2() {
  static const bool has = [] {
    struct open_how how = {};
    how.flags = O_PATH | O_CLOEXEC;
    const long fd = ::syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
    if (fd >= 0) ::close(static_cast<int>(fd));
    return fd >= 0 || errno != ENOSYS;
  }();
  return has;
}

absl::StatusOr<UniqueFd> OpenInRoot(int root_fd, std::string_view path, int flags,
                                    Resolver resolver) {
  if (path.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError("path holds a NUL byte");
  }
  if (resolver == Resolver::kAuto) {
    resolver = KernelHasOpenat2() ? Resolver::kOpenat2 : Resolver::kWalk;
  }
  if (resolver == Resolver::kOpenat2) return OpenWithOpenat2(root_fd, path, flags);
  return OpenWithWalk(root_fd, path, flags);
}

absl::StatusOr<std::string> ScopedResolve(const std::string& root, std::string_view path,
                                          Resolver resolver) {
  ASSIGN_OR_RETURN(UniqueFd root_fd, OpenRoot(root));
  ASSIGN_OR_RETURN(std::string real_root, FdPath(root_fd.get()));
  ASSIGN_OR_RETURN(UniqueFd fd, OpenInRoot(root_fd.get(), path, O_PATH, resolver));
  ASSIGN_OR_RETURN(std::string real, FdPath(fd.get()));
  if (!Under(real, real_root)) {
    // Only a concurrent rename of a directory out of root can get here.
    return absl::PermissionDeniedError(
        StrCat("\"", path, "\" resolved to ", real, ", outside root ", real_root));
  }
  return real;
}

absl::StatusOr<std::string> MkdirAllInRoot(const std::string& root, std::string_view path,
                                           mode_t mode, std::vector<std::string>* created,
                                           Resolver resolver) {
  ASSIGN_OR_RETURN(UniqueFd root_fd, OpenRoot(root));
  ASSIGN_OR_RETURN(std::string real_root, FdPath(root_fd.get()));
  const std::deque<std::string> parts = SplitComponents(path);
  std::string prefix;  // the unresolved path so far, re-resolved from root at each step
  UniqueFd dir;
  for (const std::string& c : parts) {
    const std::string parent = prefix;
    prefix = prefix.empty() ? c : StrCat(prefix, "/", c);
    auto opened = OpenInRoot(root_fd.get(), prefix, O_PATH | O_DIRECTORY, resolver);
    if (opened.ok()) {
      dir = std::move(*opened);
      continue;
    }
    if (!absl::IsNotFound(opened.status())) {
      return absl::FailedPreconditionError(
          StrCat("mkdir \"", path, "\" in ", root, ": ", opened.status().message()));
    }
    if (c == "." || c == "..") return opened.status();  // parent missing: already reported
    ASSIGN_OR_RETURN(UniqueFd parent_fd, OpenInRoot(root_fd.get(), parent, O_PATH | O_DIRECTORY, resolver));
    bool made = true;
    if (::mkdirat(parent_fd.get(), c.c_str(), mode) != 0) {
      if (errno != EEXIST) return ErrnoStatus(errno, StrCat("mkdir \"", prefix, "\" in ", root));
      made = false;  // lost a race, or a symlink stands there
    }
    auto opened_new = OpenInRoot(root_fd.get(), prefix, O_PATH | O_DIRECTORY, resolver);
    if (!opened_new.ok()) {
      // EEXIST above and still not found: a symlink whose target does not exist.
      return absl::FailedPreconditionError(StrCat(
          "mkdir \"", path, "\" in ", root, ": \"", prefix, "\" is a dangling symlink or vanished"));
    }
    dir = std::move(*opened_new);
    if (made && created != nullptr) {
      ASSIGN_OR_RETURN(std::string real, FdPath(dir.get()));
      created->push_back(std::move(real));
    }
  }
  if (!dir.valid()) return real_root;
  ASSIGN_OR_RETURN(std::string real, FdPath(dir.get()));
  if (!Under(real, real_root)) {
    return absl::PermissionDeniedError(
        StrCat("\"", path, "\" resolved to ", real, ", outside root ", real_root));
  }
  return real;
}

}  // namespace kata::safe_path
