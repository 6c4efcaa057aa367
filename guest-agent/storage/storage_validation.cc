#include "guest-agent/storage/storage_validation.h"

#include "guest-agent/storage/mount_point_validation.h"
#include "libkata/base/identifiers.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {

absl::StatusOr<std::optional<MultiLayerPlan>> ValidateStorages(
    const std::string& container_id, const google::protobuf::RepeatedPtrField<agent::Storage>& storages,
    const StorageHandlerRegistry& registry, const std::vector<std::string>& allowed_mount_roots) {
  RETURN_IF_ERROR(ValidateId("container id", container_id));
  std::vector<const agent::Storage*> group;
  for (const agent::Storage& s : storages) {
    RETURN_IF_ERROR(ValidateMountPoint(s.mount_point(), allowed_mount_roots));
    StorageHandler* handler = registry.Find(s.driver());
    if (handler == nullptr) {
      return absl::InvalidArgumentError(
          StrCat("unknown storage driver \"", s.driver().substr(0, 64), "\" for ", s.mount_point()));
    }
    if (IsMultiLayer(s)) {
      group.push_back(&s);  // checked as a group by PlanMultiLayer
      continue;
    }
    RETURN_IF_ERROR(handler->Validate(s));
  }
  if (group.empty()) return std::nullopt;
  ASSIGN_OR_RETURN(MultiLayerPlan plan, PlanMultiLayer(group));
  return plan;
}

}  // namespace kata::guest
