// The sandbox's VM follows its containers' CPU and memory limits (as Kata's does): resized
// when a container is created, updated or removed.

#include "host-runtime/sandbox/sandbox.h"
#include "host-runtime/vm/vm_size.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"

namespace kata::runtime {
namespace {

const log::Subsystem kLog("sandbox");
// A guest registers a DIMM's memory blocks in milliseconds, even under TCG.
constexpr absl::Duration kDimmAckTimeout = absl::Seconds(10);

}  // namespace

absl::Status Sandbox::ResizeVm() {
  absl::MutexLock resizing(&resize_mu_);
  std::vector<oci::LinuxResources> limits;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, c] : containers_) limits.push_back(c.limits);
  }
  VmResizer& resizer = vm_->resizer();
  const VmSize want = PlanVmSize(resizer.bounds(), limits);
  const VmSize now = resizer.current();
  auto added = resizer.GrowMemory(want.memory_mib, kDimmAckTimeout);
  // What was plugged is onlined even when the rest failed: the guest may use it.
  const bool memory = added.ok() && *added > 0;
  if (want.vcpus == now.vcpus && !memory) return added.status();
  agent::OnlineCPUMemRequest req;
  req.set_wait(true);
  if (want.vcpus > now.vcpus) req.set_nb_cpus(want.vcpus - now.vcpus);
  if (want.vcpus < now.vcpus) req.set_offline_cpus(now.vcpus - want.vcpus);
  req.set_cpu_only(!memory);
  google::protobuf::Empty empty;
  if (absl::Status s = Agent().OnlineCPUMem(req, &empty, kRpcTimeout); !s.ok()) {
    return absl::Status(s.code(), StrCat("OnlineCPUMem: ", s.message()));
  }
  resizer.SetOnlineVcpus(want.vcpus);
  kLog.Info("vm resized", {{"sandbox", id_}, {"vcpus", static_cast<int64_t>(want.vcpus)},
                           {"memory_mib", static_cast<int64_t>(resizer.current().memory_mib)}});
  return added.status();
}

void Sandbox::ResizeVmAfter(std::string_view what, const std::string& cid) {
  if (!vm_->health().ok()) return;  // a VM that is gone has no size to keep
  if (absl::Status s = ResizeVm(); !s.ok()) {
    kLog.Warn("the VM keeps its size", {{"after", what}, {"container", cid}, {"error", std::string(s.message())}});
  }
}

absl::Status Sandbox::UpdateContainer(const std::string& cid, const oci::LinuxResources& resources) {
  // An update carries the container's whole CPU or memory settings (CRI sends them all).
  std::optional<oci::LinuxResources> before;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = containers_.find(cid); it != containers_.end()) {
      before = it->second.limits;
      if (resources.has_cpu()) *it->second.limits.mutable_cpu() = resources.cpu();
      if (resources.has_memory()) *it->second.limits.mutable_memory() = resources.memory();
    }
  }
  auto restore = [&] {
    if (!before) return;
    {
      absl::MutexLock lock(&mu_);
      if (auto it = containers_.find(cid); it != containers_.end()) it->second.limits = *before;
    }
    ResizeVmAfter("failed update", cid);
  };
  if (before) {
    if (absl::Status s = ResizeVm(); !s.ok()) {
      restore();
      return absl::Status(s.code(), StrCat("container ", cid, ": resize the VM: ", s.message()));
    }
  }
  agent::UpdateContainerRequest req;
  req.set_container_id(cid);
  *req.mutable_resources() = resources;
  google::protobuf::Empty empty;
  if (absl::Status s = Agent().UpdateContainer(req, &empty, kRpcTimeout); !s.ok()) {
    restore();
    return absl::Status(s.code(), StrCat("UpdateContainer: ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace kata::runtime
