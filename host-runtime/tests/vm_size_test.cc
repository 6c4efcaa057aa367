#include <thread>

#include "host-runtime/vm/vm_size.h"
#include "libkata/testing/test_support.h"

using kata::runtime::HostCpuCount;
using kata::runtime::HostMemoryMiB;
using kata::runtime::PlanVmSize;
using kata::runtime::ResolveVmSizeBounds;
using kata::runtime::VmSize;
using kata::runtime::VmSizeBounds;

namespace {

kata::oci::LinuxResources Limits(int64_t quota, uint64_t period, int64_t memory_bytes) {
  kata::oci::LinuxResources r;
  if (quota != 0) r.mutable_cpu()->set_quota(quota);
  if (period != 0) r.mutable_cpu()->set_period(period);
  if (memory_bytes != 0) r.mutable_memory()->set_limit(memory_bytes);
  return r;
}

VmSizeBounds Bounds() {
  kata::config::HypervisorConfig hv;
  hv.vcpus = 1;
  hv.max_vcpus = 4;
  hv.memory_mib = 512;
  hv.max_memory_mib = 512 + 1024;
  hv.memory_slots = 10;
  return ResolveVmSizeBounds(hv, 64, 1 << 20);
}

}  // namespace

TEST_CASE("vm size: bounds from the configuration, 0 meaning the host's", "[vm-size]") {
  kata::config::HypervisorConfig hv;  // vcpus 1, memory 2048, max 0 / 0, 10 slots
  VmSizeBounds b = ResolveVmSizeBounds(hv, 8, 24000);
  CHECK(b.boot_vcpus == 1);
  CHECK(b.max_vcpus == 8);
  CHECK(b.boot_memory_mib == 2048);
  // The room is whole 128 MiB blocks: 24000 - 2048 = 21952 -> 171 blocks.
  CHECK(b.max_memory_mib == 2048 + 171 * 128);
  CHECK(b.memory_slots == 10);
  CHECK(b.memory_hotplug());

  hv.vcpus = 4;
  hv.max_vcpus = 2;            // a maximum below the boot size is the boot size
  hv.max_memory_mib = 2100;    // less than a block of room: none
  b = ResolveVmSizeBounds(hv, 8, 24000);
  CHECK(b.max_vcpus == 4);
  CHECK(b.max_memory_mib == 2048);
  CHECK(b.memory_slots == 0);
  CHECK_FALSE(b.memory_hotplug());

  hv.vcpus = 1;
  hv.max_vcpus = 0;
  CHECK(ResolveVmSizeBounds(hv, 128, 24000).max_vcpus == 64);  // the host's, at most the guest kernel's
  hv.max_vcpus = 96;
  CHECK(ResolveVmSizeBounds(hv, 128, 24000).max_vcpus == 96);  // said outright: the user's kernel may take it

  hv.max_memory_mib = 4096;
  hv.memory_slots = 0;  // no slots: no memory hot-plug however much room
  CHECK_FALSE(ResolveVmSizeBounds(hv, 8, 24000).memory_hotplug());
}

TEST_CASE("vm size: the boot size plus each container's CPU and memory limits", "[vm-size]") {
  const VmSizeBounds b = Bounds();
  struct Case {
    const char* what;
    std::vector<kata::oci::LinuxResources> containers;
    VmSize want;
  };
  const std::vector<Case> cases = {
      {"no containers", {}, {1, 512}},
      {"no limits (a pause container)", {kata::oci::LinuxResources{}}, {1, 512}},
      {"one CPU exactly", {Limits(100000, 100000, 0)}, {2, 512}},
      {"half a CPU rounds up", {Limits(50000, 100000, 0)}, {2, 512}},
      {"a quota without a period uses 100ms", {Limits(250000, 0, 0)}, {4, 512}},
      {"quota -1 is no limit", {Limits(-1, 100000, 0)}, {1, 512}},
      {"two containers add up", {Limits(100000, 100000, 0), Limits(150000, 100000, 0)}, {4, 512}},
      {"capped at max_vcpus", {Limits(1600000, 100000, 0)}, {4, 512}},
      {"memory in whole blocks", {Limits(0, 0, 200ll << 20)}, {1, 512 + 256}},
      {"a byte over a block is another block", {Limits(0, 0, (128ll << 20) + 1)}, {1, 512 + 256}},
      {"memory adds up", {Limits(0, 0, 128ll << 20), Limits(0, 0, 256ll << 20)}, {1, 512 + 384}},
      {"capped at max_memory_mib", {Limits(0, 0, 8ll << 30)}, {1, 512 + 1024}},
      {"both", {Limits(200000, 100000, 64ll << 20)}, {3, 512 + 128}},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    const VmSize got = PlanVmSize(b, c.containers);
    CHECK(got.vcpus == c.want.vcpus);
    CHECK(got.memory_mib == c.want.memory_mib);
  }
}

TEST_CASE("vm size: without memory hot-plug the memory stays the boot size", "[vm-size]") {
  kata::config::HypervisorConfig hv;
  hv.memory_slots = 0;
  const VmSizeBounds b = ResolveVmSizeBounds(hv, 2, 24000);
  CHECK(PlanVmSize(b, {Limits(100000, 100000, 1ll << 30)}) == VmSize{2, 2048});
}

TEST_CASE("vm size: this host's CPUs and memory", "[vm-size]") {
  auto cpus = HostCpuCount();
  auto memory = HostMemoryMiB();
  REQUIRE(cpus.ok());
  REQUIRE(memory.ok());
  CHECK(*cpus == std::thread::hardware_concurrency());
  CHECK(*memory > 64);
}
