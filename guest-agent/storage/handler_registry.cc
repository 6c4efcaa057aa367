#include "guest-agent/storage/handler_registry.h"

#include "libkata/base/str_cat.h"

namespace kata::guest {

absl::Status StorageHandlerRegistry::Register(std::shared_ptr<StorageHandler> handler) {
  const auto drivers = handler->DriverTypes();
  for (const auto& d : drivers) {
    if (handlers_.count(d)) {
      return absl::AlreadyExistsError(StrCat("storage driver \"", d, "\" is registered twice"));
    }
  }
  for (const auto& d : drivers) handlers_[d] = handler;
  return absl::OkStatus();
}

StorageHandler* StorageHandlerRegistry::Find(const std::string& driver) const {
  auto it = handlers_.find(driver);
  return it == handlers_.end() ? nullptr : it->second.get();
}

std::vector<std::string> StorageHandlerRegistry::Drivers() const {
  std::vector<std::string> out;
  for (const auto& [name, h] : handlers_) out.push_back(name);
  return out;
}

}  // namespace kata::guest
