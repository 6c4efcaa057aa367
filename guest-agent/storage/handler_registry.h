#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "guest-agent/storage/storage_handler.h"

namespace kata::guest {

// Storage handlers by driver name; a name registered twice is an error.
class StorageHandlerRegistry {
 public:
  absl::Status Register(std::shared_ptr<StorageHandler> handler);
  StorageHandler* Find(const std::string& driver) const;
  std::vector<std::string> Drivers() const;

 private:
  std::map<std::string, std::shared_ptr<StorageHandler>> handlers_;
};

}  // namespace kata::guest
