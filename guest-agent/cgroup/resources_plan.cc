#include "guest-agent/cgroup/resources_plan.h"

#include <algorithm>
#include <cstdint>

#include "libkata/base/str_cat.h"

namespace kata::guest {
namespace {

// "max" for "no limit" (negative or, for pids, zero as the OCI spec has it).
std::string LimitValue(int64_t v) { return v < 0 ? "max" : std::to_string(v); }

// The OCI spec's cpu.shares (2..262144) -> cpu.weight (1..10000).
uint64_t SharesToWeight(uint64_t shares) {
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

// blkio weight (10..1000) -> io.weight (1..10000).
absl::StatusOr<uint64_t> BlkioToIoWeight(uint32_t weight, std::string_view field) {
  if (weight < 10 || weight > 1000) {
    return absl::InvalidArgumentError(StrCat(field, " ", weight, ": want 10..1000"));
  }
  return 1 + (static_cast<uint64_t>(weight) - 10) * 9999 / 990;
}

absl::Status PlanMemory(const oci::LinuxMemory& m, CgroupPlan& plan) {
  // 0 means unset, as runc reads it (docker always sends the fields).
  if (m.has_limit() && m.limit() != 0) plan.writes.push_back({"memory.max", LimitValue(m.limit())});
  if (m.has_reservation() && m.reservation() != 0) plan.writes.push_back({"memory.low", LimitValue(m.reservation())});
  if (m.has_swap()) {
    // OCI's swap is memory + swap; cgroup v2 limits swap alone.
    if (m.swap() < 0) {
      plan.writes.push_back({"memory.swap.max", "max", true});
    } else if (!m.has_limit() || m.limit() < 0) {
      return absl::InvalidArgumentError("linux.resources.memory.swap: needs a memory limit (swap counts memory + swap)");
    } else if (m.swap() < m.limit()) {
      return absl::InvalidArgumentError(StrCat("linux.resources.memory.swap ", m.swap(), " is below memory.limit ",
                                               m.limit(), " (swap counts memory + swap)"));
    } else {
      const int64_t swap = m.swap() - m.limit();
      plan.writes.push_back({"memory.swap.max", std::to_string(swap), swap == 0});
    }
  }
  if (m.has_kernel()) plan.ignored.push_back("linux.resources.memory.kernel");
  if (m.has_kernel_tcp()) plan.ignored.push_back("linux.resources.memory.kernelTCP");
  if (m.has_swappiness()) plan.ignored.push_back("linux.resources.memory.swappiness");
  if (m.has_disable_oom_killer()) plan.ignored.push_back("linux.resources.memory.disableOOMKiller");
  return absl::OkStatus();
}

void PlanCpu(const oci::LinuxCPU& c, CgroupPlan& plan) {
  if (c.has_shares() && c.shares() != 0) plan.writes.push_back({"cpu.weight", std::to_string(SharesToWeight(c.shares()))});
  if (c.has_quota() || c.has_period()) {
    const std::string quota = c.has_quota() && c.quota() > 0 ? std::to_string(c.quota()) : "max";
    const uint64_t period = c.has_period() && c.period() != 0 ? c.period() : 100000;  // the kernel's default
    plan.writes.push_back({"cpu.max", StrCat(quota, " ", period)});
  }
  if (c.has_burst()) plan.writes.push_back({"cpu.max.burst", std::to_string(c.burst())});
  if (c.has_idle()) plan.writes.push_back({"cpu.idle", std::to_string(c.idle())});
  if (!c.cpus().empty()) plan.writes.push_back({"cpuset.cpus", c.cpus()});
  if (!c.mems().empty()) plan.writes.push_back({"cpuset.mems", c.mems()});
  if (c.has_realtime_runtime() || c.has_realtime_period()) plan.ignored.push_back("linux.resources.cpu.realtime*");
}

absl::Status PlanBlockIo(const oci::LinuxBlockIO& b, CgroupPlan& plan) {
  if (b.has_weight() && b.weight() != 0) {  // docker sends 0 for "unset"; runc skips it
    auto w = BlkioToIoWeight(b.weight(), "linux.resources.blockIO.weight");
    if (!w.ok()) return w.status();
    plan.writes.push_back({"io.weight", StrCat("default ", *w)});
  }
  for (const auto& d : b.weight_device()) {
    if (!d.has_weight() || d.weight() == 0) continue;
    auto w = BlkioToIoWeight(d.weight(), "linux.resources.blockIO.weightDevice");
    if (!w.ok()) return w.status();
    plan.writes.push_back({"io.weight", StrCat(d.major(), ":", d.minor(), " ", *w)});
  }
  const std::pair<const google::protobuf::RepeatedPtrField<oci::LinuxThrottleDevice>*, const char*> throttles[] = {
      {&b.throttle_read_bps_device(), "rbps"},
      {&b.throttle_write_bps_device(), "wbps"},
      {&b.throttle_read_iops_device(), "riops"},
      {&b.throttle_write_iops_device(), "wiops"},
  };
  for (const auto& [devices, key] : throttles) {
    for (const auto& d : *devices) {
      plan.writes.push_back({"io.max", StrCat(d.major(), ":", d.minor(), " ", key, "=", d.rate() == 0 ? std::string("max") : std::to_string(d.rate()))});
    }
  }
  if (b.has_leaf_weight()) plan.ignored.push_back("linux.resources.blockIO.leafWeight");
  return absl::OkStatus();
}

// linux.resources.unified: "<controller>.<key>" files written as given, except the ones
// that move processes or change the tree's shape, which belong to the agent.
absl::Status CheckUnifiedName(const std::string& name) {
  const size_t dot = name.find('.');
  const bool shaped = dot != std::string::npos && dot > 0 && dot + 1 < name.size() &&
                      name.find('/') == std::string::npos && name.find('\0') == std::string::npos;
  if (!shaped) {
    return absl::InvalidArgumentError(StrCat("linux.resources.unified \"", name, "\": want <controller>.<key>"));
  }
  for (const char* owned : {"cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "cgroup.type", "cgroup.kill",
                            "cgroup.freeze"}) {
    if (name == owned) return absl::InvalidArgumentError(StrCat("linux.resources.unified \"", name, "\": the agent owns it"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CgroupPlan> PlanCgroupWrites(const oci::LinuxResources& r) {
  CgroupPlan plan;
  if (r.has_cpu()) PlanCpu(r.cpu(), plan);
  if (r.has_memory()) {
    if (absl::Status s = PlanMemory(r.memory(), plan); !s.ok()) return s;
  }
  if (r.has_pids()) plan.writes.push_back({"pids.max", r.pids().limit() <= 0 ? "max" : std::to_string(r.pids().limit())});
  if (r.has_block_io()) {
    if (absl::Status s = PlanBlockIo(r.block_io(), plan); !s.ok()) return s;
  }
  for (const auto& h : r.hugepage_limits()) {
    if (h.page_size().empty() || h.page_size().find('/') != std::string::npos) {
      return absl::InvalidArgumentError(StrCat("linux.resources.hugepageLimits pageSize \"", h.page_size(), "\""));
    }
    plan.writes.push_back({StrCat("hugetlb.", h.page_size(), ".max"), std::to_string(h.limit())});
  }
  // The unified map last: it is the spec's way to override any of the above.
  std::vector<std::pair<std::string, std::string>> unified(r.unified().begin(), r.unified().end());
  std::sort(unified.begin(), unified.end());  // a map's order is not the spec's; be deterministic
  for (const auto& [name, value] : unified) {
    if (absl::Status s = CheckUnifiedName(name); !s.ok()) return s;
    plan.writes.push_back({name, value});
  }
  if (r.has_network()) plan.ignored.push_back("linux.resources.network");
  if (!r.rdma().empty()) plan.ignored.push_back("linux.resources.rdma");
  // linux.resources.devices: a BPF program, not a file (guest-agent/device_cgroup).
  return plan;
}

}  // namespace kata::guest
