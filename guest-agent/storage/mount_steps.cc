#include "guest-agent/storage/mount_steps.h"

#include "libkata/base/status_macros.h"
#include "libkata/mount/options.h"

namespace kata::guest {

std::vector<std::string> OptionsOf(const agent::Storage& storage) {
  return {storage.options().begin(), storage.options().end()};
}

absl::StatusOr<std::string> MakeDirectory(const std::string& path, mode_t mode, StorageContext& ctx) {
  std::vector<std::string> created;
  auto made = ctx.mounter.MkdirAll("/", path, mode, &created);
  ctx.undo.CreatedDirs(created);  // even on failure: what was made must go
  return made;
}

absl::Status MountOnNewTarget(const std::string& source, const std::string& target,
                              const std::string& fstype, const std::vector<std::string>& options,
                              unsigned long extra_flags, StorageContext& ctx) {
  const auto split = mount::SplitKataMarkers(options);
  ASSIGN_OR_RETURN(mount::MountOptions parsed, mount::ParseMountOptions(split.mount_options));
  ASSIGN_OR_RETURN(std::string real_target, MakeDirectory(target, 0755, ctx));
  RETURN_IF_ERROR(ctx.mounter.Mount(source, real_target, fstype, parsed.flags | extra_flags, parsed.data));
  ctx.undo.Mounted(real_target);
  return absl::OkStatus();
}

}  // namespace kata::guest
