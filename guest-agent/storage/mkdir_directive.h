#pragma once

// containerd's mkdir directive, carried to the guest as `X-kata.mkdir.path=SPEC`:
// SPEC is `{{ mount N }}[/rel/path][:mode[:uid:gid]]`, N = 0 (the upper) or 1 (the first lower).

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kata::guest {

struct MkdirDirective {
  int mount_index = 0;        // 0: upper, 1: first lower
  std::string relative_path;  // inside that mount; "" is the mount itself
  mode_t mode = 0755;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

// InvalidArgument naming the directive when it is malformed: no `{{ mount N }}` prefix, N
// other than 0 or 1, a mode that is not octal, uid without gid, or extra fields.
absl::StatusOr<MkdirDirective> ParseMkdirDirective(std::string_view spec);

}  // namespace kata::guest
