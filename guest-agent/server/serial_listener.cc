// The agent channel over virtio-serial. A port is a char device gRPC cannot serve, and it has
// no accept(): the host "connects" when something opens QEMU's chardev socket. Seen from the
// guest, while the host is away read() returns 0 and poll() reports POLLHUP; when it comes
// back POLLHUP clears, with no event of its own (../shared/reference/guest-boot-and-channel.md).

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

#include "guest-agent/server/listener.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/file_util.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"

namespace kata::guest {
namespace {

const log::Subsystem kLog("channel");

// While the host is away the port reports POLLHUP without pause: look again at this period.
constexpr int kReconnectPollMs = 10;
constexpr size_t kBufferLimit = 256 * 1024;

// Bytes waiting to be written to one side.
struct Pending {
  std::string data;
  size_t offset = 0;
  bool empty() const { return offset == data.size(); }
  // Writes what it can; false when the fd failed for good.
  bool Flush(int fd) {
    while (!empty()) {
      const ssize_t n = ::write(fd, data.data() + offset, data.size() - offset);
      if (n > 0) {
        offset += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        return n < 0 && errno == EAGAIN;
      }
    }
    data.clear();
    offset = 0;
    return true;
  }
  bool Full() const { return data.size() - offset >= kBufferLimit; }
};

enum class ReadResult { kData, kNothing, kClosed };

ReadResult ReadInto(int fd, Pending& into) {
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      into.data.append(buf, static_cast<size_t>(n));
      return ReadResult::kData;
    }
    if (n == 0) return ReadResult::kClosed;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return ReadResult::kNothing;
    return ReadResult::kClosed;
  }
}

class SerialListener : public Listener {
 public:
  SerialListener(std::string device, UniqueFd port, UniqueFd stop)
      : device_(std::move(device)), port_(std::move(port)), stop_(std::move(stop)) {}
  ~SerialListener() override {
    Shutdown();
    if (bridge_.joinable()) bridge_.join();
  }

  absl::StatusOr<UniqueFd> Accept() override {
    // One host connection at a time: the next starts after the previous one ended.
    if (bridge_.joinable()) bridge_.join();
    RETURN_IF_ERROR(WaitForHost());
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) != 0) {
      return ErrnoStatus(errno, StrCat("socketpair for ", device_));
    }
    UniqueFd served(pair[0]);
    bridge_ = std::thread([this, bridged = UniqueFd(pair[1])]() mutable { Bridge(std::move(bridged)); });
    return served;
  }

  void Shutdown() override {
    const uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof(one));
  }

  std::string Describe() const override { return StrCat("serial:", device_); }

 private:
  // Cancelled once Shutdown() was called.
  absl::Status WaitForHost() {
    bool logged = false;
    for (;;) {
      pollfd fds[2] = {{port_.get(), POLLIN | POLLOUT, 0}, {stop_.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) return ErrnoStatus(errno, StrCat("poll ", device_));
      if (fds[1].revents) return absl::CancelledError(StrCat("listener on ", device_, " shut down"));
      if (!(fds[0].revents & POLLHUP)) return absl::OkStatus();
      if (!logged) kLog.Debug("waiting for the host on the port", {{"device", device_}});
      logged = true;
      pollfd stop = {stop_.get(), POLLIN, 0};
      if (::poll(&stop, 1, kReconnectPollMs) > 0) return absl::CancelledError(StrCat("listener on ", device_, " shut down"));
    }
  }

  // Copies bytes both ways until the host goes away, gRPC closes its end, or Shutdown().
  void Bridge(UniqueFd sock) {
    Pending to_sock, to_port;
    const char* why = "shut down";
    for (;;) {
      pollfd fds[3] = {
          {port_.get(), static_cast<short>((to_sock.Full() ? 0 : POLLIN) | (to_port.empty() ? 0 : POLLOUT)), 0},
          {sock.get(), static_cast<short>((to_port.Full() ? 0 : POLLIN) | (to_sock.empty() ? 0 : POLLOUT)), 0},
          {stop_.get(), POLLIN, 0}};
      if (::poll(fds, 3, -1) < 0) {
        if (errno == EINTR) continue;
        why = "poll failed";
        break;
      }
      if (fds[2].revents) break;
      if (fds[0].revents & POLLIN && ReadInto(port_.get(), to_sock) == ReadResult::kClosed) {
        why = "host went away";
        break;
      }
      if (fds[0].revents & (POLLHUP | POLLERR)) {
        why = "host went away";
        break;
      }
      if (fds[1].revents & POLLIN && ReadInto(sock.get(), to_port) == ReadResult::kClosed) {
        why = "server closed the connection";
        break;
      }
      if (fds[1].revents & (POLLHUP | POLLERR)) {
        why = "server closed the connection";
        break;
      }
      if (!to_port.Flush(port_.get())) {
        why = "port write failed";
        break;
      }
      if (!to_sock.Flush(sock.get())) {
        why = "server socket write failed";
        break;
      }
    }
    kLog.Info("host connection ended", {{"device", device_}, {"reason", why}});
  }

  std::string device_;
  UniqueFd port_;
  UniqueFd stop_;
  std::thread bridge_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Listener>> ListenSerial(const std::string& device) {
  UniqueFd port(::open(device.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!port.valid()) return ErrnoStatus(errno, StrCat("open ", device));
  UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop.valid()) return ErrnoStatus(errno, "eventfd for the listener");
  return std::unique_ptr<Listener>(new SerialListener(device, std::move(port), std::move(stop)));
}

absl::StatusOr<std::string> FindVirtioPort(const std::string& class_dir, const std::string& name) {
  DIR* dir = ::opendir(class_dir.c_str());
  if (dir == nullptr) return ErrnoStatus(errno, StrCat("open ", class_dir));
  std::string found;
  while (dirent* e = ::readdir(dir)) {
    const std::string entry = e->d_name;
    if (entry.starts_with(".")) continue;
    auto port_name = ReadFileToString(StrCat(class_dir, "/", entry, "/name"));
    if (!port_name.ok()) continue;
    std::string n = *port_name;
    while (!n.empty() && (n.back() == '\n' || n.back() == '\0')) n.pop_back();
    if (n == name) {
      found = entry;
      break;
    }
  }
  ::closedir(dir);
  if (found.empty()) return absl::NotFoundError(StrCat("no virtio-serial port named ", name, " in ", class_dir));
  return StrCat("/dev/", found);
}

}  // namespace kata::guest
