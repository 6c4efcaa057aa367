#include "guest-agent/uevent/uevent_monitor.h"

#include <dirent.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "libkata/base/errno_status.h"
#include "libkata/base/file_util.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"

namespace kata::guest {
namespace {

const log::Subsystem kLog("uevent");

// Large enough that a burst of hot-plug events (many disks at once) is not dropped.
constexpr int kReceiveBuffer = 4 << 20;
// Reopenings of the socket in a row, without an event read in between, before giving up.
constexpr int kMaxRecoveries = 3;

}  // namespace

absl::StatusOr<UniqueFd> OpenUeventSocket() {
  UniqueFd sock(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT));
  if (!sock.valid()) return ErrnoStatus(errno, "open uevent netlink socket");
  // SO_RCVBUFFORCE needs CAP_NET_ADMIN; fall back to what the limit allows.
  if (::setsockopt(sock.get(), SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveBuffer, sizeof(kReceiveBuffer)) != 0) {
    ::setsockopt(sock.get(), SOL_SOCKET, SO_RCVBUF, &kReceiveBuffer, sizeof(kReceiveBuffer));
  }
  sockaddr_nl addr = {};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = 1;  // kernel events (udevd's rebroadcasts are group 2; there is no udevd in the guest)
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoStatus(errno, "bind uevent netlink socket");
  }
  return sock;
}

absl::StatusOr<std::unique_ptr<UeventMonitor>> UeventMonitor::Start(UeventStore& store, std::string sysfs_root,
                                                                    SocketOpener open) {
  auto sock = open();
  if (!sock.ok()) return sock.status();
  UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop.valid()) return ErrnoStatus(errno, "eventfd for the uevent monitor");
  std::unique_ptr<UeventMonitor> m(
      new UeventMonitor(store, std::move(sysfs_root), std::move(open), std::move(*sock), std::move(stop)));
  // The socket is open, so nothing that happens from here on is missed: the seeding runs on
  // the reader's thread, off the agent's start (17 ms of a TCG boot). Waiters hear seeded
  // devices as they hear events.
  m->reader_ = std::thread([raw = m.get()] {
    raw->Seed();
    raw->Run();
  });
  return m;
}

UeventMonitor::UeventMonitor(UeventStore& store, std::string sysfs_root, SocketOpener open, UniqueFd sock, UniqueFd stop)
    : store_(store), sysfs_root_(std::move(sysfs_root)), open_(std::move(open)), sock_(std::move(sock)),
      stop_(std::move(stop)) {}

UeventMonitor::~UeventMonitor() {
  const uint64_t one = 1;
  if (::write(stop_.get(), &one, sizeof(one)) < 0) {
    kLog.Error("cannot stop the uevent reader", {{"errno", errno}});
  }
  if (reader_.joinable()) reader_.join();
}

void UeventMonitor::Seed() {
  const std::string class_dir = StrCat(sysfs_root_, "/class/block");
  DIR* dir = ::opendir(class_dir.c_str());
  if (dir == nullptr) {
    kLog.Warn("cannot list block devices to seed from", {{"dir", class_dir}, {"errno", errno}});
    return;
  }
  int seeded = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    char real[PATH_MAX];
    const std::string link = StrCat(class_dir, "/", entry->d_name);
    if (::realpath(link.c_str(), real) == nullptr) continue;  // vanished meanwhile
    std::string_view devpath(real);
    if (!devpath.starts_with(sysfs_root_)) continue;
    devpath.remove_prefix(sysfs_root_.size());
    auto uevent_file = ReadFileToString(StrCat(real, "/uevent"), 4096);
    if (!uevent_file.ok()) continue;
    store_.Deliver(UeventFromSysfs(devpath, "block", *uevent_file));
    ++seeded;
  }
  ::closedir(dir);
  kLog.Debug("seeded block devices from sysfs", {{"count", seeded}});
}

bool UeventMonitor::Recover(const std::string& what, int err) {
  kLog.Error("uevent reader failed; reopening its socket", {{"step", what}, {"errno", err}});
  // A socket that fails again at once is not worth reopening forever.
  auto sock = ++recoveries_ <= kMaxRecoveries ? open_() : absl::StatusOr<UniqueFd>(absl::ResourceExhaustedError("gave up after repeated failures"));
  if (!sock.ok()) {
    const std::string why = StrCat("the uevent reader stopped (", what, ": ", std::strerror(err),
                                   "; reopening: ", ToStd(sock.status().message()), "): no device can be awaited");
    kLog.Error("uevent reader stopped", {{"error", why}});
    store_.Break(absl::UnavailableError(why));
    return false;
  }
  sock_ = std::move(*sock);
  Seed();  // events missed meanwhile: what sysfs shows now is the truth
  return true;
}

void UeventMonitor::Run() {
  std::string buf(64 * 1024, '\0');
  for (;;) {
    pollfd fds[2] = {{sock_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      if (!Recover("poll", errno)) return;
      continue;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents & (POLLERR | POLLNVAL)) {
      if (!Recover("poll", EIO)) return;
      continue;
    }
    sockaddr_nl from = {};
    iovec iov = {buf.data(), buf.size()};
    msghdr msg = {};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof(from);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    const ssize_t n = ::recvmsg(sock_.get(), &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == ENOBUFS) {
        // Events were dropped: what sysfs shows now is the truth to start from again.
        kLog.Warn("uevent buffer overrun; re-seeding from sysfs");
        Seed();
        continue;
      }
      if (!Recover("receive", errno)) return;
      continue;
    }
    if (from.nl_pid != 0) continue;  // only the kernel speaks on this group
    auto e = ParseUevent(std::string_view(buf.data(), static_cast<size_t>(n)));
    if (!e.ok()) {
      kLog.Debug("ignored a uevent", {{"error", std::string(e.status().message())}});
      continue;
    }
    recoveries_ = 0;
    kLog.Trace("uevent", {{"event", e->Describe()}});
    store_.Deliver(*e);
  }
}

}  // namespace kata::guest
