#include <linux/vm_sockets.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>

#include "guest-agent/server/listener.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unix_socket.h"

namespace kata::guest {
namespace {

// A listening stream socket (unix or vsock); Accept waits on it and on a stop eventfd.
class SocketListener : public Listener {
 public:
  SocketListener(std::string description, UniqueFd sock, UniqueFd stop, std::function<void()> on_close)
      : description_(std::move(description)), sock_(std::move(sock)), stop_(std::move(stop)),
        on_close_(std::move(on_close)) {}
  ~SocketListener() override {
    if (on_close_) on_close_();
  }

  absl::StatusOr<UniqueFd> Accept() override {
    pollfd fds[2] = {{sock_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    for (;;) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, StrCat("poll ", description_));
      }
      if (fds[1].revents) return absl::CancelledError(StrCat("listener on ", description_, " shut down"));
      UniqueFd conn(::accept4(sock_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (conn.valid()) return conn;
      if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) continue;
      return ErrnoStatus(errno, StrCat("accept on ", description_));
    }
  }

  void Shutdown() override {
    const uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof(one));
  }

  std::string Describe() const override { return description_; }

 private:
  std::string description_;
  UniqueFd sock_;
  UniqueFd stop_;
  std::function<void()> on_close_;
};

absl::StatusOr<std::unique_ptr<Listener>> Listen(std::string description, UniqueFd sock,
                                                 std::function<void()> on_close) {
  UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop.valid()) return ErrnoStatus(errno, "eventfd for the listener");
  return std::unique_ptr<Listener>(
      new SocketListener(std::move(description), std::move(sock), std::move(stop), std::move(on_close)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Listener>> ListenUnix(const std::string& path) {
  auto sock = ListenUnixSocket(path, SOCK_CLOEXEC | SOCK_NONBLOCK, 16);
  if (!sock.ok()) return sock.status();
  return Listen(StrCat("unix:", path), std::move(*sock), [path] { ::unlink(path.c_str()); });
}

absl::StatusOr<std::unique_ptr<Listener>> ListenVsock(uint32_t port) {
  UniqueFd sock(::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!sock.valid()) return ErrnoStatus(errno, "socket(AF_VSOCK)");
  sockaddr_vm addr = {};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = VMADDR_CID_ANY;
  addr.svm_port = port;
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoStatus(errno, StrCat("bind vsock port ", port));
  }
  if (::listen(sock.get(), 16) != 0) return ErrnoStatus(errno, StrCat("listen on vsock port ", port));
  return Listen(StrCat("vsock:", port), std::move(sock), nullptr);
}

}  // namespace kata::guest
