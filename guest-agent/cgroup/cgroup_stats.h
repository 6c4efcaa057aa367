#pragma once

// A cgroup v2 directory's interface files -> the agent API's CgroupStats (Kata's shape,
// which follows cgroup v1: nanoseconds of CPU, memory usage/limit pairs). Pure: the caller
// reads the files.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/agent.pb.h"

namespace kata::guest {

// Returns a file's content, or nullopt when the cgroup has no such file (its controller is
// not enabled there).
using CgroupFileReader = std::function<std::optional<std::string>(std::string_view file)>;

// "max" limits become UINT64_MAX, as containerd reports them. Missing files leave their
// fields unset; malformed lines are skipped.
agent::CgroupStats CgroupStatsFromFiles(const CgroupFileReader& read);

}  // namespace kata::guest
