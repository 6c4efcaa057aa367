#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "guest-agent/server/listener.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {
namespace {

class UnixListener : public Listener {
 public:
  UnixListener(std::string path, UniqueFd sock, UniqueFd stop)
      : path_(std::move(path)), sock_(std::move(sock)), stop_(std::move(stop)) {}
  ~UnixListener() override { ::unlink(path_.c_str()); }

  absl::StatusOr<UniqueFd> Accept() override {
    pollfd fds[2] = {{sock_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    for (;;) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, StrCat("poll ", path_));
      }
      if (fds[1].revents) return absl::CancelledError(StrCat("listener on ", path_, " shut down"));
      UniqueFd conn(::accept4(sock_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (conn.valid()) return conn;
      if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) continue;
      return ErrnoStatus(errno, StrCat("accept on ", path_));
    }
  }

  void Shutdown() override {
    const uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof(one));
  }

  std::string Describe() const override { return StrCat("unix:", path_); }

 private:
  std::string path_;
  UniqueFd sock_;
  UniqueFd stop_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Listener>> ListenUnix(const std::string& path) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(StrCat("unix socket path \"", path, "\" is empty or too long"));
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return absl::AlreadyExistsError(StrCat(path, " exists and is not a socket"));
    ::unlink(path.c_str());
  }
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!sock.valid()) return ErrnoStatus(errno, "socket(AF_UNIX)");
  const mode_t old = ::umask(0177);
  const int rc = ::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::umask(old);
  if (rc != 0) return ErrnoStatus(errno, StrCat("bind ", path));
  if (::listen(sock.get(), 16) != 0) return ErrnoStatus(errno, StrCat("listen on ", path));
  UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop.valid()) return ErrnoStatus(errno, "eventfd for the listener");
  return std::unique_ptr<Listener>(new UnixListener(path, std::move(sock), std::move(stop)));
}

}  // namespace kata::guest
