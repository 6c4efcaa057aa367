#include "guest-agent/testing/loop_device.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/time/clock.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unique_fd.h"

namespace kata::guest::testing {
namespace {

// Numbers well above what the host's own loop devices use; each test process walks its own
// range (pid-based) so parallel test binaries do not collide.
std::atomic<int> next_index{0};

}  // namespace

bool LoopGone(int index) { return ::access(StrCat("/sys/block/loop", index).c_str(), F_OK) != 0; }


absl::StatusOr<int> LoopDevice::FreeIndex() {
  if (next_index == 0) next_index = 1000 + (::getpid() % 500) * 16;
  for (int tries = 0; tries < 4096; ++tries) {
    const int i = next_index++;
    if (i >= (1 << 20)) break;
    if (LoopGone(i)) return i;
  }
  return absl::ResourceExhaustedError("no free loop device number");
}

absl::StatusOr<LoopDevice> LoopDevice::Attach(const std::string& file, bool read_only, int index) {
  if (index < 0) {
    auto free = FreeIndex();
    if (!free.ok()) return free.status();
    index = *free;
  }
  UniqueFd ctl(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!ctl.valid()) return ErrnoStatus(errno, "open /dev/loop-control");
  if (::ioctl(ctl.get(), LOOP_CTL_ADD, index) < 0) return ErrnoStatus(errno, StrCat("LOOP_CTL_ADD ", index));
  LoopDevice dev(index);  // from here on the destructor removes it
  UniqueFd backing(::open(file.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC));
  if (!backing.valid()) return ErrnoStatus(errno, StrCat("open ", file));
  UniqueFd loop;
  for (int i = 0; i < 100 && !loop.valid(); ++i) {  // devtmpfs makes the node as the device is added
    loop.reset(::open(dev.path().c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC));
    if (!loop.valid()) absl::SleepFor(absl::Milliseconds(5));
  }
  if (!loop.valid()) return ErrnoStatus(errno, StrCat("open ", dev.path()));
  loop_config config;
  std::memset(&config, 0, sizeof(config));
  config.fd = static_cast<__u32>(backing.get());
  config.info.lo_flags = read_only ? LO_FLAGS_READ_ONLY : 0;
  if (::ioctl(loop.get(), LOOP_CONFIGURE, &config) < 0) {
    return ErrnoStatus(errno, StrCat("LOOP_CONFIGURE ", dev.path(), " with ", file));
  }
  return dev;
}

LoopDevice& LoopDevice::operator=(LoopDevice&& other) noexcept {
  if (this != &other) {
    Remove();
    index_ = other.index_;
    other.index_ = -1;
  }
  return *this;
}

LoopDevice::~LoopDevice() { Remove(); }

bool LoopDevice::Remove() {
  if (index_ < 0) return true;
  {
    UniqueFd loop(::open(path().c_str(), O_RDONLY | O_CLOEXEC));
    if (loop.valid()) ::ioctl(loop.get(), LOOP_CLR_FD, 0);
  }
  UniqueFd ctl(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  // The device may stay busy for a moment after its last user closed it.
  for (int i = 0; i < 200 && ctl.valid(); ++i) {
    if (::ioctl(ctl.get(), LOOP_CTL_REMOVE, index_) == 0 || errno == ENODEV || errno == ENXIO) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  const bool gone = LoopGone(index_);
  index_ = -1;
  return gone;
}

}  // namespace kata::guest::testing
