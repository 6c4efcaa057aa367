// `kata-runtime check`'s reading of the guest kernel: its build configuration and the
// modules the initrd loads.

#include <unistd.h>

#include <algorithm>

#include "host-runtime/cmd/host_check.h"
#include "libkata/testing/test_support.h"

TEST_CASE("check: the guest kernel's options, by name", "[check]") {
  kata::testing::TempDir dir;
  // Our own fragment is a complete .config for this purpose.
  const std::string fragment = kata::testing::ReadFile(KATA_KERNEL_FRAGMENT);
  kata::testing::WriteFile(dir.Sub("good"), fragment);
  auto good = kata::runtime::CheckGuestKernelConfig(dir.Sub("good"), {});
  REQUIRE(good.size() == 2);
  CHECK(good[0].ok);
  CHECK(good[1].ok);

  // Device rules without CGROUP_BPF, EROFS as a module the initrd does not load, no hugetlb.
  std::string bad = fragment;
  for (auto [from, to] : {std::pair<std::string, std::string>{"CONFIG_CGROUP_BPF=y", "# CONFIG_CGROUP_BPF is not set"},
                          {"CONFIG_EROFS_FS=y", "CONFIG_EROFS_FS=m"},
                          {"CONFIG_CGROUP_HUGETLB=y", ""}}) {
    bad.replace(bad.find(from), from.size(), to);
  }
  kata::testing::WriteFile(dir.Sub("bad"), bad);
  auto checked = kata::runtime::CheckGuestKernelConfig(dir.Sub("bad"), {"overlay.ko"});
  REQUIRE(checked.size() == 2);
  CHECK_FALSE(checked[0].ok);
  CHECK(checked[0].required);
  CHECK(checked[0].why.find("CONFIG_EROFS_FS (EROFS image layers): =m, but the initrd does not load erofs.ko") !=
        std::string::npos);
  CHECK(checked[0].why.find("CONFIG_CGROUP_BPF (linux.resources.devices as BPF device programs): not set") !=
        std::string::npos);
  CHECK_FALSE(checked[1].ok);
  CHECK_FALSE(checked[1].required);  // hugetlb limits are one spec's business, not the sandbox's
  CHECK(checked[1].why.find("CONFIG_CGROUP_HUGETLB") != std::string::npos);
  // With erofs.ko in the initrd, the module counts.
  auto with_module = kata::runtime::CheckGuestKernelConfig(dir.Sub("bad"), {"erofs.ko"});
  CHECK(with_module[0].why.find("CONFIG_EROFS_FS") == std::string::npos);

  auto missing = kata::runtime::CheckGuestKernelConfig(dir.Sub("none"), {});
  REQUIRE(missing.size() == 1);
  CHECK_FALSE(missing[0].ok);
  CHECK_FALSE(missing[0].required);  // an image built elsewhere: cannot tell, not a failure
}

// What CRI pods need of this machine (root, cgroup v1 + unified, Debian's CNI plugins,
// overlayfs, QEMU with virtio-9p): each item answers yes, and the probe leaves no cgroup.
TEST_CASE("check: this host's cgroups, CNI plugins, overlayfs and QEMU's virtio-9p", "[check][root]") {
  if (::geteuid() != 0) KATA_SKIP("needs root");
  kata::config::Config config;
  const auto items = kata::runtime::CheckHost(config);
  for (const char* what : {"cgroups", "CNI plugins", "overlayfs", "QEMU virtio-9p"}) {
    INFO(what);
    const auto it = std::find_if(items.begin(), items.end(), [&](const auto& i) { return i.what == what; });
    REQUIRE(it != items.end());
    INFO(it->why);
    CHECK(it->ok);
  }
  CHECK(kata::testing::Capture("ls -d /sys/fs/cgroup/*/kata-cpp-check-* /sys/fs/cgroup/kata-cpp-check-* 2>/dev/null") == "");
}
