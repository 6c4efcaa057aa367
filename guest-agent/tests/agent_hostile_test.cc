// Hostile requests to the real agent, one row each: every one is a clear error (its gRPC code
// and the field or path it names), and afterwards nothing is left: no mount, no file or
// directory in the sandbox directory, no process, no container.

#include <sys/stat.h>

#include <functional>
#include <set>

#include "guest-agent/tests/agent_fixture.h"

using namespace agent_test;  // NOLINT: the fixture is this test's vocabulary

namespace {

// Everything below `dir`, as "path type" lines (symlinks with their target).
std::set<std::string> Tree(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    const auto& p = it->path();
    if (it->is_symlink()) {
      out.insert(p.string() + " -> " + std::filesystem::read_symlink(p).string());
      it.disable_recursion_pending();
    } else {
      out.insert(p.string());
    }
  }
  return out;
}

// The agent's children (a container init, a middle process...).
std::string Children(pid_t pid) {
  std::string all;
  for (const auto& t : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    all += kata::testing::ReadFile(t.path().string() + "/children");
  }
  return all;
}

struct Row {
  std::string name;
  std::function<void(agent::CreateContainerRequest&)> mutate;  // of a good request for "h1"
  absl::StatusCode code;
  std::string names;  // in the error message
};

}  // namespace

