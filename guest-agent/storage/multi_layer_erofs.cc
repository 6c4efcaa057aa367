#include "guest-agent/storage/multi_layer_erofs.h"

#include <sys/mount.h>

#include <future>

#include "absl/strings/ascii.h"
#include "guest-agent/storage/blk_handler.h"
#include "guest-agent/storage/mount_steps.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"
#include "libkata/mount/options.h"

namespace kata::guest {
namespace {

const log::Subsystem kLog("storage");

constexpr char kMarker[] = "X-kata.multi-layer";
constexpr char kUpperOption[] = "X-kata.overlay-upper";
constexpr char kLowerOption[] = "X-kata.overlay-lower";
constexpr char kMkdirOption[] = "X-kata.mkdir.path";

bool HasOption(const agent::Storage& s, std::string_view option) {
  for (const auto& o : s.options()) {
    if (o == option) return true;
  }
  return false;
}

std::string LowerFstype(const agent::Storage& s) {
  return absl::AsciiStrToLower(s.fstype());
}

bool IsUpper(const agent::Storage& s) {
  return HasOption(s, kUpperOption) || (LowerFstype(s) == "ext4" && !HasOption(s, kLowerOption));
}

bool IsLower(const agent::Storage& s) {
  return HasOption(s, kLowerOption) || (LowerFstype(s) == "erofs" && !HasOption(s, kUpperOption));
}

// Creates the directives' directories inside the mount at `root`.
absl::Status MakeDirectives(const std::vector<MkdirDirective>& dirs, const std::string& root,
                            StorageContext& ctx) {
  for (const MkdirDirective& d : dirs) {
    std::vector<std::string> created;
    auto made = ctx.mounter.MkdirAll(root, d.relative_path, d.mode, &created);
    ctx.undo.CreatedDirs(created, /*inside_mount=*/true);
    if (!made.ok()) {
      return absl::Status(made.status().code(), StrCat("mkdir directive {{ mount ", d.mount_index, " }}/",
                                                       d.relative_path, ": ", ToStd(made.status().message())));
    }
    if (created.empty()) continue;  // it existed: its owner and mode are not ours to change
    RETURN_IF_ERROR(ctx.mounter.Chmod(*made, d.mode));  // exactly the mode asked, whatever the umask
    if (d.uid) RETURN_IF_ERROR(ctx.mounter.Chown(*made, *d.uid, *d.gid));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsMultiLayer(const agent::Storage& storage) {
  if (storage.driver() == kMultiLayerDriver) return true;
  const auto v = mount::FindOptionValue(OptionsOf(storage), kMarker);
  return v.has_value() && *v == "true";
}

absl::StatusOr<MultiLayerPlan> PlanMultiLayer(const std::vector<const agent::Storage*>& group) {
  MultiLayerPlan plan;
  for (const agent::Storage* s : group) {
    const std::string who = StrCat("multi-layer storage (", s->fstype(), " ", s->source(), ")");
    if (plan.mount_point.empty()) plan.mount_point = s->mount_point();
    if (s->mount_point() != plan.mount_point) {
      return absl::InvalidArgumentError(StrCat(who, ": mount point ", s->mount_point(),
                                               " differs from the group's ", plan.mount_point));
    }
    if (HasOption(*s, kUpperOption) && HasOption(*s, kLowerOption)) {
      return absl::InvalidArgumentError(StrCat(who, " is marked both upper and lower"));
    }
    RETURN_IF_ERROR(ValidateBlockSource(s->source()));
    if (IsUpper(*s)) {
      if (plan.upper != nullptr) {
        return absl::InvalidArgumentError(
            StrCat("multi-layer group for ", plan.mount_point, " has two upper layers (",
                   plan.upper->source(), " and ", s->source(), ")"));
      }
      plan.upper = s;
    } else if (IsLower(*s)) {
      plan.lowers.push_back(s);
    } else {
      return absl::InvalidArgumentError(StrCat(who, " is neither an upper (ext4) nor a lower (erofs)"));
    }
    for (const std::string& spec : mount::FindAllOptionValues(OptionsOf(*s), kMkdirOption)) {
      ASSIGN_OR_RETURN(MkdirDirective d, ParseMkdirDirective(spec));
      (d.mount_index == 0 ? plan.upper_dirs : plan.lower_dirs).push_back(std::move(d));
    }
  }
  if (plan.upper == nullptr) {
    return absl::InvalidArgumentError(StrCat("multi-layer group for ", plan.mount_point, " has no upper layer"));
  }
  if (plan.lowers.empty()) {
    return absl::InvalidArgumentError(StrCat("multi-layer group for ", plan.mount_point, " has no lower layer"));
  }
  return plan;
}

absl::Status MultiLayerErofsHandler::Add(const agent::Storage& storage, StorageContext&) {
  return absl::FailedPreconditionError(
      StrCat("multi-layer storage for ", storage.mount_point(), " must be added with its group"));
}

absl::Status MultiLayerErofsHandler::AddGroup(const MultiLayerPlan& plan, StorageContext& ctx) {
  const absl::Time start = absl::Now();
  // Every device is awaited at once: a group's wait costs one timeout, not N.
  auto wait = [&ctx](const agent::Storage* s) {
    return std::async(std::launch::async, [&ctx, s] {
      return ctx.devices.WaitForBlockDevice(s->source(), ctx.hotplug_timeout);
    });
  };
  auto upper_device = wait(plan.upper);
  std::vector<std::future<absl::StatusOr<std::string>>> lower_devices;
  for (const agent::Storage* s : plan.lowers) lower_devices.push_back(wait(s));

  const std::string workspace = StrCat(ctx.container_dir, "/multi-layer");
  const std::string upper_dir = StrCat(workspace, "/upper");

  // 1. The writable upper, its markers filtered.
  ASSIGN_OR_RETURN(std::string upper_node, upper_device.get());
  RETURN_IF_ERROR(MountOnNewTarget(upper_node, upper_dir, plan.upper->fstype(), OptionsOf(*plan.upper), 0, ctx));
  // 2. Directives inside the upper.
  RETURN_IF_ERROR(MakeDirectives(plan.upper_dirs, upper_dir, ctx));
  // 3. The lowers, read-only, in order.
  std::vector<std::string> lower_dirs;
  for (size_t i = 0; i < plan.lowers.size(); ++i) {
    ASSIGN_OR_RETURN(std::string node, lower_devices[i].get());
    std::vector<std::string> options = OptionsOf(*plan.lowers[i]);
    options.push_back("ro");
    const std::string dir = StrCat(workspace, "/lower-", i);
    RETURN_IF_ERROR(MountOnNewTarget(node, dir, "erofs", options, MS_RDONLY, ctx));
    lower_dirs.push_back(dir);
  }
  // 4. Directives naming the first lower (they can only find what exists: it is read-only).
  RETURN_IF_ERROR(MakeDirectives(plan.lower_dirs, lower_dirs.front(), ctx));
  // 5. The overlay.
  for (const char* sub : {"upper", "work"}) {
    std::vector<std::string> created;
    auto made = ctx.mounter.MkdirAll(upper_dir, sub, 0755, &created);
    ctx.undo.CreatedDirs(created, /*inside_mount=*/true);
    RETURN_IF_ERROR(made.status());
  }
  std::string lowerdir;
  for (const auto& d : lower_dirs) lowerdir += (lowerdir.empty() ? "" : ":") + d;
  const std::vector<std::string> overlay_options = {
      StrCat("upperdir=", upper_dir, "/upper"), StrCat("lowerdir=", lowerdir),
      StrCat("workdir=", upper_dir, "/work")};
  RETURN_IF_ERROR(MountOnNewTarget("overlay", plan.mount_point, "overlay", overlay_options, 0, ctx));
  kLog.Info("multi-layer rootfs mounted",
            {{"container_id", ctx.container_id}, {"mount_point", plan.mount_point},
             {"lowers", plan.lowers.size()}, {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  return absl::OkStatus();
}

}  // namespace kata::guest
