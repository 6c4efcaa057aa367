// The container init's plan (pure): namespaces, mounts, /dev, sysctls, and hostile specs
// refused by the field at fault before anything is made.

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <nlohmann/json.hpp>

#include "guest-agent/process/child_steps.h"
#include "guest-agent/setup/init_plan_builder.h"
#include "libkata/oci/spec.h"
#include "libkata/testing/test_support.h"

using namespace kata::guest;
namespace oci = kata::oci;

namespace {

// The base spec with `patch` merged in (RFC 7386: objects merge, arrays are replaced).
oci::Spec Spec(const std::string& patch = "{}") {
  nlohmann::json base = nlohmann::json::parse(R"({"ociVersion": "1.1.0", "root": {"path": "/r"},
    "process": {"args": ["sh"], "cwd": "/", "env": ["PATH=/bin"]},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}]}})");
  base.merge_patch(nlohmann::json::parse(patch));
  auto spec = oci::ParseSpecJson(base.dump(), "test spec");
  INFO(spec.status());
  REQUIRE(spec.ok());
  return *spec;
}

PlanEnvironment Env() {
  PlanEnvironment env;
  env.rootfs_mount = "/";
  env.passwd = "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n";
  env.source_is_dir = [](const std::string& p) -> absl::StatusOr<bool> {
    if (p == "/shared/dir") return true;
    if (p == "/shared/file") return false;
    return absl::NotFoundError("no such file");
  };
  env.vm_node = [](char, int64_t, int64_t) { return std::string("/dev/vdb"); };
  return env;
}

absl::Status Plan(const oci::Spec& spec, InitPlan& plan, const PlanEnvironment& env = Env()) {
  return BuildInitPlan(spec, "/r", env, plan);
}

}  // namespace

TEST_CASE("init plan: listed namespaces are new, absent ones the VM's, paths the sandbox container's", "[setup]") {
  InitPlan plan;
  REQUIRE(Plan(Spec(), plan).ok());
  CHECK(plan.clone_flags == (CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS));
  CHECK_FALSE(plan.loopback_up);
  CHECK(plan.joins.empty());

  auto pod = Spec();
  pod.mutable_linux()->clear_namespaces();
  for (const char* t : {"mount", "network"}) pod.mutable_linux()->add_namespaces()->set_type(t);
  for (const char* t : {"ipc", "uts", "pid"}) {
    auto* ns = pod.mutable_linux()->add_namespaces();
    ns->set_type(t);
    ns->set_path(std::string("/proc/4242/ns/") + t);  // the host's path: meaningless in the VM
  }
  PlanEnvironment env = Env();
  env.sandbox_init_pid = 77;
  REQUIRE(Plan(pod, plan, env).ok());
  CHECK(plan.clone_flags == (CLONE_NEWNS | CLONE_NEWNET));
  CHECK(plan.loopback_up);
  REQUIRE(plan.joins.size() == 3);
  CHECK(plan.joins[0].path == "/proc/77/ns/ipc");
  CHECK(plan.joins[0].nstype == CLONE_NEWIPC);
  CHECK(plan.joins[2].path == "/proc/77/ns/pid");

  // No sandbox container: ipc and uts are the VM's; the VM's PID namespace (the agent's) is refused.
  env.sandbox_init_pid = 0;
  const absl::Status refused = Plan(pod, plan, env);
  CHECK(refused.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(refused.message()).find("linux.namespaces[4].path") != std::string::npos);
  pod.mutable_linux()->mutable_namespaces()->RemoveLast();
  REQUIRE(Plan(pod, plan, env).ok());
  CHECK(plan.joins.empty());
  CHECK(plan.clone_flags == (CLONE_NEWNS | CLONE_NEWNET));
}

TEST_CASE("init plan: mounts with runc's semantics", "[setup]") {
  InitPlan plan;
  auto spec = Spec();
  auto add = [&spec](const std::string& dest, const std::string& type, const std::string& source,
                     std::vector<std::string> options) {
    auto* m = spec.add_mounts();
    m->set_destination(dest);
    m->set_type(type);
    m->set_source(source);
    for (auto& o : options) m->add_options(o);
  };
  add("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"});
  add("/data", "bind", "/shared/dir", {"rbind", "ro", "nosuid", "rprivate"});
  add("/etc/hosts", "none", "/shared/file", {"bind"});
  add("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "size=65536k"});
  add("/../../escape/", "tmpfs", "tmpfs", {});
  add("/vol", "bind", "/shared/dir", {"rbind", "rro", "rnosuid", "rrelatime"});
  REQUIRE(Plan(spec, plan).ok());
  REQUIRE(plan.mounts.size() == 7);
  CHECK(plan.mounts[6].recursive_attr_set == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_RELATIME));
  CHECK(plan.mounts[6].recursive_attr_clr == MOUNT_ATTR__ATIME);
  CHECK(plan.mounts[6].remount_flags == 0);
  const MountStep& cg = plan.mounts[1];
  CHECK(cg.fstype == "cgroup2");  // the VM is cgroup v2 only, as runc on a v2 host
  CHECK(cg.flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY));
  const MountStep& data = plan.mounts[2];
  CHECK(data.bind);
  CHECK(data.flags == (MS_BIND | MS_REC));
  CHECK(data.remount_flags == (MS_RDONLY | MS_NOSUID));
  CHECK(data.propagation == std::vector<unsigned long>{MS_PRIVATE | MS_REC});
  CHECK(data.source_is_dir);
  CHECK_FALSE(plan.mounts[3].source_is_dir);
  CHECK(plan.mounts[3].remount_flags == 0);
  CHECK(plan.mounts[4].tmpfs_keep_mode);
  CHECK(plan.mounts[4].data == "size=65536k");
  CHECK(plan.mounts[5].relative == "../../escape");  // resolved in the root at mount time: stays inside
  CHECK(plan.mounts[0].no_symlink);
  CHECK(plan.root_propagation == (MS_SLAVE | MS_REC));
}

