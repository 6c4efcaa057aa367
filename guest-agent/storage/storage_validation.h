#pragma once

// A request's storages checked before anything is done (pure): the container id, each mount
// point, each driver's own checks, and the multi-layer group as a whole.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "guest-agent/storage/handler_registry.h"
#include "guest-agent/storage/multi_layer_erofs.h"
#include "protocols/agent.pb.h"

namespace kata::guest {

// The multi-layer group's plan when the request has one (it points into `storages`).
// InvalidArgument naming the storage otherwise.
absl::StatusOr<std::optional<MultiLayerPlan>> ValidateStorages(
    const std::string& container_id, const google::protobuf::RepeatedPtrField<agent::Storage>& storages,
    const StorageHandlerRegistry& registry, const std::vector<std::string>& allowed_mount_roots);

}  // namespace kata::guest
