// The shim's task service and the guest spec rewrite with hostile or out-of-order requests,
// before any VM is booted: every one fails by name and leaves nothing behind.

#include <filesystem>

#include "host-runtime/sandbox/guest_spec.h"
#include "host-runtime/shim/pod_role.h"
#include "host-runtime/shim/task_metrics.h"
#include "host-runtime/shim/task_service.h"
#include "libkata/ttrpc/client.h"
#include "libkata/base/unix_socket.h"
#include "libkata/oci/spec.h"
#include "libkata/testing/test_support.h"

namespace task = containerd::task::v2;

TEST_CASE("task service: requests for no task, bad bundles and bad exec specs fail by name", "[shim]") {
  kata::testing::TempDir tmp;
  kata::config::Config config;
  config.runtime.state_dir = tmp.Sub("state");
  kata::shim::EventPublisher events("", "ns");  // nowhere to publish: must not matter
  kata::shim::TaskService service(config, events);

  task::StateRequest state;
  state.set_id("nope");
  CHECK(service.State(state).status().code() == absl::StatusCode::kNotFound);
  task::StartRequest start;
  start.set_id("nope");
  CHECK(service.Start(start).status().code() == absl::StatusCode::kNotFound);
  task::KillRequest kill;
  kill.set_id("nope");
  CHECK(service.Kill(kill).code() == absl::StatusCode::kNotFound);
  task::DeleteRequest del;
  del.set_id("nope");
  CHECK(service.Delete(del).status().code() == absl::StatusCode::kNotFound);
  task::ExecProcessRequest exec;
  exec.set_id("nope");
  exec.set_exec_id("e1");
  exec.mutable_spec()->set_value("{not json");
  CHECK(service.Exec(exec).code() == absl::StatusCode::kInvalidArgument);

  task::CreateTaskRequest create;
  create.set_id("c1");
  create.set_bundle(tmp.Sub("no-bundle"));
  auto no_bundle = service.Create(create);
  CHECK(no_bundle.status().code() == absl::StatusCode::kNotFound);
  CHECK(std::string(no_bundle.status().message()).find("no-bundle") != std::string::npos);
  task::ResizePtyRequest resize;
  resize.set_id("nope");
  CHECK(service.ResizePty(resize).code() == absl::StatusCode::kNotFound);
  task::UpdateTaskRequest update;
  update.set_id("nope");
  CHECK(service.Update(update).code() == absl::StatusCode::kNotFound);
  task::StatsRequest stats;
  stats.set_id("nope");
  CHECK(service.Stats(stats).status().code() == absl::StatusCode::kNotFound);
  // A failed Create leaves the shim as it was: the same id may be created again, no state made.
  CHECK(service.State([] { task::StateRequest r; r.set_id("c1"); return r; }()).status().code() == absl::StatusCode::kNotFound);
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("state/c1")));
}

TEST_CASE("task service over ttrpc: a malformed request is InvalidArgument, unknown methods Unimplemented", "[shim]") {
  kata::testing::TempDir tmp;
  kata::config::Config config;
  kata::shim::EventPublisher events("", "ns");
  kata::shim::TaskService service(config, events);
  kata::ttrpc::Server server;
  service.Register(server);
  auto listener = kata::ListenUnixSocket(tmp.Sub("shim.sock"));
  REQUIRE(listener.ok());
  REQUIRE(server.Start(std::move(*listener)).ok());
  auto client = kata::ttrpc::Client::Connect(tmp.Sub("shim.sock"));
  REQUIRE(client.ok());
  CHECK((*client)->Call("containerd.task.v2.Task", "State", "\xff\xff\xff garbage").status().code() ==
        absl::StatusCode::kInvalidArgument);
  for (const char* method : {"Checkpoint", "Nope"}) {
    INFO(method);
    CHECK((*client)->Call("containerd.task.v2.Task", method, "").status().code() == absl::StatusCode::kUnimplemented);
  }
  for (const char* method : {"ResizePty", "Update", "Stats"}) {  // served: no such task
    INFO(method);
    CHECK((*client)->Call("containerd.task.v2.Task", method, "").status().code() == absl::StatusCode::kNotFound);
  }
}