TEST_CASE("init plan: runc's /dev nodes and links, a spec device winning over a default", "[setup]") {
  InitPlan plan;
  auto spec = Spec(R"({"linux": {"devices": [
      {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 438, "uid": 5},
      {"path": "/dev/disk/vdb", "type": "b", "major": 254, "minor": 16, "fileMode": 384},
      {"path": "/dev/fifo", "type": "p"}, {"path": "/dev/ptmx", "type": "c", "major": 5, "minor": 2}]}})");
  REQUIRE(Plan(spec, plan).ok());
  CHECK(plan.setup_dev);
  std::vector<std::string> paths;
  for (const auto& d : plan.devices) paths.push_back(d.path);
  CHECK(paths == std::vector<std::string>{"/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/null",
                                          "/dev/disk/vdb", "/dev/fifo"});
  CHECK(plan.devices[0].mode == (S_IFCHR | 0666));
  CHECK(plan.devices[0].dev == makedev(1, 5));
  CHECK(plan.devices[5].uid == 5);
  CHECK(plan.devices[6].mode == (S_IFBLK | 0600));
  CHECK(plan.devices[6].relative == "dev/disk/vdb");
  CHECK(plan.devices[6].bind_source == "/dev/vdb");
  CHECK(plan.devices[7].mode == (S_IFIFO | 0666));
  std::vector<std::string> links;
  for (const auto& s : plan.symlinks) links.push_back(s.relative + "->" + s.target);
  CHECK(links == std::vector<std::string>{"dev/fd->/proc/self/fd", "dev/stdin->/proc/self/fd/0", "dev/stdout->/proc/self/fd/1",
                                          "dev/stderr->/proc/self/fd/2", "dev/ptmx->pts/ptmx"});
  // A bind mount on /dev brings its own nodes.
  auto* dev = spec.add_mounts();
  dev->set_destination("/dev");
  dev->set_type("bind");
  dev->set_source("/shared/dir");
  REQUIRE(Plan(spec, plan).ok());
  CHECK_FALSE(plan.setup_dev);
}

TEST_CASE("init plan: process, hostname, sysctls, paths", "[setup]") {
  InitPlan plan;
  auto spec = Spec(R"({"linux": {"sysctl": {"kernel.shmmax": "1000", "fs.mqueue.msg_max": "20"},
      "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"], "rootfsPropagation": "rshared"},
    "hostname": "h", "domainname": "d", "root": {"readonly": true}})");
  spec.mutable_process()->mutable_user()->set_uid(1000);
  spec.mutable_process()->mutable_user()->set_umask(027);
  spec.mutable_process()->set_cwd("/work/dir");
  REQUIRE(Plan(spec, plan).ok());
  CHECK(plan.set_hostname);
  CHECK(plan.domainname == "d");
  CHECK(plan.root_readonly);
  CHECK(plan.root_propagation == (MS_SHARED | MS_REC));
  CHECK(plan.cwd_relative == "work/dir");
  CHECK(plan.exec.umask == 027);
  CHECK(std::find(plan.exec.env_storage.begin(), plan.exec.env_storage.end(), "HOME=/home/user") != plan.exec.env_storage.end());
  REQUIRE(plan.sysctls.size() == 2);
  CHECK(plan.sysctls[0].path == "/proc/sys/fs/mqueue/msg_max");
  CHECK(plan.sysctls[1].path == "/proc/sys/kernel/shmmax");
  CHECK(plan.masked_paths == std::vector<std::string>{"/proc/kcore"});
  CHECK(DescribeSetupItem(plan, kStepSysctl, 1) == " kernel.shmmax");
  CHECK(DescribeSetupItem(plan, kStepMount, 0) == " /proc (mounts[0], proc from proc)");
  CHECK(DescribeSetupItem(plan, kStepRlimit, RLIMIT_NOFILE) == " RLIMIT_NOFILE");
}