TEST_CASE("agent: hostile requests, each a clear error that leaves nothing behind", "[agent][root][hostile]") {
  KATA_REQUIRE_ROOT();
  Fixture f;
  const std::string S = f.agent.sandbox_dir();
  const std::string rootfs = f.RootfsOf("h1");
  // What the rows point at: another container's directories, symlinks planted where the
  // host's share would be.
  f.RootfsOf("c2");
  MakeDirs(S + "/shared/containers/c2/mounts/0");
  MakeDirs(S + "/shared/containers/h1/mounts");
  REQUIRE(::symlink("/etc", (S + "/shared/containers/h1/mounts/0").c_str()) == 0);
  REQUIRE(::symlink(rootfs.c_str(), (S + "/shared/containers/h1/rootfs").c_str()) == 0);

  auto bind = [](const std::string& source) {
    return [source](agent::CreateContainerRequest& r) {
      auto* m = r.mutable_oci()->add_mounts();
      m->set_destination("/mnt");
      m->set_type("bind");
      m->set_source(source);
      m->add_options("rbind");
    };
  };
  auto seccomp = [](const std::string& action, const std::string& arch, const std::string& flag, uint32_t index) {
    return [=](agent::CreateContainerRequest& r) {
      auto* s = r.mutable_oci()->mutable_linux()->mutable_seccomp();
      s->set_default_action("SCMP_ACT_ERRNO");
      if (!arch.empty()) s->add_architectures(arch);
      if (!flag.empty()) s->add_flags(flag);
      auto* sc = s->add_syscalls();
      sc->add_names("unshare");
      sc->set_action(action);
      if (index > 0) {
        auto* a = sc->add_args();
        a->set_index(index);
        a->set_op("SCMP_CMP_EQ");
      }
    };
  };
  auto device_rule = [](const std::string& type, const std::string& access) {
    return [=](agent::CreateContainerRequest& r) {
      auto* d = r.mutable_oci()->mutable_linux()->mutable_resources()->add_devices();
      d->set_allow(true);
      d->set_type(type);
      d->set_access(access);
    };
  };
  auto device = [](const std::string& type, const std::string& id, const std::string& vm_path) {
    return [=](agent::CreateContainerRequest& r) {
      auto* d = r.add_devices();
      d->set_type(type);
      d->set_id(id);
      d->set_vm_path(vm_path);
      d->set_container_path("/dev/xda");
    };
  };
  using absl::StatusCode;
  const StatusCode kInvalid = StatusCode::kInvalidArgument;
  const std::vector<Row> rows = {
      // root.path: only S/<id>/rootfs or S/shared/containers/<id>/rootfs, never through a symlink.
      {"root.path /", [](auto& r) { r.mutable_oci()->mutable_root()->set_path("/"); }, kInvalid, "root.path \"/\""},
      {"root.path: another container's", [&](auto& r) { r.mutable_oci()->mutable_root()->set_path(S + "/c2/rootfs"); }, kInvalid, "root.path"},
      {"root.path with ..", [&](auto& r) { r.mutable_oci()->mutable_root()->set_path(S + "/h1/../c2/rootfs"); }, kInvalid, "not a clean path"},
      {"root.path through a symlink", [&](auto& r) { r.mutable_oci()->mutable_root()->set_path(S + "/shared/containers/h1/rootfs"); },
       kInvalid, "crosses a symlink"},
      {"root.path relative", [](auto& r) { r.mutable_oci()->mutable_root()->set_path("rootfs"); }, kInvalid, "root.path"},
      // Storages: below the container's own directory or the pod's.
      {"storage mount point /etc/evil", [](auto& r) { r.mutable_storages(0)->set_mount_point("/etc/evil"); }, kInvalid, "storages[0].mount_point"},
      {"storage in another container's directory", [&](auto& r) { r.mutable_storages(0)->set_mount_point(S + "/c2/rootfs"); }, kInvalid,
       "storages[0].mount_point"},
      {"storage in the containers' share", [&](auto& r) { r.mutable_storages(0)->set_mount_point(S + "/shared/containers/h1/x"); }, kInvalid,
       "storages[0].mount_point"},
      {"storage mount point with ..", [&](auto& r) { r.mutable_storages(0)->set_mount_point(S + "/h1/../c2/x"); }, kInvalid, "not a clean path"},
      {"storage driver unknown", [](auto& r) { r.mutable_storages(0)->set_driver("nfs"); }, kInvalid, "nfs"},
      // Bind sources: the container's own share, its storages, /dev (what its rules allow), /proc, /sys.
      {"bind /", bind("/"), kInvalid, "mounts[3] (/mnt).source \"/\" is outside"},
      {"bind /etc", bind("/etc"), kInvalid, "\"/etc\" is outside"},
      {"bind the agent's sandbox dir", bind(S), kInvalid, "is outside"},
      {"bind /dev/kmsg", bind("/dev/kmsg"), kInvalid, "is device c 1:11"},
      {"bind a disk", bind("/dev/loop0"), kInvalid, "is device b 7:0"},
      {"bind a missing node", bind("/dev/nonexistent-node"), StatusCode::kNotFound, "/dev/nonexistent-node"},
      {"bind the whole /dev", bind("/dev"), kInvalid, "whole /dev"},
      {"bind /proc/1/root", bind("/proc/1/root"), kInvalid, "a process's /proc directory"},
      {"bind /proc/self/fd", bind("/proc/self/fd"), kInvalid, "a process's /proc directory"},
      {"bind another container's share", bind(S + "/shared/containers/c2/mounts/0"), kInvalid, "is outside"},
      {"bind another container's rootfs", bind(S + "/c2/rootfs"), kInvalid, "is outside"},
      {"bind a symlink in its own share", bind(S + "/shared/containers/h1/mounts/0"), kInvalid, "crosses a symlink"},
      {"bind a relative source", bind("etc"), kInvalid, "is not absolute"},
      // Ids.
      {"container id shared", [](auto& r) { r.set_container_id("shared"); }, kInvalid, "reserved"},
      {"container id ../x", [](auto& r) { r.set_container_id("../x"); }, kInvalid, "container id"},
      // Seccomp.
      {"seccomp: unknown action", seccomp("SCMP_ACT_EXPLODE", "", "", 0), kInvalid, "linux.seccomp.syscalls[0].action"},
      {"seccomp: NOTIFY", seccomp("SCMP_ACT_NOTIFY", "", "", 0), kInvalid, "SCMP_ACT_NOTIFY is not supported"},
      {"seccomp: unknown architecture", seccomp("SCMP_ACT_ALLOW", "SCMP_ARCH_PDP11", "", 0), kInvalid, "linux.seccomp.architectures[0]"},
      {"seccomp: unknown flag", seccomp("SCMP_ACT_ALLOW", "", "SECCOMP_FILTER_FLAG_EVERYTHING", 0), kInvalid, "linux.seccomp.flags[0]"},
      {"seccomp: argument 7", seccomp("SCMP_ACT_ALLOW", "", "", 7), kInvalid, "linux.seccomp.syscalls[0].args[0].index"},
      // Device rules and devices.
      {"device rule type x", device_rule("x", "rwm"), kInvalid, "linux.resources.devices[0].type"},
      {"device rule access rwx", device_rule("c", "rwx"), kInvalid, "linux.resources.devices[0].access"},
      {"generic device /dev/mem", device("generic", "mem", "/dev/mem"), StatusCode::kDeadlineExceeded, "/dev/mem"},
      {"generic device outside /dev", device("generic", "pw", "/dev/../etc/passwd"), kInvalid, "/dev/../etc/passwd"},
      {"blk device with a bad PCI path", device("blk", "zz/yy", ""), kInvalid, "zz/yy"},
      // The spec itself.
      {"sysctl the VM's kernel", [](auto& r) { (*r.mutable_oci()->mutable_linux()->mutable_sysctl())["kernel.core_pattern"] = "|/x"; },
       kInvalid, "kernel.core_pattern"},
      {"pid namespace of a path without a sandbox container", [](auto& r) {
         for (auto& ns : *r.mutable_oci()->mutable_linux()->mutable_namespaces()) {
           if (ns.type() == "pid") ns.set_path("/proc/1/ns/pid");
         }
       }, StatusCode::kFailedPrecondition, "pid"},
      {"relative cwd", [](auto& r) { r.mutable_oci()->mutable_process()->set_cwd("tmp"); }, kInvalid, "cwd"},
      {"unknown rlimit", [](auto& r) { r.mutable_oci()->mutable_process()->mutable_rlimits(0)->set_type("RLIMIT_EVERYTHING"); }, kInvalid,
       "RLIMIT_EVERYTHING"},
      {"relative mount destination", [](auto& r) { r.mutable_oci()->mutable_mounts(0)->set_destination("proc"); }, kInvalid, "proc"},
  };
  REQUIRE(rows.size() >= 30);
  const size_t mounts_before = kata::mount::ListMountsUnder(f.tmp.path())->size();
  const std::set<std::string> tree_before = Tree(S);
  for (const Row& row : rows) {
    INFO(row.name);
    agent::CreateContainerRequest req;
    req.set_container_id("h1");
    *req.mutable_oci() = MakeSpec(rootfs, {"true"});
    *req.add_storages() = LocalRootfs(rootfs);
    row.mutate(req);
    google::protobuf::Empty e;
    const absl::Status s = f.agent.stub().CreateContainer(req, &e);
    INFO(s.code() << " " << s.message());
    CHECK(s.code() == row.code);
    CHECK(s.message().find(row.names) != std::string::npos);
    // Nothing left: mounts, files, processes, the container.
    CHECK(kata::mount::ListMountsUnder(f.tmp.path())->size() == mounts_before);
    CHECK(Tree(S) == tree_before);
    CHECK(Children(f.agent.pid()).empty());
    agent::StartContainerRequest start;
    start.set_container_id(req.container_id());
    const absl::Status started = f.agent.stub().StartContainer(start, &e);
    CHECK((started.code() == StatusCode::kNotFound || started.code() == kInvalid));
  }
  // The same request without the hostile part works: the rows failed for their own reason.
  REQUIRE(f.Create("h1", {"true"}).ok());
  REQUIRE(f.Start("h1").ok());
  CHECK(f.Wait("h1") == 0);
  REQUIRE(f.Remove("h1").ok());
}
