#pragma once

// CreateSandbox's `dns`: the lines of the pod's resolv.conf, as the host read them. The agent
// writes them to <sandbox dir>/sandbox/resolv.conf, the file containers' /etc/resolv.conf
// binds point at (Kata's layout).

#include <string>

#include "absl/status/statusor.h"
#include "protocols/agent.pb.h"

namespace kata::guest {

inline constexpr char kSandboxResolvConf[] = "sandbox/resolv.conf";  // below the sandbox dir

// The file's content (pure): each line trimmed; InvalidArgument naming dns[i] for a line with
// a newline or NUL, or too long (over 1024 bytes), or for more than 64 lines.
absl::StatusOr<std::string> ResolvConfFromDns(const google::protobuf::RepeatedPtrField<std::string>& dns);

// Writes it (atomically) below `sandbox_dir`; nothing written for no lines.
absl::Status WriteSandboxDns(const std::string& sandbox_dir, const google::protobuf::RepeatedPtrField<std::string>& dns);

}  // namespace kata::guest
