#pragma once

// The shim binary's three faces (../shared/reference/containerd-shim-v2.md):
//  start:  listen, spawn the daemon (stdio on /dev/null, the listener as fd 3), write
//          `address` and `shim.pid` into the bundle, print only the address;
//  delete: idempotent cleanup after the daemon is gone (a VM it left is killed, its state
//          removed, bundle/rootfs unmounted), printing a marshalled DeleteResponse;
//  serve:  the daemon: containerd.task.v2.Task over ttrpc on fd 3 until Shutdown.

#include <string>

namespace kata::shim {

struct ShimFlags {
  std::string ns = "default";
  std::string id;
  std::string address;         // containerd's gRPC socket
  std::string publish_binary;  // containerd, for `publish` (unused: events go over ttrpc)
  std::string bundle;          // delete's -bundle; else the working directory
  bool debug = false;
};

// The socket path for a shim of (address, namespace, id): short enough for sun_path.
std::string ShimSocketPath(const ShimFlags& flags);

// `-info`: the RuntimeInfo containerd >= 2.0 reads, with the options from stdin echoed and
// the mount types this shim takes itself (containerd.io/runtime-allow-mounts).
int PrintRuntimeInfo();

int StartShim(const ShimFlags& flags, const char* self);
int DeleteShim(const ShimFlags& flags);
int ServeShim(const ShimFlags& flags);

}  // namespace kata::shim
