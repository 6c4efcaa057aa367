#pragma once

// What the shim's Stats and Update carry, translated: the guest's cgroup statistics into
// containerd's cgroup v2 Metrics, and containerd's LinuxResources Any into the OCI message
// the agent takes. Pure.

#include "absl/status/statusor.h"
#include "google/protobuf/any.pb.h"
#include "protocols/agent.pb.h"
#include "protocols/cgroups_v2_metrics.pb.h"
#include "protocols/oci.pb.h"

namespace kata::shim {

// The type URL containerd's typeurl gives (and decodes) for cgroup v2 metrics: the bare
// message name, no "type.googleapis.com/" prefix.
inline constexpr char kCgroupsV2MetricsTypeUrl[] = "io.containerd.cgroups.v2.Metrics";

io::containerd::cgroups::v2::Metrics MetricsFromCgroupStats(const agent::CgroupStats& stats);

// The stats Any for StatsResponse.
google::protobuf::Any MetricsAny(const agent::CgroupStats& stats);

// UpdateTaskRequest.resources: containerd marshals the OCI LinuxResources as JSON under
// "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources". Other types (Windows
// resources) and malformed JSON are InvalidArgument naming the type URL.
absl::StatusOr<oci::LinuxResources> LinuxResourcesFromAny(const google::protobuf::Any& any);

}  // namespace kata::shim
