// The guest kernel's requirements: our own fragment and Debian's real configs read against
// them, and an agent's observations mapped back to option names.

#include <algorithm>

#include "libkata/kernel/guest_kernel_requirements.h"
#include "libkata/testing/test_support.h"

using kata::kernel::ConfigShortfalls;
using kata::kernel::ParseKernelConfig;

namespace {

const std::set<std::string, std::less<>> kNoModules;

// The modules rootfs-builder/build-image puts in the initrd for a Debian kernel.
const std::set<std::string, std::less<>> kDebianInitrdModules = {
    "virtio_blk.ko", "ext4.ko", "erofs.ko", "overlay.ko", "loop.ko", "vmw_vsock_virtio_transport.ko",
    "9pnet_virtio.ko", "9p.ko"};

std::string DebianConfig(const std::string& flavour) {
  return kata::testing::Capture("xz -dc /usr/src/linux-config-6.12/config.amd64_none_" + flavour + ".xz 2>/dev/null");
}

std::vector<std::string> Options(const std::vector<kata::kernel::Shortfall>& shortfalls, bool required) {
  std::vector<std::string> out;
  for (const auto& s : shortfalls) {
    if (s.requirement->required == required) out.emplace_back(s.requirement->option);
  }
  return out;
}

}  // namespace

TEST_CASE("kernel: .config lines as Kconfig writes them", "[kernel]") {
  auto c = ParseKernelConfig(
      "#\n# Automatically generated file\nCONFIG_EROFS_FS=y\nCONFIG_EXT4_FS=m\n# CONFIG_9P_FS is not set\n"
      "CONFIG_LOCALVERSION=\"-kata-guest\"\n  CONFIG_TMPFS=y  \n# a comment = y\nnot a line\n");
  CHECK(c.at("CONFIG_EROFS_FS") == "y");
  CHECK(c.at("CONFIG_EXT4_FS") == "m");
  CHECK(c.at("CONFIG_9P_FS") == "n");
  CHECK(c.at("CONFIG_LOCALVERSION") == "\"-kata-guest\"");
  CHECK(c.at("CONFIG_TMPFS") == "y");
  CHECK(c.size() == 5);
}

TEST_CASE("kernel: our minimal kernel's fragment meets every requirement, required or not", "[kernel]") {
  const auto fragment = ParseKernelConfig(kata::testing::ReadFile(KATA_KERNEL_FRAGMENT));
  for (const auto& s : ConfigShortfalls(fragment, kNoModules)) {
    FAIL_CHECK(kata::kernel::Describe(*s.requirement) << ": " << s.detail << " in rootfs-builder/kernel/guest.config");
  }
  // No modules: the minimal kernel is all built in.
  CHECK(fragment.count("CONFIG_MODULES") == 0);
}

TEST_CASE("kernel: Debian's 6.12 configs, with the modules build-image loads", "[kernel]") {
  const std::string generic = DebianConfig("amd64");
  const std::string cloud = DebianConfig("cloud-amd64");
  if (generic.empty() || cloud.empty()) KATA_SKIP("no /usr/src/linux-config-6.12 (ci/install-deps installs linux-config-6.12)");

  // The generic flavour serves once the initrd loads its modules: build-image's default
  // before the minimal kernel.
  CHECK(Options(ConfigShortfalls(ParseKernelConfig(generic), kDebianInitrdModules), true).empty());
  // Without them, each option Debian builds as a module is named with the module to load.
  const auto bare = ConfigShortfalls(ParseKernelConfig(generic), kNoModules);
  bool erofs_named = false;
  for (const auto& s : bare) {
    if (s.requirement->option == "CONFIG_EROFS_FS") erofs_named = s.detail == "=m, but the initrd does not load erofs.ko";
  }
  CHECK(erofs_named);
  // The cloud flavour has no 9p (docs/rootfs-builder.md says why we never used it).
  const auto cloud_required = Options(ConfigShortfalls(ParseKernelConfig(cloud), kDebianInitrdModules), true);
  CHECK(std::find(cloud_required.begin(), cloud_required.end(), "CONFIG_9P_FS") != cloud_required.end());
}

TEST_CASE("kernel: an empty .config misses every requirement, each named once", "[kernel]") {
  const auto all = ConfigShortfalls({}, kNoModules);
  CHECK(all.size() == kata::kernel::GuestKernelRequirements().size());
  for (const auto& s : all) CHECK(s.detail == "not set");
  // =m with no module to load is named as such.
  const auto m = ConfigShortfalls({{"CONFIG_TMPFS", "m"}}, kNoModules);
  bool tmpfs = false;
  for (const auto& s : m) {
    if (s.requirement->option == "CONFIG_TMPFS") tmpfs = s.detail == "=m, but the agent loads no module for it";
  }
  CHECK(tmpfs);
}

TEST_CASE("kernel: what an agent observes, mapped back to option names", "[kernel]") {
  kata::kernel::GuestObservation seen;
  seen.cgroup_bpf = true;
  for (const auto& r : kata::kernel::GuestKernelRequirements()) {
    switch (r.probe) {
      case kata::kernel::ProbeKind::kFilesystem: seen.filesystems.insert(std::string(r.what)); break;
      case kata::kernel::ProbeKind::kCgroupController: seen.cgroup_controllers.insert(std::string(r.what)); break;
      case kata::kernel::ProbeKind::kNamespace: seen.namespaces.insert(std::string(r.what)); break;
      case kata::kernel::ProbeKind::kPath: seen.existing_paths.insert(std::string(r.what)); break;
      default: break;
    }
  }
  CHECK(kata::kernel::MissingInGuest(seen).empty());

  seen.filesystems.erase("erofs");
  seen.cgroup_controllers.erase("memory");
  seen.cgroup_bpf = false;
  std::vector<std::string> missing;
  for (const auto* r : kata::kernel::MissingInGuest(seen)) missing.emplace_back(r->option);
  CHECK(missing == std::vector<std::string>{"CONFIG_EROFS_FS", "CONFIG_MEMCG", "CONFIG_CGROUP_BPF"});
  CHECK(kata::kernel::Describe(*kata::kernel::MissingInGuest(seen)[0]) == "CONFIG_EROFS_FS (EROFS image layers)");
}
