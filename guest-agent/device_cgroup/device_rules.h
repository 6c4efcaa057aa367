#pragma once

// linux.resources.devices -> the device policy a container's cgroup enforces, decided
// without touching anything. cgroup v1's semantics, which runc and crun keep on v2: rules
// apply in spec order and the last one that matches decides, for each of mknod, read and
// write separately (so "allow c 1:3 r" then "allow c 1:3 w" grants rw, as v1 merges them);
// with no matching rule, access is denied. After the spec's rules come the devices every
// container may use (runc's list), so no spec takes them away - except runc's "b *:* m":
// in the VM every block device is a pod's disk (its image layers, its volumes), so a
// container may mknod a block node only when its spec allows it.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "protocols/oci.pb.h"

namespace kata::guest {

// BPF_DEVCG_ACC_* bits.
inline constexpr uint8_t kDevMknod = 1, kDevRead = 2, kDevWrite = 4, kDevAll = 7;

struct DeviceRule {
  char type = 'a';      // 'a' (both), 'b', 'c'
  int64_t major = -1;   // -1: any
  int64_t minor = -1;
  uint8_t access = kDevAll;
  bool allow = false;
  bool operator==(const DeviceRule&) const = default;
};

struct DevicePolicy {
  std::vector<DeviceRule> rules;  // in order; the last match decides, per access bit

  // Whether every bit of `access` to the node `type` major:minor is granted.
  bool Allows(char type, int64_t major, int64_t minor, uint8_t access) const;
};

// The always-allowed devices appended after a spec's rules.
const std::vector<DeviceRule>& DefaultAllowedDevices();

// InvalidArgument naming linux.resources.devices[i].type / .access / .major for a type that
// is not a, b or c, an access with other letters than r, w and m, or a negative number
// other than -1. An empty access means rwm.
absl::StatusOr<DevicePolicy> BuildDevicePolicy(
    const google::protobuf::RepeatedPtrField<oci::LinuxDeviceCgroup>& rules);

}  // namespace kata::guest
