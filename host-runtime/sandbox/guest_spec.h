#pragma once

// The OCI spec as the guest agent must see it (pure): the rootfs is where the agent mounts
// the container's storages, and only mounts the guest can make itself survive (no host
// paths: sharing them needs the shared filesystem, not there yet).

#include <string>

#include "absl/status/statusor.h"
#include "protocols/oci.pb.h"

namespace kata::runtime {

// The guest's rootfs path for a container (under the agent's sandbox directory).
std::string GuestRootfsPath(const std::string& container_id);

// Where the guest mounts the directory the host shares over virtio-9p, and where a shared
// (directory) rootfs then is.
inline constexpr char kGuestSharedDir[] = "/run/kata-containers/shared/containers";
std::string GuestSharedRootfsPath(const std::string& container_id);

// root.path -> `guest_rootfs`; mounts of kernel filesystems (proc, sysfs, tmpfs, devpts,
// mqueue, cgroup, cgroup2) kept; a bind mount of a host path is Unimplemented naming it;
// hooks dropped (they would run in the guest, where the host's binaries are not).
absl::StatusOr<oci::Spec> GuestSpec(const oci::Spec& spec, const std::string& guest_rootfs);

}  // namespace kata::runtime
