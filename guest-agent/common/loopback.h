#pragma once

namespace kata::guest {

// Brings `lo` of the caller's network namespace up (SIOCSIFFLAGS). Syscalls only, so a
// container init's setup child may call it too. Returns 0 or an errno.
int BringLoopbackUp() noexcept;

}  // namespace kata::guest
