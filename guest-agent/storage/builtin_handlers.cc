#include "guest-agent/storage/builtin_handlers.h"

#include <memory>

#include "guest-agent/storage/blk_handler.h"
#include "guest-agent/storage/ephemeral_handler.h"
#include "guest-agent/storage/local_handler.h"
#include "guest-agent/storage/virtio_9p_handler.h"

namespace kata::guest {

absl::Status RegisterBuiltinStorageHandlers(StorageHandlerRegistry& registry, MultiLayerErofsHandler& multi_layer) {
  for (absl::Status s : {registry.Register(std::make_shared<BlkStorageHandler>()),
                         registry.Register(std::make_shared<LocalStorageHandler>()),
                         registry.Register(std::make_shared<EphemeralStorageHandler>()),
                         registry.Register(std::make_shared<Virtio9pStorageHandler>()),
                         registry.Register(std::shared_ptr<StorageHandler>(&multi_layer, [](StorageHandler*) {}))}) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace kata::guest
