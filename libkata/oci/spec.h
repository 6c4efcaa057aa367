#pragma once

// The OCI runtime spec (config.json): load, validate and save through the protobuf messages
// of protocols/oci.proto, so the spec read here is the one sent to the guest.

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "protocols/oci.pb.h"

namespace kata::oci {

// Parses config.json text. Unknown fields are ignored (newer specs and vendor extensions);
// a malformed document is InvalidArgument naming `source` and, where protobuf tells it, the
// JSON path that is wrong. Does not validate.
absl::StatusOr<Spec> ParseSpecJson(std::string_view json, std::string_view source);

// An OCI LinuxResources object (what containerd sends to update a task), as
// ParseSpecJson parses a spec.
absl::StatusOr<LinuxResources> ParseLinuxResourcesJson(std::string_view json, std::string_view source);

// Reads, parses and validates the file at `path`.
absl::StatusOr<Spec> LoadSpec(const std::string& path);

// Reads, parses and validates `bundle`/config.json.
absl::StatusOr<Spec> LoadBundleSpec(const std::string& bundle);

// The spec as OCI JSON (64-bit numbers unquoted, only set fields).
std::string SpecToJson(const Spec& spec, bool pretty = true);

// Writes the spec to `path` atomically (temporary file in the same directory, then rename);
// on failure nothing is left at `path` or beside it.
absl::Status SaveSpec(const Spec& spec, const std::string& path);

}  // namespace kata::oci
