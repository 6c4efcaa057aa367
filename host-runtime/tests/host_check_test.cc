// `kata-runtime check`'s reading of the guest kernel's build configuration.

#include "host-runtime/cmd/host_check.h"
#include "libkata/testing/test_support.h"

TEST_CASE("check: the guest kernel's options for seccomp and device rules", "[check]") {
  kata::testing::TempDir dir;
  const std::string all = "# Linux/x86 6.12\nCONFIG_SECCOMP=y\nCONFIG_SECCOMP_FILTER=y\nCONFIG_BPF_SYSCALL=y\nCONFIG_CGROUP_BPF=y\n";
  kata::testing::WriteFile(dir.Sub("good"), all);
  auto good = kata::runtime::CheckGuestKernelConfig(dir.Sub("good"));
  CHECK(good.ok);

  kata::testing::WriteFile(dir.Sub("bad"), "#\nCONFIG_SECCOMP_FILTER=y\nCONFIG_BPF_SYSCALL=y\n# CONFIG_CGROUP_BPF is not set\n");
  auto bad = kata::runtime::CheckGuestKernelConfig(dir.Sub("bad"));
  CHECK_FALSE(bad.ok);
  CHECK(bad.required);
  CHECK(bad.why.find("not set: CONFIG_CGROUP_BPF") != std::string::npos);

  auto missing = kata::runtime::CheckGuestKernelConfig(dir.Sub("none"));
  CHECK_FALSE(missing.ok);
  CHECK_FALSE(missing.required);  // an image built elsewhere: cannot tell, not a failure
}