TEST_CASE("init plan: hostile or unsupported specs are refused by the field at fault", "[setup]") {
  struct Row {
    std::string what, patch, field;
    absl::StatusCode code;
  };
  const Row rows[] = {
      {"unknown namespace type", R"({"linux": {"namespaces": [{"type": "mount"}, {"type": "time"}]}})", "linux.namespaces[1].type",
       absl::StatusCode::kInvalidArgument},
      {"no mount namespace", R"({"linux": {"namespaces": [{"type": "pid"}]}})", "own mount namespace",
       absl::StatusCode::kInvalidArgument},
      {"user namespace by path", R"({"linux": {"namespaces": [{"type": "mount"}, {"type": "user", "path": "/proc/1/ns/user"}]}})",
       "linux.namespaces[1].path", absl::StatusCode::kInvalidArgument},
      {"mount namespace by path", R"({"linux": {"namespaces": [{"type": "mount", "path": "/proc/1/ns/mnt"}]}})",
       "linux.namespaces[0].path", absl::StatusCode::kInvalidArgument},
      {"id maps without a user namespace", R"({"linux": {"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}})",
       "linux.uidMappings", absl::StatusCode::kInvalidArgument},
      {"a VM-wide sysctl", R"({"linux": {"sysctl": {"vm.overcommit_memory": "1"}}})", "vm.overcommit_memory",
       absl::StatusCode::kInvalidArgument},
      {"a net sysctl without a network namespace", R"({"linux": {"sysctl": {"net.ipv4.ip_forward": "1"}}})",
       "needs a network namespace", absl::StatusCode::kInvalidArgument},
      {"kernel.hostname as a sysctl", R"({"linux": {"sysctl": {"kernel.hostname": "x"}}})", "kernel.hostname",
       absl::StatusCode::kInvalidArgument},
      {"a sysctl climbing out of /proc/sys", R"({"linux": {"sysctl": {"kernel/../../../etc/passwd": "x"}}})", "not a sysctl name",
       absl::StatusCode::kInvalidArgument},
      {"unknown rootfs propagation", R"({"linux": {"rootfsPropagation": "sideways"}})", "linux.rootfsPropagation",
       absl::StatusCode::kInvalidArgument},
      {"hostname without a uts namespace", R"({"hostname": "h", "linux": {"namespaces": [{"type": "mount"}]}})", "hostname",
       absl::StatusCode::kInvalidArgument},
      {"a missing bind source", R"({"mounts": [{"destination": "/d", "type": "bind", "source": "/nope"}]})",
       "mounts[0] (/d): bind source /nope", absl::StatusCode::kNotFound},
      {"a relative bind source", R"({"mounts": [{"destination": "/d", "source": "rel", "options": ["rbind"]}]})", "mounts[0] (/d)",
       absl::StatusCode::kInvalidArgument},
      {"a mount over /proc/sys", R"({"mounts": [{"destination": "/proc/sys", "type": "tmpfs", "source": "t"}]})",
       "mounts[0] (/proc/sys)", absl::StatusCode::kInvalidArgument},
      {"/proc as something else than proc", R"({"mounts": [{"destination": "/proc", "type": "tmpfs", "source": "t"}]})",
       "mounts[0] (/proc)", absl::StatusCode::kInvalidArgument},
      {"tmpcopyup on a bind", R"({"mounts": [{"destination": "/t", "type": "bind", "source": "/shared/dir", "options": ["tmpcopyup"]}]})",
       "mounts[0] (/t): option tmpcopyup is for tmpfs", absl::StatusCode::kInvalidArgument},
      {"a mount without a type", R"({"mounts": [{"destination": "/t", "source": "t"}]})", "mounts[0] (/t)",
       absl::StatusCode::kInvalidArgument},
      {"a device of an unknown type", R"({"linux": {"devices": [{"path": "/dev/x", "type": "z", "major": 1, "minor": 1}]}})",
       "linux.devices[0].type", absl::StatusCode::kInvalidArgument},
      {"a device number out of range", R"({"linux": {"devices": [{"path": "/dev/x", "type": "c", "major": 5000, "minor": 1}]}})",
       "linux.devices[0]", absl::StatusCode::kInvalidArgument},
      {"a recursive option on a tmpfs", R"({"mounts": [{"destination": "/t", "type": "tmpfs", "source": "t", "options": ["rro"]}]})",
       "mounts[0] (/t): recursive options", absl::StatusCode::kInvalidArgument},
      {"an env entry without =", R"({"process": {"env": ["JUSTANAME"]}})", "process.env[0]", absl::StatusCode::kInvalidArgument},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    InitPlan plan;
    const absl::Status s = Plan(Spec(row.patch), plan);
    INFO(s);
    CHECK(s.code() == row.code);
    CHECK(std::string(s.message()).find(row.field) != std::string::npos);
  }
}
