// The shim's task service and the guest spec rewrite with hostile or out-of-order requests,
// before any VM is booted: every one fails by name and leaves nothing behind.

#include <filesystem>

#include "host-runtime/sandbox/guest_spec.h"
#include "host-runtime/shim/task_service.h"
#include "host-runtime/ttrpc/client.h"
#include "libkata/base/unix_socket.h"
#include "libkata/oci/spec.h"
#include "libkata/testing/test_support.h"

namespace task = containerd::task::v2;

TEST_CASE("task service: requests for no task, bad bundles, terminals and bad exec specs fail by name", "[shim]") {
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
  create.set_terminal(true);
  CHECK(service.Create(create).status().code() == absl::StatusCode::kFailedPrecondition);
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
  for (const char* method : {"ResizePty", "Update", "Stats", "Checkpoint", "Nope"}) {
    INFO(method);
    CHECK((*client)->Call("containerd.task.v2.Task", method, "").status().code() == absl::StatusCode::kUnimplemented);
  }
}

TEST_CASE("guest spec: root moved into the guest, host binds refused by name, hooks dropped", "[shim]") {
  auto spec = kata::oci::ParseSpecJson(R"({"ociVersion": "1.1.0", "root": {"path": "rootfs"},
    "process": {"args": ["true"], "cwd": "/"},
    "hooks": {"prestart": [{"path": "/usr/bin/host-hook"}]},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
               {"destination": "/dev/shm", "type": "tmpfs", "source": "shm"}]})", "spec");
  REQUIRE(spec.ok());
  auto guest = kata::runtime::GuestSpec(*spec, kata::runtime::GuestRootfsPath("c1"));
  REQUIRE(guest.ok());
  CHECK(guest->root().path() == "/run/kata-containers/c1/rootfs");
  CHECK_FALSE(guest->has_hooks());
  CHECK(guest->mounts_size() == 2);
  auto* bind = spec->add_mounts();
  bind->set_destination("/etc/hosts");
  bind->set_source("/etc/hosts");
  bind->add_options("rbind");
  auto refused = kata::runtime::GuestSpec(*spec, "/r");
  CHECK(refused.status().code() == absl::StatusCode::kUnimplemented);
  CHECK(std::string(refused.status().message()).find("/etc/hosts") != std::string::npos);
  spec->mutable_mounts()->RemoveLast();
  auto* odd = spec->add_mounts();
  odd->set_destination("/data");
  odd->set_type("nfs");
  odd->set_source("server:/export");
  CHECK(kata::runtime::GuestSpec(*spec, "/r").status().code() == absl::StatusCode::kUnimplemented);
}