TEST_CASE("guest spec: root moved into the guest, host binds become shares, hooks left to the host", "[shim]") {
  auto spec = kata::oci::ParseSpecJson(R"({"ociVersion": "1.1.0", "root": {"path": "rootfs"},
    "process": {"args": ["true"], "cwd": "/"},
    "hooks": {"prestart": [{"path": "/usr/bin/host-hook"}]},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
               {"destination": "/etc/hosts", "type": "bind", "source": "/var/lib/c1/hosts", "options": ["rbind", "ro"]},
               {"destination": "/data", "source": "/srv/data", "options": ["bind", "rw"]},
               {"destination": "/dev/shm", "type": "tmpfs", "source": "shm"},
               {"destination": "/dev/fuse", "type": "bind", "source": "/dev/fuse", "options": ["rbind"]},
               {"destination": "/host-sys", "type": "bind", "source": "/sys/fs", "options": ["rbind", "ro"]},
               {"destination": "/devices", "type": "bind", "source": "/devices", "options": ["rbind"]}]})", "spec");
  REQUIRE(spec.ok());
  auto guest = kata::runtime::GuestSpec(*spec, kata::runtime::GuestRootfsPath("c1"), "c1", true);
  REQUIRE(guest.ok());
  CHECK(guest->spec.root().path() == "/run/kata-containers/c1/rootfs");
  CHECK_FALSE(guest->spec.has_hooks());
  REQUIRE(guest->spec.mounts_size() == 7);
  CHECK(guest->spec.mounts(0).source() == "proc");
  // The guest's own device node and kernel files, as Kata binds them; a mere /dev prefix is shared.
  CHECK(guest->spec.mounts(4).source() == "/dev/fuse");
  CHECK(guest->spec.mounts(5).source() == "/sys/fs");
  CHECK(guest->spec.mounts(6).source() == "/run/kata-containers/shared/containers/c1/mounts/6");
  CHECK(guest->spec.mounts(1).source() == "/run/kata-containers/shared/containers/c1/mounts/1");
  CHECK(guest->spec.mounts(2).source() == "/run/kata-containers/shared/containers/c1/mounts/2");
  CHECK(guest->spec.mounts(3).source() == "shm");
  REQUIRE(guest->binds.size() == 3);
  CHECK(guest->binds[0].source == "/var/lib/c1/hosts");
  CHECK(guest->binds[0].host_target == "c1/mounts/1");
  CHECK(guest->binds[0].readonly);
  CHECK(guest->binds[0].recursive);
  CHECK_FALSE(guest->binds[1].readonly);
  CHECK_FALSE(guest->binds[1].recursive);
  // No shared filesystem: refused by the mount's name before anything is made.
  auto refused = kata::runtime::GuestSpec(*spec, "/r", "c1", false);
  CHECK(refused.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(refused.status().message()).find("mounts[1] (/etc/hosts)") != std::string::npos);
  spec->mutable_mounts(2)->set_source("relative/path");
  auto relative = kata::runtime::GuestSpec(*spec, "/r", "c1", true);
  CHECK(relative.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(relative.status().message()).find("mounts[2] (/data)") != std::string::npos);
}

TEST_CASE("task metrics: the guest's cgroup statistics become containerd's cgroup v2 Metrics", "[shim]") {
  kata::agent::CgroupStats stats;
  stats.mutable_cpu_stats()->mutable_cpu_usage()->set_total_usage(2500000);
  stats.mutable_cpu_stats()->mutable_cpu_usage()->set_usage_in_usermode(2000000);
  stats.mutable_cpu_stats()->mutable_cpu_usage()->set_usage_in_kernelmode(500000);
  stats.mutable_cpu_stats()->mutable_throttling_data()->set_periods(10);
  stats.mutable_cpu_stats()->mutable_throttling_data()->set_throttled_periods(3);
  stats.mutable_cpu_stats()->mutable_throttling_data()->set_throttled_time(70000);
  auto* mem = stats.mutable_memory_stats();
  mem->mutable_usage()->set_usage(1048576);
  mem->mutable_usage()->set_limit(268435456);
  mem->mutable_swap_usage()->set_limit(4096);
  (*mem->mutable_stats())["anon"] = 4096;
  (*mem->mutable_stats())["pgfault"] = 77;
  (*mem->mutable_stats())["usage"] = 1;         // not a memory.stat key: must not override usage
  (*mem->mutable_stats())["zswap"] = 5;         // a key containerd does not know: dropped
  stats.mutable_pids_stats()->set_current(3);
  stats.mutable_pids_stats()->set_limit(64);

  const auto any = kata::shim::MetricsAny(stats);
  CHECK(any.type_url() == "io.containerd.cgroups.v2.Metrics");
  io::containerd::cgroups::v2::Metrics m;
  REQUIRE(m.ParseFromString(any.value()));
  CHECK(m.cpu().usage_usec() == 2500);
  CHECK(m.cpu().user_usec() == 2000);
  CHECK(m.cpu().system_usec() == 500);
  CHECK(m.cpu().nr_periods() == 10);
  CHECK(m.cpu().nr_throttled() == 3);
  CHECK(m.cpu().throttled_usec() == 70);
  CHECK(m.memory().usage() == 1048576);
  CHECK(m.memory().usage_limit() == 268435456);
  CHECK(m.memory().swap_limit() == 4096);
  CHECK(m.memory().anon() == 4096);
  CHECK(m.memory().pgfault() == 77);
  CHECK(m.pids().current() == 3);
  CHECK(m.pids().limit() == 64);
}

