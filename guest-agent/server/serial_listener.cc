// The agent channel over virtio-serial. A port is a char device, not a socket, and it has
// no accept(): the host "connects" when something opens QEMU's chardev socket. Seen from the
// guest, while the host is away read() returns 0 and poll() reports POLLHUP; when it comes
// back POLLHUP clears, with no event of its own (../shared/reference/guest-boot-and-channel.md).
// A quick leave-and-return can pass unseen, so sessions are told apart by the preface each
// host connection starts with (serial_session_splitter.h), not by the port's state alone.

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "guest-agent/server/serial_session_splitter.h"
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

// One bridge thread per port, for the listener's life: it copies bytes between the port and
// the current session's socketpair, starts a session at each session preface
// (SerialSessionSplitter), and queues the server's end of each new session for Accept().
class SerialListener : public Listener {
 public:
  SerialListener(std::string device, UniqueFd port, UniqueFd stop)
      : device_(std::move(device)), port_(std::move(port)), stop_(std::move(stop)) {
    bridge_ = std::thread([this] { Bridge(); });
  }
  ~SerialListener() override {
    Shutdown();
    if (bridge_.joinable()) bridge_.join();
  }

  absl::StatusOr<UniqueFd> Accept() override {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](SerialListener* l) ABSL_EXCLUSIVE_LOCKS_REQUIRED(l->mu_) { return l->stopped_ || !l->sessions_.empty(); }, this));
    if (stopped_) return absl::CancelledError(StrCat("listener on ", device_, " shut down"));
    UniqueFd fd = std::move(sessions_.front());
    sessions_.pop_front();
    return fd;
  }

  void Shutdown() override {
    const uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof(one));
    absl::MutexLock lock(&mu_);
    stopped_ = true;
  }

  std::string Describe() const override { return StrCat("serial:", device_); }

 private:
  bool Stopping() {
    pollfd stop = {stop_.get(), POLLIN, 0};
    return ::poll(&stop, 1, 0) > 0;
  }

  // Polls until the host has the port open; false once Shutdown() was called.
  bool WaitForHost() {
    bool logged = false;
    for (;;) {
      pollfd fds[2] = {{port_.get(), POLLIN | POLLOUT, 0}, {stop_.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) return false;
      if (fds[1].revents) return false;
      if (!(fds[0].revents & POLLHUP)) return true;
      if (!logged) kLog.Debug("waiting for the host on the port", {{"device", device_}});
      logged = true;
      pollfd stop = {stop_.get(), POLLIN, 0};
      if (::poll(&stop, 1, kReconnectPollMs) > 0) return false;
    }
  }

  void StartSession() {
    EndSession("a new host connection began");
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) != 0) {
      kLog.Error("socketpair failed", {{"device", device_}, {"error", std::strerror(errno)}});
      splitter_.EndSession();
      return;
    }
    session_.reset(pair[1]);
    absl::MutexLock lock(&mu_);
    sessions_.emplace_back(pair[0]);
  }

  void EndSession(const char* why) {
    if (!session_.valid()) return;
    session_.reset();  // the server reads EOF, drops the connection and cancels its calls
    to_sock_ = {};
    to_port_ = {};
    kLog.Info("host connection ended", {{"device", device_}, {"reason", why}});
  }

  void Bridge() {
    while (!Stopping()) {
      if (!WaitForHost()) break;
      // The host is there: copy until it goes (or we stop).
      for (;;) {
        pollfd fds[3] = {
            {port_.get(),
             static_cast<short>((to_sock_.Full() ? 0 : POLLIN) | (to_port_.empty() || splitter_.undecided() ? 0 : POLLOUT)),
             0},
            {session_.valid() ? session_.get() : -1,
             static_cast<short>((to_port_.Full() ? 0 : POLLIN) | (to_sock_.empty() ? 0 : POLLOUT)), 0},
            {stop_.get(), POLLIN, 0}};
        if (::poll(fds, 3, -1) < 0) {
          if (errno == EINTR) continue;
          break;
        }
        if (fds[2].revents) break;
        bool host_gone = false;
        if (fds[0].revents & POLLIN) {
          Pending incoming;
          host_gone = ReadInto(port_.get(), incoming) == ReadResult::kClosed;
          for (auto& piece : splitter_.Feed(incoming.data)) {
            if (piece.new_session) StartSession();
            if (session_.valid()) to_sock_.data += piece.data;
          }
          if (!splitter_.in_session()) EndSession("the host's bytes lost their frame boundary");
        }
        if (host_gone || (fds[0].revents & (POLLHUP | POLLERR))) {
          if (splitter_.HostHungUp()) {
            EndSession("host went away");
          } else {
            kLog.Info("host went away, or an earlier connection's close came late: the host's next bytes decide",
                      {{"device", device_}});
          }
          break;
        }
        if (session_.valid()) {
          const bool closed = (fds[1].revents & POLLIN) && ReadInto(session_.get(), to_port_) == ReadResult::kClosed;
          if (closed || (fds[1].revents & (POLLHUP | POLLERR)) || !to_sock_.Flush(session_.get())) {
            // What the host still sends on this connection is dropped until its next preface.
            EndSession("server closed the connection");
            splitter_.EndSession();
          }
        }
        if (!splitter_.undecided() && !to_port_.Flush(port_.get())) {
          EndSession("port write failed");
          splitter_.EndSession();
        }
      }
    }
    EndSession("shut down");
  }

  std::string device_;
  UniqueFd port_;
  UniqueFd stop_;
  std::thread bridge_;
  // The bridge thread's own state.
  SerialSessionSplitter splitter_;
  UniqueFd session_;
  Pending to_sock_, to_port_;

  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<UniqueFd> sessions_ ABSL_GUARDED_BY(mu_);  // server ends not yet accepted
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
