#pragma once

// Where connections come from: a unix socket (tests), vsock, or a virtio-serial port bridged
// to socketpairs (a char device has no accept(), and one port carries one host connection
// after another). Each yields connected stream sockets for the ttrpc server.

#include <memory>
#include <cstdint>
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

// Listens on vsock `port` for any CID (Kata's agent port is 1024).
absl::StatusOr<std::unique_ptr<Listener>> ListenVsock(uint32_t port);

// Serves over the virtio-serial port at `device` (/dev/vportNpM). Each connection of the host
// to the port's socket yields one connection: bytes are copied between the port and one end of
// a fresh non-blocking socketpair until the host goes away; then Accept waits for the host to
// come back and hands out a new socketpair, on the same port.
absl::StatusOr<std::unique_ptr<Listener>> ListenSerial(const std::string& device);

// The /dev node of the virtio-serial port named `name`, found through `class_dir`
// (/sys/class/virtio-ports/<vportNpM>/name; without udev there are no /dev/virtio-ports/
// links). NotFound when no port has that name.
absl::StatusOr<std::string> FindVirtioPort(const std::string& class_dir, const std::string& name);

}  // namespace kata::guest
