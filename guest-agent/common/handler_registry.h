#pragma once

// Handlers by name (storage drivers, device types): one registry shape for both, where a
// name registered twice is an error, as in Kata's HandlerManager.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {

// `Handler` has `std::vector<std::string> DriverTypes() const`.
template <typename Handler>
class HandlerRegistry {
 public:
  // `kind` names the key in errors ("storage driver", "device type").
  explicit HandlerRegistry(std::string kind) : kind_(std::move(kind)) {}

  absl::Status Register(std::shared_ptr<Handler> handler) {
    const std::vector<std::string> names = handler->DriverTypes();
    for (const auto& n : names) {
      if (handlers_.count(n)) return absl::AlreadyExistsError(StrCat(kind_, " \"", n, "\" is registered twice"));
    }
    for (const auto& n : names) handlers_[n] = handler;
    return absl::OkStatus();
  }

  Handler* Find(const std::string& name) const {
    auto it = handlers_.find(name);
    return it == handlers_.end() ? nullptr : it->second.get();
  }

  std::vector<std::string> Names() const {
    std::vector<std::string> out;
    for (const auto& [name, h] : handlers_) out.push_back(name);
    return out;
  }

  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
  std::map<std::string, std::shared_ptr<Handler>> handlers_;
};

}  // namespace kata::guest
