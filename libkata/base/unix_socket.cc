#include "libkata/base/unix_socket.h"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"

namespace kata {
namespace {

absl::StatusOr<sockaddr_un> Address(const std::string& path) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(StrCat("unix socket path \"", path, "\" is empty or too long"));
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

}  // namespace

absl::StatusOr<UniqueFd> ConnectUnixSocket(const std::string& path) {
  auto addr = Address(path);
  if (!addr.ok()) return addr.status();
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus(errno, "socket(AF_UNIX)");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0) {
    return ErrnoStatus(errno, StrCat("connect to ", path));
  }
  return fd;
}

absl::StatusOr<UniqueFd> ListenUnixSocket(const std::string& path, int type_flags, int backlog) {
  auto addr = Address(path);
  if (!addr.ok()) return addr.status();
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode)) {
    return absl::AlreadyExistsError(StrCat(path, " exists and is not a socket"));
  }
  // Bound and listening under a name beside it, then renamed into place: a client that waits
  // for the path to appear never finds it refusing connections (bind makes the file, listen
  // comes after), and a stale socket is replaced without a moment with no path at all. A
  // path too long for the extra character is bound in place.
  const std::string staging = path + "~";
  auto staging_addr = Address(staging);
  const bool staged = staging_addr.ok();
  const std::string& bound = staged ? staging : path;
  if (::lstat(bound.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return absl::AlreadyExistsError(StrCat(bound, " exists and is not a socket"));
    ::unlink(bound.c_str());
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | type_flags, 0));
  if (!fd.valid()) return ErrnoStatus(errno, "socket(AF_UNIX)");
  const mode_t old = ::umask(0177);
  const int rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(staged ? &*staging_addr : &*addr), sizeof(*addr));
  ::umask(old);
  if (rc != 0) return ErrnoStatus(errno, StrCat("bind ", bound));
  if (::listen(fd.get(), backlog) != 0) {
    const int err = errno;
    ::unlink(bound.c_str());
    return ErrnoStatus(err, StrCat("listen on ", bound));
  }
  if (staged && ::rename(staging.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(staging.c_str());
    return ErrnoStatus(err, StrCat("rename ", staging, " to ", path));
  }
  return fd;
}

}  // namespace kata
