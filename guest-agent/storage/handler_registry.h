#pragma once

#include "guest-agent/common/handler_registry.h"
#include "guest-agent/storage/storage_handler.h"

namespace kata::guest {

class StorageHandlerRegistry : public HandlerRegistry<StorageHandler> {
 public:
  StorageHandlerRegistry() : HandlerRegistry("storage driver") {}
};

}  // namespace kata::guest
