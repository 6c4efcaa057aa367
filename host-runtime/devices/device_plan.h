#pragma once

// What a container's linux.devices need from the VM (pure; the host's device nodes are found
// through an injected lookup). A VM cannot reach the host's devices by number:
// - a block device is hot-plugged as a virtio-blk disk and the agent renumbers the spec's
//   entry (and the cgroup rules naming it) to the guest's node, found by PCI path;
// - the character devices every Linux numbers alike (null, zero, full, random, urandom, tty,
//   fuse, net/tun) are the guest's own and keep their numbers;
// - any other character device, and VFIO groups, are refused, naming the entry;
// - a privileged container's (its device cgroup allows every device, as `ctr run
//   --privileged`, CRI and docker write it) lists the host's whole /dev: none of it is given
//   to the VM, and the container sees the guest's own devices. Hot-plugging the host's disks
//   into a VM because a container is privileged is what Kata's
//   privileged_without_host_devices exists to prevent; here it is the only behaviour.
// Kata's runtime does the same for block devices (virtio-blk by PCI path) and VFIO (its own
// passthrough, not here yet).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "protocols/oci.pb.h"

namespace kata::runtime {

// The host's node for a block device's numbers ("/dev/loop5"), or NotFound.
using HostBlockDeviceLookup = std::function<absl::StatusOr<std::string>(int64_t major, int64_t minor)>;

struct PlannedBlockDevice {
  int spec_index = 0;          // in linux.devices
  std::string container_path;  // linux.devices[spec_index].path
  std::string host_path;       // what QEMU opens
  bool read_only = false;      // the device cgroup rules never let the container write it
};

struct DevicePlan {
  std::vector<PlannedBlockDevice> block;
  // The spec is privileged-shaped: linux.devices (this many) are the host's and stay out of
  // the guest's spec.
  int withheld_host_devices = 0;
};

// InvalidArgument naming `linux.devices[i]` and its path for an entry the VM cannot give;
// Unimplemented for VFIO; the lookup's error (naming the numbers) for a block device the host
// does not have.
absl::StatusOr<DevicePlan> PlanContainerDevices(const oci::Spec& spec, const HostBlockDeviceLookup& lookup);

// Whether linux.resources.devices allow every device (an allow of type "a" without numbers,
// access rwm): what a privileged container gets.
bool DeviceCgroupAllowsAll(const oci::Spec& spec);

// Whether linux.resources.devices let the container write block device major:minor: the
// last rule that matches decides, as in the device cgroup; with no rules at all, it may.
bool DeviceCgroupAllowsWrite(const oci::Spec& spec, char type, int64_t major, int64_t minor);

}  // namespace kata::runtime
