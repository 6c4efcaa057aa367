#pragma once

// Where connections come from: a unix socket now; vsock and virtio-serial join with the VM
// issue. Each yields connected, non-blocking stream fds for grpc::AddInsecureChannelFromFd.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libkata/base/unique_fd.h"

namespace kata::guest {

class Listener {
 public:
  virtual ~Listener() = default;
  // The next connection (non-blocking, close-on-exec); Cancelled after Shutdown().
  virtual absl::StatusOr<UniqueFd> Accept() = 0;
  virtual void Shutdown() = 0;
  virtual std::string Describe() const = 0;
};

// Listens on a unix socket at `path` (a stale socket there is replaced; anything else is an
// error), mode 0600.
absl::StatusOr<std::unique_ptr<Listener>> ListenUnix(const std::string& path);

}  // namespace kata::guest
