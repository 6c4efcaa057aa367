#pragma once

#include "absl/status/status.h"
#include "protocols/oci.pb.h"

namespace kata::oci {

// Checks what the runtime and the agent rely on. The first problem found is returned as
// InvalidArgument whose message starts with its JSON path, e.g.
// `mounts[2].destination: "tmp" is not an absolute path`.
absl::Status ValidateSpec(const Spec& spec);

}  // namespace kata::oci
