#pragma once

// The OCI spec as the guest agent must see it (pure): the rootfs is where the agent mounts
// the container's storages, and host paths are replaced by their shares in the guest.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "host-runtime/rootfs/shared_binds.h"
#include "protocols/oci.pb.h"

namespace kata::runtime {

// The guest's rootfs path for a container (under the agent's sandbox directory).
std::string GuestRootfsPath(const std::string& container_id);

// Where the guest mounts the directory the host shares over virtio-9p, and where a shared
// (directory) rootfs then is.
inline constexpr char kGuestSharedDir[] = "/run/kata-containers/shared/containers";
std::string GuestSharedRootfsPath(const std::string& container_id);

// The sandbox's DNS in the guest, written by the agent from CreateSandbox's dns lines: a
// container's /etc/resolv.conf bind is pointed at it (Kata's layout), so it needs no share.
inline constexpr char kGuestSandboxResolvConf[] = "/run/kata-containers/sandbox/resolv.conf";

// /dev, /proc and /sys paths: a bind of one means the guest's own (a device node or a kernel
// file is the VM's, not the host's; Kata does the same), so it is not shared.
bool IsGuestKernelPath(const std::string& path);

struct GuestSpecPlan {
  oci::Spec spec;                 // what the agent gets
  std::vector<SharedBind> binds;  // host paths to share before it does
};

// root.path -> `guest_rootfs`; a bind at /etc/resolv.conf becomes one of
// kGuestSandboxResolvConf when `sandbox_dns` (the sandbox was given DNS lines); each other bind
// mount of a host path becomes a bind of its share under
// kGuestSharedDir (FailedPrecondition naming the mount when the sandbox has no shared
// filesystem); other mounts go as they are (the guest kernel has the filesystems or says so,
// naming the mount); hooks are left out (the host runtime runs them, not the guest).
absl::StatusOr<GuestSpecPlan> GuestSpec(const oci::Spec& spec, const std::string& guest_rootfs, const std::string& container_id,
                                       bool have_shared_fs, bool sandbox_dns = false);

}  // namespace kata::runtime