TEST_CASE("task metrics: Update's resources are the OCI LinuxResources as JSON, other types refused", "[shim]") {
  google::protobuf::Any any;
  any.set_type_url("types.containerd.io/opencontainers/runtime-spec/1/LinuxResources");
  any.set_value(R"({"memory": {"limit": 134217728}, "cpu": {"shares": 512}, "pids": {"limit": 20}})");
  auto r = kata::shim::LinuxResourcesFromAny(any);
  REQUIRE(r.ok());
  CHECK(r->memory().limit() == 134217728);
  CHECK(r->cpu().shares() == 512);
  CHECK(r->pids().limit() == 20);
  any.set_value("{broken");
  auto broken = kata::shim::LinuxResourcesFromAny(any);
  CHECK(broken.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(broken.status().message()).find("LinuxResources") != std::string::npos);
  any.set_type_url("types.containerd.io/opencontainers/runtime-spec/1/WindowsResources");
  auto windows = kata::shim::LinuxResourcesFromAny(any);
  CHECK(windows.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(windows.status().message()).find("WindowsResources") != std::string::npos);
}

TEST_CASE("pod role: CRI's annotations say which containers join a sandbox; malformed ones are refused", "[shim]") {
  auto role = [](const std::string& annotations) {
    auto spec = kata::oci::ParseSpecJson(R"({"annotations": )" + annotations + "}", "spec");
    REQUIRE(spec.ok());
    return kata::shim::PodRoleOf(*spec);
  };
  auto plain = role("{}");
  REQUIRE(plain.ok());
  CHECK_FALSE(plain->joins_sandbox);
  auto sandbox = role(R"({"io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-id": "pod1"})");
  REQUIRE(sandbox.ok());
  CHECK_FALSE(sandbox->joins_sandbox);
  auto member = role(R"({"io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": "pod1"})");
  REQUIRE(member.ok());
  CHECK(member->joins_sandbox);
  CHECK(member->sandbox_id == "pod1");
  auto crio = role(R"({"io.kubernetes.cri-o.ContainerType": "container", "io.kubernetes.cri-o.SandboxID": "pod2"})");
  REQUIRE(crio.ok());
  CHECK(crio->sandbox_id == "pod2");
  for (const char* bad : {R"({"io.kubernetes.cri.container-type": "container"})",
                          R"({"io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": "../../etc"})",
                          R"({"io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": ""})"}) {
    INFO(bad);
    auto refused = role(bad);
    CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(refused.status().message()).find("io.kubernetes.cri.sandbox-id") != std::string::npos);
  }
}

TEST_CASE("task service: a pod's container cannot boot a VM of its own, and leaves nothing", "[shim]") {
  kata::testing::TempDir tmp;
  kata::config::Config config;
  config.runtime.state_dir = tmp.Sub("state");
  kata::shim::EventPublisher events("", "ns");
  kata::shim::TaskService service(config, events);
  kata::testing::MakeDirs(tmp.Sub("bundle/rootfs"));
  kata::testing::WriteFile(tmp.Sub("bundle/config.json"), R"({"ociVersion": "1.1.0", "root": {"path": "rootfs"},
    "process": {"args": ["true"], "cwd": "/"},
    "annotations": {"io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": "pod1"}})");
  task::CreateTaskRequest create;
  create.set_id("c2");
  create.set_bundle(tmp.Sub("bundle"));
  auto refused = service.Create(create);
  CHECK(refused.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(refused.status().message()).find("sandbox pod1") != std::string::npos);
  task::StateRequest state;
  state.set_id("c2");
  CHECK(service.State(state).status().code() == absl::StatusCode::kNotFound);
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("state/c2")));
  CHECK(service.Shutdown(task::ShutdownRequest()).ok());  // nothing runs: the shim may go
  CHECK(service.shutdown_requested().HasBeenNotified());
}
