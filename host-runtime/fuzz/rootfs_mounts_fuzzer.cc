// A container's rootfs mounts as containerd hands them to the shim (JSON here, the form
// kata-runtime and the tests use): parsed, classified (multi-layer EROFS, block, shared
// directory) with their mkdir directives, and turned into the guest's Storages.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "host-runtime/rootfs/rootfs_plan.h"
#include "libkata/testing/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kata::runtime;
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  auto mounts = ParseRootfsMountsJson(json);
  if (!mounts.ok()) return 0;
  auto plan = ClassifyRootfs(*mounts);
  if (!plan.ok()) return 0;
  size_t devices = 0;
  if (const auto* ml = std::get_if<MultiLayerErofsRootfs>(&*plan)) {
    // One device for the upper, one per lower (its blobs joined by a VMDK when several).
    devices = 1 + ml->lowers.size();
    KATA_FUZZ_CHECK(devices <= kMaxRootfsDevices, "more devices than a rootfs may attach");
    for (const auto& lower : ml->lowers) KATA_FUZZ_CHECK(!lower.blobs.empty(), "a lower without a blob");
  } else if (std::holds_alternative<BlockRootfs>(*plan)) {
    devices = 1;
  }
  std::vector<std::string> sources;
  for (size_t i = 0; i < devices; ++i) sources.push_back("/dev/vd" + std::string(1, static_cast<char>('b' + i)));
  const std::string guest_rootfs = "/run/kata-containers/c1/rootfs";
  auto storages = RootfsStorages(*plan, sources, guest_rootfs);
  KATA_FUZZ_CHECK(storages.ok(), "a classified rootfs has no storages for its devices");
  KATA_FUZZ_CHECK(storages->size() == devices, "one storage per device");
  for (const auto& s : *storages) {
    KATA_FUZZ_CHECK(s.mount_point() == guest_rootfs, "a rootfs storage mounted elsewhere");
    for (const std::string& o : s.options()) {
      KATA_FUZZ_CHECK(o != "loop", "a host-only loop option reached the guest");
    }
  }
  return 0;
}
