// The pod sandbox's cgroup on the host: where it goes (pure: mountinfo, cgroupsPath in
// cgroupfs and systemd form, /proc/<pid>/cgroup), and for real on this machine's hierarchies
// (cgroup v1 controllers, name=systemd and the v2 unified mount): a process joins it in every
// hierarchy and goes back where it was, and nothing is left.

#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "host-runtime/cgroups/host_cgroup.h"
#include "libkata/base/file_util.h"
#include "libkata/testing/test_support.h"

using kata::runtime::CgroupHierarchiesFromMountinfo;
using kata::runtime::CgroupHierarchy;
using kata::runtime::CgroupOfProcess;
using kata::runtime::CgroupRelativePath;
using kata::runtime::HostCgroup;

namespace {

// This machine's kind of host: cgroup v1 per controller, name=systemd, v2 unified beside.
constexpr char kHybrid[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
    "42 23 0:32 / /mnt/memory-again rw,relatime - cgroup cgroup rw,memory\n";

}  // namespace

TEST_CASE("host cgroup plan: hierarchies from mountinfo, v1 and v2, each once", "[cgroup]") {
  CHECK(CgroupHierarchiesFromMountinfo(kHybrid) == std::vector<CgroupHierarchy>{
                                                       {"/sys/fs/cgroup/cpu,cpuacct", false, "cpu,cpuacct"},
                                                       {"/sys/fs/cgroup/memory", false, "memory"},
                                                       {"/sys/fs/cgroup/systemd", false, "name=systemd"},
                                                       {"/sys/fs/cgroup/unified", true, ""},
                                                   });
  CHECK(CgroupHierarchiesFromMountinfo("25 23 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n") ==
        std::vector<CgroupHierarchy>{{"/sys/fs/cgroup", true, ""}});
  CHECK(CgroupHierarchiesFromMountinfo("garbage\n\n1 2 3\n").empty());
}

TEST_CASE("host cgroup plan: cgroupsPath in cgroupfs and systemd form; hostile paths refused by field", "[cgroup]") {
  CHECK(*CgroupRelativePath("/kubepods/burstable/pod12/abc") == "/kubepods/burstable/pod12/abc");
  CHECK(*CgroupRelativePath("kubepods-besteffort-pod12.slice:cri-containerd:abc") ==
        "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/cri-containerd-abc.scope");
  CHECK(*CgroupRelativePath("system.slice:docker:abc") == "/system.slice/docker-abc.scope");
  CHECK(*CgroupRelativePath("-.slice:kata:abc") == "/kata-abc.scope");
  CHECK(*CgroupRelativePath("user.slice::abc.service") == "/user.slice/abc.service");
  for (const char* bad : {"", "relative/path", "/a/../b", "/a//b", "/a/./b", "a.slice:x", "a:b:c:d", "nosuffix:p:n", "a--b.slice:p:n",
                          "a.slice:p:"}) {
    INFO(bad);
    auto r = CgroupRelativePath(bad);
    REQUIRE(!r.ok());
    CHECK(absl::StrContains(r.status().message(), "linux.cgroupsPath"));
  }
}

TEST_CASE("host cgroup plan: a process's cgroup per hierarchy, controllers in any order", "[cgroup]") {
  const char* proc = "12:name=systemd:/user.slice\n4:memory:/process_api/b1\n2:cpuacct,cpu:/\n0::/init.scope\n";
  CHECK(*CgroupOfProcess(proc, {"/m", false, "memory"}) == "/process_api/b1");
  CHECK(*CgroupOfProcess(proc, {"/c", false, "cpu,cpuacct"}) == "/");
  CHECK(*CgroupOfProcess(proc, {"/s", false, "name=systemd"}) == "/user.slice");
  CHECK(*CgroupOfProcess(proc, {"/u", true, ""}) == "/init.scope");
  CHECK(!CgroupOfProcess(proc, {"/p", false, "pids"}).ok());
}

TEST_CASE("host cgroup: a process joins the sandbox's cgroup in every hierarchy and goes back; nothing is left", "[cgroup][root]") {
  if (::geteuid() != 0) KATA_SKIP("needs root");
  const auto hierarchies = kata::runtime::HostCgroupHierarchies();
  if (hierarchies.empty()) KATA_SKIP("no cgroup hierarchy is mounted");
  const std::string relative = "/kata-host-cgroup-test-" + std::to_string(::getpid()) + "/sandbox";
  const pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  const std::string before = kata::testing::ReadFile("/proc/" + std::to_string(child) + "/cgroup");
  {
    auto cg = HostCgroup::Create(hierarchies, relative);
    INFO(cg.status().message());
    REQUIRE(cg.ok());
    REQUIRE(cg->Join(child).ok());
    const std::string inside = kata::testing::ReadFile("/proc/" + std::to_string(child) + "/cgroup");
    for (const CgroupHierarchy& h : hierarchies) {
      INFO(h.mount_point << "\n" << inside);
      CHECK(*CgroupOfProcess(inside, h) == relative);
      CHECK(std::filesystem::is_directory(h.mount_point + relative));
    }
    REQUIRE(cg->Remove().ok());
    CHECK(cg->Remove().ok());  // idempotent
  }
  CHECK(kata::testing::ReadFile("/proc/" + std::to_string(child) + "/cgroup") == before);
  for (const CgroupHierarchy& h : hierarchies) {
    INFO(h.mount_point);
    CHECK(!std::filesystem::exists(h.mount_point + "/kata-host-cgroup-test-" + std::to_string(::getpid())));
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);

  // A cgroup that cannot be made (below a file) names the directory and leaves nothing.
  auto bad = HostCgroup::Create(hierarchies, "/cgroup.procs/x");
  REQUIRE(!bad.ok());
  CHECK(absl::StrContains(bad.status().message(), "cgroup.procs/x"));
}
