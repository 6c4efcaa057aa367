#pragma once

// Rewrites the OCI spec's devices from host to guest numbers as one batch, through an index
// built over the original spec, so no entry is rewritten twice (the swap bug class of
// ../shared/reference/device-spec-update.md).

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "guest-agent/device/device_handler.h"
#include "guest-agent/device/device_update.h"
#include "protocols/oci.pb.h"

namespace kata::guest {

// Asks each device's handler (by Device.type) for its update; changes nothing. Unknown types
// are InvalidArgument naming them.
absl::StatusOr<std::vector<DeviceUpdate>> CollectDeviceUpdates(
    const google::protobuf::RepeatedPtrField<agent::Device>& devices,
    const DeviceHandlerRegistry& registry, DeviceContext& ctx);

// Applies `updates` to spec.linux.devices (found by container_path; path set to final_path
// when given) and to the cgroup rules in spec.linux.resources.devices that name a device's
// host (type, major, minor); wildcard rules are left alone. Then appends `agent_rules`, which
// are already guest-numbered. Errors, with the spec left untouched:
//   - two updates for one container_path ("conflicting device updates for <path>"),
//   - an update whose path is not in linux.devices ("missing device in OCI spec: <path>"),
//   - two devices sharing host numbers mapped to different guest numbers
//     ("conflicting resource updates for <type> <major>:<minor>"),
//   - a guest node whose type differs from the spec's.
absl::Status ApplyDeviceUpdates(oci::Spec& spec, const std::vector<DeviceUpdate>& updates,
                                const std::vector<oci::LinuxDeviceCgroup>& agent_rules = {});

}  // namespace kata::guest
