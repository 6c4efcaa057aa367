// The agent's path contract (pure, with a probe that answers from a table): what a container
// may name, and the field each refusal names. The same rules through the real agent, with
// real symlinks and mounts, are rows of agent_hostile_test.cc.

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <map>
#include <nlohmann/json.hpp>

#include "guest-agent/sandbox/path_contract.h"
#include "libkata/oci/spec.h"
#include "libkata/testing/test_support.h"

using namespace kata::guest;

namespace {

const AgentLayout kLayout{"/run/kata-containers"};

// Paths the probe knows; "link" marks one that crosses a symlink.
PathProbe Probe() {
  return [](const std::string& path) -> absl::StatusOr<PathFacts> {
    static const std::map<std::string, PathFacts> known = {
        {"/dev/null", {S_IFCHR | 0666, makedev(1, 3)}}, {"/dev/mem", {S_IFCHR | 0640, makedev(1, 1)}},
        {"/dev/vda", {S_IFBLK | 0660, makedev(254, 0)}}, {"/dev/shm", {S_IFDIR | 01777, 0}},
        {"/run/kata-containers/shared/containers/c1/mounts/0", {S_IFDIR | 0755, 0}},
        {"/run/kata-containers/shared/shm", {S_IFDIR | 0755, 0}},
        {"/run/kata-containers/c1/data", {S_IFDIR | 0755, 0}}};
    if (path.find("link") != std::string::npos) return absl::InvalidArgumentError("crosses a symlink");
    auto it = known.find(path);
    if (it == known.end()) return absl::NotFoundError("no such file");
    return it->second;
  };
}

kata::agent::CreateContainerRequest Request(const std::string& patch) {
  nlohmann::json spec = nlohmann::json::parse(R"({"ociVersion": "1.1.0", "root": {"path": "/run/kata-containers/c1/rootfs"},
    "process": {"args": ["sh"], "cwd": "/"}, "linux": {"resources": {"devices": [{"allow": false, "access": "rwm"}]}}})");
  spec.merge_patch(nlohmann::json::parse(patch));
  auto parsed = kata::oci::ParseSpecJson(spec.dump(), "test spec");
  REQUIRE(parsed.ok());
  kata::agent::CreateContainerRequest req;
  req.set_container_id("c1");
  *req.mutable_oci() = *parsed;
  req.add_storages()->set_mount_point("/run/kata-containers/c1/rootfs");
  req.add_storages()->set_mount_point("/run/kata-containers/c1/data");
  return req;
}

absl::Status Check(const kata::agent::CreateContainerRequest& req) {
  auto devices = BuildDevicePolicy(req.oci().linux().resources().devices());
  REQUIRE(devices.ok());
  return CheckContainerPaths(kLayout, req, {"/run/kata-containers/shared/containers", "/run/kata-containers/shared/shm"},
                             *devices, Probe());
}

std::string Bind(const std::string& source) {
  return R"({"mounts": [{"destination": "/x", "type": "bind", "source": ")" + source + R"(", "options": ["rbind"]}]})";
}

}  // namespace

TEST_CASE("path contract: what a container may name", "[path]") {
  for (const std::string& ok : {std::string("{}"), std::string(R"({"root": {"path": "/run/kata-containers/shared/containers/c1/rootfs"}})"),
                               Bind("/run/kata-containers/shared/containers/c1/mounts/0")}) {
    INFO(ok);
    CHECK(Check(Request(ok)).ok());
  }
  for (const std::string source : {"/dev/null", "/dev/shm", "/proc/sys/kernel", "/sys/kernel/mm", "/run/kata-containers/shared/shm",
                                    "/run/kata-containers/c1/data"}) {
    INFO(source);
    CHECK(Check(Request(Bind(source))).ok());
  }
  // Privileged: its rules let it open /dev/mem.
  CHECK(Check(Request(R"({"linux": {"resources": {"devices": [{"allow": true, "access": "rwm"}]}},
    "mounts": [{"destination": "/x", "type": "bind", "source": "/dev/mem"}]})")).ok());
}

TEST_CASE("path contract: each refusal names the field", "[path]") {
  struct Row {
    std::string patch;
    std::string field;
  };
  const Row rows[] = {
      {R"({"root": {"path": "/"}})", "root.path \"/\" is not /run/kata-containers/c1/rootfs"},
      {R"({"root": {"path": "/run/kata-containers/c2/rootfs"}})", "root.path"},
      {R"({"root": {"path": "/run/kata-containers/c1/../c2/rootfs"}})", "root.path \"/run/kata-containers/c1/../c2/rootfs\" is not a clean"},
      {R"({"root": {"path": "/run/kata-containers/shared/containers/c2/rootfs"}})", "root.path"},
      {Bind("/"), "mounts[0] (/x).source \"/\" is outside"},
      {Bind("/etc"), "mounts[0] (/x).source \"/etc\" is outside"},
      {Bind("/dev"), "mounts[0] (/x).source \"/dev\" is the VM's whole /dev"},
      {Bind("/dev/mem"), "mounts[0] (/x).source \"/dev/mem\" is device c 1:1"},
      {Bind("/dev/vda"), "mounts[0] (/x).source \"/dev/vda\" is device b 254:0"},
      {Bind("/proc/1/root"), "mounts[0] (/x).source \"/proc/1/root\" is a process's"},
      {Bind("/proc/self/fd"), "mounts[0] (/x).source \"/proc/self/fd\" is a process's"},
      {Bind("/run/kata-containers/shared/containers/c2/mounts/0"), "mounts[0] (/x).source"},
      {Bind("/run/kata-containers/shared/containers"), "mounts[0] (/x).source"},
      {Bind("/run/kata-containers/c2/rootfs"), "mounts[0] (/x).source"},
      {Bind("/run/kata-containers/shared/containers/c1/mounts/link"), "mounts[0] (/x).source \"/run/kata-containers/shared/containers/c1/mounts/link\": crosses a symlink"},
      {Bind("relative/dir"), "mounts[0] (/x).source \"relative/dir\" is not absolute"},
  };
  for (const Row& row : rows) {
    INFO(row.patch);
    const absl::Status s = Check(Request(row.patch));
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(s.message()).starts_with(row.field));
  }
  auto req = Request("{}");
  req.mutable_storages(1)->set_mount_point("/run/kata-containers/c2/data");
  CHECK(std::string(Check(req).message()).starts_with("storages[1].mount_point \"/run/kata-containers/c2/data\" is not below"));
  req = Request("{}");
  req.set_container_id("shared");
  CHECK(std::string(Check(req).message()).starts_with("container id \"shared\" is reserved"));

  google::protobuf::RepeatedPtrField<kata::agent::Storage> sandbox;
  sandbox.Add()->set_mount_point("/run/kata-containers/shared/containers");
  CHECK(CheckSandboxStorages(kLayout, sandbox).ok());
  sandbox.Add()->set_mount_point("/run/kata-containers/c1/rootfs");
  CHECK(std::string(CheckSandboxStorages(kLayout, sandbox).message()).starts_with("storages[1].mount_point"));
}
