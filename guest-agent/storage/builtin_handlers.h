#pragma once

// The storage drivers kata-agent serves, registered in one place: the agent and the fuzz
// target that runs its request checks must know the same set.

#include "absl/status/status.h"
#include "guest-agent/storage/handler_registry.h"
#include "guest-agent/storage/multi_layer_erofs.h"

namespace kata::guest {

// blk, local, ephemeral, 9p and `multi_layer` (owned by the caller, which also adds its
// groups). The first registration error, if a driver name is taken twice.
absl::Status RegisterBuiltinStorageHandlers(StorageHandlerRegistry& registry, MultiLayerErofsHandler& multi_layer);

}  // namespace kata::guest
