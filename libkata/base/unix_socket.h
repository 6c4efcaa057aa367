#pragma once

// Unix stream sockets by path, the one way every module makes them: a path that does not fit
// sun_path is InvalidArgument naming it; errors name the path.

#include <sys/socket.h>

#include <string>

#include "absl/status/statusor.h"
#include "libkata/base/unique_fd.h"

namespace kata {

// A socket connected to `path` (blocking, close-on-exec).
absl::StatusOr<UniqueFd> ConnectUnixSocket(const std::string& path);

// A socket listening at `path`, mode 0600: the path appears already listening (bound under
// `path`~ and renamed). A stale socket there is replaced; anything else
// is AlreadyExists. `type_flags`: SOCK_CLOEXEC, SOCK_NONBLOCK, or 0 for one a child inherits.
absl::StatusOr<UniqueFd> ListenUnixSocket(const std::string& path, int type_flags = SOCK_CLOEXEC, int backlog = 64);

}  // namespace kata
