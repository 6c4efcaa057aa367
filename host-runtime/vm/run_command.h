#pragma once

// Runs a short-lived helper (qemu --version, zstd -dc) and captures its output: argv, no
// shell, a bounded time, the child killed and reaped if it overstays.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kata::runtime {

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string output;  // stdout and stderr together, at most `max_output` bytes
};

// `input` is written to the command's stdin (then closed); keep it under a pipe's 64 KiB.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv, absl::Duration timeout,
                                         size_t max_output = 64u << 20, std::string_view input = {});

}  // namespace kata::runtime
