#include "host-runtime/vm/vm_resizer.h"

#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"

namespace kata::runtime {
namespace {

using nlohmann::json;
const log::Subsystem kLog("resize");

}  // namespace

VmSize VmResizer::current() const {
  absl::MutexLock lock(&mu_);
  return {vcpus_, memory_mib_};
}

void VmResizer::SetOnlineVcpus(uint32_t vcpus) {
  absl::MutexLock lock(&mu_);
  vcpus_ = vcpus;
}

absl::StatusOr<uint64_t> VmResizer::GrowMemory(uint64_t memory_mib, absl::Duration ost_timeout) {
  absl::MutexLock lock(&mu_);
  if (memory_mib <= memory_mib_) return 0u;
  if (!bounds_.memory_hotplug() || memory_mib > bounds_.max_memory_mib) {
    return absl::OutOfRangeError(StrCat("grow memory to ", memory_mib, " MiB: the VM's maximum is ", bounds_.max_memory_mib,
                                        " MiB (hypervisor.max_memory_mib, memory_slots)"));
  }
  if (dimms_ >= bounds_.memory_slots) {
    return absl::ResourceExhaustedError(StrCat("grow memory to ", memory_mib, " MiB: all ", bounds_.memory_slots,
                                               " memory slots are used (hypervisor.memory_slots)"));
  }
  const uint64_t added = memory_mib - memory_mib_;
  if (added % kMemoryBlockMiB != 0) {
    return absl::InvalidArgumentError(StrCat("grow memory by ", added, " MiB: not a whole number of ", kMemoryBlockMiB,
                                             " MiB memory blocks"));
  }
  const std::string backend = StrCat("mem", dimms_);
  const std::string dimm = StrCat("dimm", dimms_);
  if (auto made = qmp_.Execute("object-add", json{{"qom-type", "memory-backend-ram"}, {"id", backend},
                                                  {"size", added << 20}});
      !made.ok()) {
    return absl::Status(made.status().code(), StrCat("memory backend ", backend, ": ", made.status().message()));
  }
  // The guest acknowledges the DIMM (_OST) once its memory blocks are registered: only then
  // does the agent find them to online. device_add answers before the guest has even heard.
  // Registered before device_add, so the event cannot be missed.
  auto registered = qmp_.ExpectEvent("ACPI_DEVICE_OST", [&](const json& d) {
    return d.contains("info") && d["info"].is_object() && d["info"].value("device", "") == dimm;
  });
  if (auto plugged = qmp_.Execute("device_add", json{{"driver", "pc-dimm"}, {"id", dimm}, {"memdev", backend}});
      !plugged.ok()) {
    (void)qmp_.Execute("object-del", json{{"id", backend}});
    return absl::Status(plugged.status().code(), StrCat("plug DIMM ", dimm, ": ", plugged.status().message()));
  }
  ++dimms_;
  memory_mib_ = memory_mib;  // plugged: the VM has it, whatever the guest does with it
  auto ost = registered->Wait(ost_timeout);
  if (!ost.ok()) {
    return absl::Status(ost.status().code(), StrCat("DIMM ", dimm, ": the guest did not take it: ", ost.status().message()));
  }
  if (const int status = ost->data["info"].value("status", 0); status != 0) {
    return absl::InternalError(StrCat("DIMM ", dimm, ": the guest refused it (ACPI _OST status ", status, ")"));
  }
  kLog.Info("memory plugged", {{"added_mib", static_cast<int64_t>(added)}, {"memory_mib", static_cast<int64_t>(memory_mib)}});
  return added;
}

}  // namespace kata::runtime
