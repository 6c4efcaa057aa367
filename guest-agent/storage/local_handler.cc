#include "guest-agent/storage/local_handler.h"


#include "guest-agent/storage/mount_steps.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/mount/options.h"

namespace kata::guest {
namespace {

absl::StatusOr<mode_t> ModeOf(const agent::Storage& storage) {
  const auto mode = mount::FindOptionValue(OptionsOf(storage), "mode");
  if (!mode) return static_cast<mode_t>(0777);
  if (mode->empty() || mode->size() > 5 || mode->find_first_not_of("01234567") != std::string::npos) {
    return absl::InvalidArgumentError(
        StrCat("local storage ", storage.mount_point(), ": mode \"", *mode, "\" is not octal"));
  }
  return static_cast<mode_t>(std::stoul(*mode, nullptr, 8) & 07777);
}

}  // namespace

absl::Status LocalStorageHandler::Validate(const agent::Storage& storage) const {
  return ModeOf(storage).status();
}

absl::Status LocalStorageHandler::Add(const agent::Storage& storage, StorageContext& ctx) {
  ASSIGN_OR_RETURN(mode_t mode, ModeOf(storage));
  ASSIGN_OR_RETURN(std::string dir, MakeDirectory(storage.mount_point(), mode, ctx));
  // mkdir applies the umask; the storage asks for exactly this mode.
  return ctx.mounter.Chmod(dir, mode);
}

}  // namespace kata::guest
