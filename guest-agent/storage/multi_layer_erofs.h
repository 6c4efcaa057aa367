#pragma once

// A container rootfs made of one writable ext4 upper and N >= 1 read-only EROFS lowers,
// merged by overlayfs (../shared/reference/erofs-multi-layer.md). All multi-layer storages
// of a request form one group, handled once.

#include <string>
#include <vector>

#include "guest-agent/storage/mkdir_directive.h"
#include "guest-agent/storage/storage_handler.h"

namespace kata::guest {

inline constexpr char kMultiLayerDriver[] = "erofs.multi-layer";

// Marked `X-kata.multi-layer=true`, or of driver erofs.multi-layer.
bool IsMultiLayer(const agent::Storage& storage);

// What a group will do, decided before anything is done.
struct MultiLayerPlan {
  const agent::Storage* upper = nullptr;
  std::vector<const agent::Storage*> lowers;  // overlay order: lowers[0] is the top-most
  std::string mount_point;                    // where the overlay goes (the container rootfs)
  std::vector<MkdirDirective> upper_dirs;     // {{ mount 0 }} directives
  std::vector<MkdirDirective> lower_dirs;     // {{ mount 1 }} directives
};

// Classifies the group: exactly one upper (X-kata.overlay-upper, or ext4 with the marker),
// at least one lower (X-kata.overlay-lower, or erofs with the marker), one shared mount
// point, well-formed block sources and mkdir directives. InvalidArgument otherwise.
absl::StatusOr<MultiLayerPlan> PlanMultiLayer(const std::vector<const agent::Storage*>& group);

class MultiLayerErofsHandler : public StorageHandler {
 public:
  std::vector<std::string> DriverTypes() const override { return {kMultiLayerDriver}; }
  // Single storages are checked as part of their group (PlanMultiLayer).
  absl::Status Validate(const agent::Storage&) const override { return absl::OkStatus(); }
  // A multi-layer storage only makes sense with its group: see AddGroup.
  absl::Status Add(const agent::Storage& storage, StorageContext& ctx) override;

  // Waits for every device of the group at once, then mounts upper, its directives, the
  // lowers (read-only) at <container dir>/multi-layer/{upper,lower-i}, the lower directives
  // and the overlay at plan.mount_point. Every step is recorded in ctx.undo.
  absl::Status AddGroup(const MultiLayerPlan& plan, StorageContext& ctx);
};

}  // namespace kata::guest
