#include <sched.h>

#include <map>

#include "guest-agent/setup/init_plan_builder.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {
namespace {

constexpr std::string_view kIpcKeys[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                          "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};

}  // namespace

// runc's rules (configs/validate): only keys of a namespace the container has, so a sysctl
// never changes the whole VM from one container.
absl::Status PlanSysctls(const oci::Spec& spec, InitPlan& plan) {
  plan.sysctls.clear();
  // Sorted by key: the spec's map has no order, and errors should not depend on hashing.
  const std::map<std::string, std::string> sorted(spec.linux().sysctl().begin(), spec.linux().sysctl().end());
  for (const auto& [key, value] : sorted) {
    const std::string field = StrCat("linux.sysctl[\"", key, "\"]");
    if (key.empty() || key.find("..") != std::string::npos || key.find('\0') != std::string::npos ||
        key.front() == '.' || key.front() == '/') {
      return absl::InvalidArgumentError(StrCat(field, ": not a sysctl name"));
    }
    bool ok = false;
    if (key.starts_with("fs.mqueue.") || std::find(std::begin(kIpcKeys), std::end(kIpcKeys), key) != std::end(kIpcKeys)) {
      ok = HasNamespaceEntry(spec, "ipc");
      if (!ok) return absl::InvalidArgumentError(StrCat(field, ": needs an ipc namespace"));
    } else if (key.starts_with("net.")) {
      ok = HasNamespaceEntry(spec, "network");
      if (!ok) return absl::InvalidArgumentError(StrCat(field, ": needs a network namespace"));
    } else if (key == "kernel.domainname") {
      ok = HasNamespaceEntry(spec, "uts");
      if (!ok) return absl::InvalidArgumentError(StrCat(field, ": needs a uts namespace"));
    } else if (key == "kernel.hostname") {
      return absl::InvalidArgumentError(StrCat(field, ": set the hostname with the spec's hostname field"));
    }
    if (!ok) return absl::InvalidArgumentError(StrCat(field, ": not namespaced: it would change the whole VM"));
    if (value.find('\0') != std::string::npos) return absl::InvalidArgumentError(StrCat(field, ": value holds a NUL byte"));
    std::string path = "/proc/sys/" + key;
    for (size_t i = 10; i < path.size(); ++i) {
      if (path[i] == '.') path[i] = '/';
    }
    plan.sysctls.push_back({key, path, value});
  }
  return absl::OkStatus();
}

}  // namespace kata::guest
