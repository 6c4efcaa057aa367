// The agent for real, as root: health, containers' lifecycle, exec and stdio, hostile
// requests, DestroySandbox (fixture: agent_fixture.h).

#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <future>

#include "guest-agent/tests/agent_fixture.h"

using namespace agent_test;  // NOLINT: the fixture is this test's vocabulary

TEST_CASE("agent: health, version and guest details", "[agent][root]") {
  KATA_REQUIRE_ROOT();
  kata::testing::TempDir tmp;
  AgentProcess a(tmp);
  agent::CheckRequest req;
  agent::HealthCheckResponse resp;
  REQUIRE(a.stub().Check(req, &resp).ok());
  CHECK(resp.status() == agent::HealthCheckResponse::SERVING);
  agent::VersionCheckResponse version;
  REQUIRE(a.stub().Version(req, &version).ok());
  CHECK_FALSE(version.agent_version().empty());
  agent::GuestDetailsRequest dreq;
  dreq.set_mem_block_size(true);
  agent::GuestDetailsResponse details;
  REQUIRE(a.stub().GetGuestDetails(dreq, &details).ok());
  CHECK_FALSE(details.kernel_release().empty());
  CHECK(details.agent_details().version() == version.agent_version());
  CHECK_FALSE(details.agent_details().init_daemon());
  CHECK(std::vector<std::string>(details.agent_details().storage_handlers().begin(),
                                 details.agent_details().storage_handlers().end()) ==
        std::vector<std::string>{"9p", "blk", "ephemeral", "erofs.multi-layer", "local"});
}

TEST_CASE("agent: a container prints, exits 3, and is removed", "[agent][root]") {
  KATA_REQUIRE_ROOT();
  Fixture f;
  const absl::Status created = f.Create("c1", {"sh", "-c", "echo hello; echo oops >&2; exit 3"});
  INFO(created.message() << "\n" << f.agent.log());
  REQUIRE(created.ok());
  REQUIRE(f.Start("c1").ok());
  CHECK(f.ReadAll("c1") == "hello\n");
  CHECK(f.ReadAll("c1", "", true) == "oops\n");
  CHECK(f.Wait("c1") == 3);
  CHECK(f.Wait("c1") == 3);  // the status stays for later waiters
  REQUIRE(f.Remove("c1").ok());
  CHECK(f.Remove("c1").code() == absl::StatusCode::kNotFound);
}

TEST_CASE("agent: the container sees its own rootfs, hostname and PID 1", "[agent][root]") {
  KATA_REQUIRE_ROOT();
  Fixture f;
  REQUIRE(f.Create("c1", {"sh", "-c", "echo pid=$$; hostname; cat /etc/marker; ls /; ls /work 2>&1; id -u"}).ok());
  REQUIRE(f.Start("c1").ok());
  const std::string out = f.ReadAll("c1");
  INFO(out);
  CHECK(out.find("pid=1\n") != std::string::npos);
  CHECK(out.find("kata-ctr\n") != std::string::npos);
  CHECK(out.find("inside the container\n") != std::string::npos);
  CHECK(out.find("No such file or directory") != std::string::npos);  // the host's /work is not there
  CHECK(out.find("busybox") == std::string::npos);                    // ls / lists dirs, not /bin's content
  CHECK(f.Wait("c1") == 0);
  REQUIRE(f.Remove("c1").ok());
}

TEST_CASE("agent: exec joins the container, stdin round trip, SIGTERM", "[agent][root]") {
  KATA_REQUIRE_ROOT();
  Fixture f;
  REQUIRE(f.Create("c1", {"sleep", "1000"}).ok());
  REQUIRE(f.Start("c1").ok());
  // ps in the same PID namespace sees the first process as PID 1.
  const absl::Status exec = f.Exec("c1", "ps", {"ps"});
  INFO(exec.message() << "\n" << f.agent.log());
  REQUIRE(exec.ok());
  const std::string ps = f.ReadAll("c1", "ps");
  INFO(ps);
  CHECK(ps.find("\n    1 0        sleep 1000") != std::string::npos);  // PID 1 is the first process
  CHECK(f.Wait("c1", "ps") == 0);
  // stdin round trip with cat.
  REQUIRE(f.Exec("c1", "cat", {"cat"}).ok());
  agent::WriteStreamRequest w;
  w.set_container_id("c1");
  w.set_exec_id("cat");
  w.set_data("ping\n");
  agent::WriteStreamResponse wr;
  REQUIRE(f.agent.stub().WriteStdin(w, &wr).ok());
  CHECK(wr.len() == 5);
  agent::CloseStdinRequest c;
  c.set_container_id("c1");
  c.set_exec_id("cat");
  google::protobuf::Empty e;
  REQUIRE(f.agent.stub().CloseStdin(c, &e).ok());
  CHECK(f.ReadAll("c1", "cat") == "ping\n");
  CHECK(f.Wait("c1", "cat") == 0);
  // SIGTERM to a sleeping exec: 128 + 15.
  REQUIRE(f.Exec("c1", "sleeper", {"sleep", "1000"}).ok());
  REQUIRE(f.Signal("c1", "sleeper", SIGTERM).ok());
  CHECK(f.Wait("c1", "sleeper") == 143);
  // A running container is not removed without a timeout; SIGKILL ends its init.
  CHECK(f.Remove("c1").code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(f.Signal("c1", "", SIGKILL).ok());
  CHECK(f.Wait("c1") == 137);
  REQUIRE(f.Remove("c1").ok());
  // The agent's own memory after a container ran.
  std::ifstream status("/proc/" + std::to_string(f.agent.pid()) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:")) std::printf("measure: kata-agent %s after one container\n", line.c_str());
  }
}

TEST_CASE("agent: hostile requests fail and leave nothing behind", "[agent][root]") {
  KATA_REQUIRE_ROOT();
  Fixture f;
  const auto before = kata::mount::ListMountsUnder(f.tmp.path())->size();
  struct Case {
    std::string name;
    std::function<absl::Status()> call;
    absl::StatusCode want;
  };
  auto create = [&](std::function<void(agent::CreateContainerRequest&)> mutate) {
    return [&f, mutate] {
      agent::CreateContainerRequest req;
      req.set_container_id("c2");
      *req.mutable_oci() = MakeSpec(f.RootfsOf("c2"), {"true"});
      *req.add_storages() = LocalRootfs(f.RootfsOf("c2"));
      mutate(req);
      google::protobuf::Empty e;
      return f.agent.stub().CreateContainer(req, &e);
    };
  };
  const std::vector<Case> cases = {
      {"container id ../x", create([](auto& r) { r.set_container_id("../x"); }), absl::StatusCode::kInvalidArgument},
      {"mount point outside", create([](auto& r) { r.mutable_storages(0)->set_mount_point("/etc/evil"); }),
       absl::StatusCode::kInvalidArgument},
      {"unknown driver", create([](auto& r) { r.mutable_storages(0)->set_driver("nfs"); }), absl::StatusCode::kInvalidArgument},
      {"malformed spec", create([](auto& r) { r.mutable_oci()->mutable_mounts(0)->set_destination("proc"); }),
       absl::StatusCode::kInvalidArgument},
      {"no spec", create([](auto& r) { r.clear_oci(); }), absl::StatusCode::kInvalidArgument},
      {"relative root", create([](auto& r) { r.mutable_oci()->mutable_root()->set_path("rootfs"); }),
       absl::StatusCode::kInvalidArgument},
      {"missing executable", [&] {
         auto s = f.Create("c3", {"/bin/nonexistent"});
         if (!s.ok()) return s;
         auto started = f.Start("c3");
         (void)f.Remove("c3", 5);
         return started;
       }, absl::StatusCode::kNotFound},
      {"exec in a missing container", [&] { return f.Exec("nope", "e1", {"true"}); }, absl::StatusCode::kNotFound},
      {"wait for a missing exec", [&] {
         agent::WaitProcessRequest req;
         req.set_container_id("nope");
         req.set_exec_id("e1");
         agent::WaitProcessResponse resp;
         return f.agent.stub().WaitProcess(req, &resp);
       }, absl::StatusCode::kNotFound},
      {"signal 0", [&] { return f.Signal("nope", "", 0); }, absl::StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    const absl::Status s = c.call();
    INFO(c.name << ": " << s.code() << " " << s.message());
    CHECK(s.code() == c.want);
    CHECK_FALSE(s.message().empty());
  }
  // A second CreateContainer with the same id.
  REQUIRE(f.Create("c1", {"sleep", "1000"}).ok());
  CHECK(f.Create("c1", {"true"}).code() == absl::StatusCode::kAlreadyExists);
  REQUIRE(f.Remove("c1", 5).ok());  // created, never started: killed and removed
  CHECK(kata::mount::ListMountsUnder(f.tmp.path())->size() == before);
  // Only the rootfs the test made is left in their directories.
  for (const char* id : {"/c2", "/c3"}) {
    std::vector<std::string> left;
    for (const auto& e : std::filesystem::directory_iterator(f.agent.sandbox_dir() + id)) left.push_back(e.path().filename());
    CHECK(left == std::vector<std::string>{"rootfs"});
  }
}

// A command not in the image is the commonest failure a user meets (kubelet shows it as the
// container's StartError); the error names the command, as runc's does, for the container's
// process and for an exec.
TEST_CASE("agent: a command not found is NotFound naming the command, at start and at exec", "[agent][root]") {
  KATA_REQUIRE_ROOT();
  Fixture f;
  REQUIRE(f.Create("c1", {"/bin/no-such-command", "arg"}).ok());
  const absl::Status started = f.Start("c1");
  INFO(started.message());
  CHECK(started.code() == absl::StatusCode::kNotFound);
  CHECK(std::string(started.message()).find("/bin/no-such-command") != std::string::npos);
  CHECK(f.Remove("c1", 5).ok());

  REQUIRE(f.Create("c2", {"/bin/sleep", "100"}).ok());
  REQUIRE(f.Start("c2").ok());
  const absl::Status exec = f.Exec("c2", "e1", {"no-such-tool"});
  INFO(exec.message());
  CHECK(exec.code() == absl::StatusCode::kNotFound);
  CHECK(std::string(exec.message()).find("no-such-tool") != std::string::npos);
  (void)f.Signal("c2", "", 9);
  CHECK(f.Remove("c2", 5).ok());
}

TEST_CASE("agent: DestroySandbox with running containers leaves nothing", "[agent][root]") {
  KATA_REQUIRE_ROOT();
  Fixture f;
  // Sleep lengths unique to this test process, so another test run's sleeps are not ours.
  const std::string base = std::to_string(1000000 + ::getpid() * 10);
  const std::string m1 = base + "1", m2 = base + "2", m3 = base + "3", m4 = base + "4";
  const std::string rootfs2 = f.agent.sandbox_dir() + "/c2/rootfs";
  MakeBusyboxRootfs(rootfs2);
  REQUIRE(f.Create("c1", {"sleep", m1}).ok());
  REQUIRE(f.Create("c2", {"sleep", m2}, rootfs2).ok());
  REQUIRE(f.Start("c1").ok());
  REQUIRE(f.Start("c2").ok());
  REQUIRE(f.Exec("c1", "e1", {"sleep", m3}).ok());
  agent::Storage shm;
  shm.set_driver("ephemeral");
  shm.set_fstype("tmpfs");
  shm.set_mount_point(f.agent.sandbox_dir() + "/shared/shm");
  {
    agent::CreateContainerRequest req;
    req.set_container_id("c3");
    *req.mutable_oci() = MakeSpec(f.RootfsOf("c3"), {"sleep", m4});
    *req.add_storages() = shm;
    google::protobuf::Empty e;
    REQUIRE(f.agent.stub().CreateContainer(req, &e).ok());
  }
  CHECK(*kata::mount::IsMountPoint(f.agent.sandbox_dir() + "/shared/shm"));
  agent::DestroySandboxRequest req;
  google::protobuf::Empty e;
  REQUIRE(f.agent.stub().DestroySandbox(req, &e).ok());
  // No process of ours is left.
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string cmdline = kata::testing::ReadFile(entry.path().string() + "/cmdline");
    for (const std::string& marker : {m1, m2, m3, m4}) {
      INFO(entry.path() << ": " << cmdline);
      CHECK(cmdline.find(std::string("sleep") + '\0' + marker) == std::string::npos);
    }
  }
  CHECK(kata::mount::ListMountsUnder(f.tmp.path())->empty());
  CHECK_FALSE(std::filesystem::exists(f.agent.sandbox_dir() + "/shared"));
}

TEST_CASE("agent: DestroySandbox while a container is being created", "[agent][root]") {
  KATA_REQUIRE_ROOT();
  Fixture f;
  // A block storage whose device never comes: CreateContainer waits (the agent's hotplug
  // timeout is 1s here) while DestroySandbox runs; the agent must survive both.
  auto pending = std::async(std::launch::async, [&] {
    agent::CreateContainerRequest req;
    req.set_container_id("slow");
    *req.mutable_oci() = MakeSpec(f.RootfsOf("slow"), {"true"});
    agent::Storage* s = req.add_storages();
    s->set_driver("blk");
    s->set_source("/dev/loop1048000");
    s->set_fstype("ext4");
    s->set_mount_point(f.agent.sandbox_dir() + "/slow/data");
    google::protobuf::Empty e;
    return f.agent.stub().CreateContainer(req, &e);
  });
  ::usleep(300 * 1000);
  agent::DestroySandboxRequest req;
  google::protobuf::Empty e;
  REQUIRE(f.agent.stub().DestroySandbox(req, &e).ok());
  const absl::Status created = pending.get();
  CHECK(created.code() == absl::StatusCode::kDeadlineExceeded);
  agent::CheckRequest check;
  agent::HealthCheckResponse health;
  CHECK(f.agent.stub().Check(check, &health).ok());  // still serving
  CHECK_FALSE(std::filesystem::exists(f.agent.sandbox_dir() + "/slow/data"));
}

TEST_CASE("agent: stdin of an exited process is an error, not the agent's death; containers do not ignore SIGPIPE",
          "[agent][root]") {
  KATA_REQUIRE_ROOT();
  Fixture f;
  REQUIRE(f.Create("c1", {"cat", "/proc/self/status"}).ok());  // no shell: busybox sh ignores SIGQUIT
  REQUIRE(f.Start("c1").ok());
  // The agent ignores SIGPIPE; its container processes must not inherit that.
  const std::string status = f.ReadAll("c1");
  INFO(status);
  CHECK(status.find("\nSigIgn:\t0000000000000000\n") != std::string::npos);
  CHECK(f.Wait("c1") == 0);
  agent::WriteStreamRequest w;
  w.set_container_id("c1");
  w.set_data("nobody reads this\n");
  agent::WriteStreamResponse wr;
  const absl::Status written = f.agent.stub().WriteStdin(w, &wr);
  CHECK_FALSE(written.ok());
  CHECK(written.code() != absl::StatusCode::kUnavailable);  // answered by a living agent
  agent::CheckRequest check;
  agent::HealthCheckResponse health;
  CHECK(f.agent.stub().Check(check, &health).ok());
  REQUIRE(f.Remove("c1").ok());
}

TEST_CASE("agent: a read the client gave up on does not take the output that comes later", "[agent][root]") {
  KATA_REQUIRE_ROOT();
  Fixture f;
  REQUIRE(f.Create("c1", {"sh", "-c", "sleep 1; echo late"}).ok());
  REQUIRE(f.Start("c1").ok());
  // Several abandoned reads: each would otherwise race the live one for the output.
  for (int i = 0; i < 4; ++i) {
    agent::ReadStreamRequest r;
    r.set_container_id("c1");
    r.set_len(4096);
    agent::ReadStreamResponse resp;
    CHECK(f.agent.stub().ReadStdout(r, &resp, absl::Milliseconds(100)).code() == absl::StatusCode::kDeadlineExceeded);
  }
  CHECK(f.ReadAll("c1") == "late\n");  // not swallowed by an abandoned read
  CHECK(f.Wait("c1") == 0);
  REQUIRE(f.Remove("c1").ok());
}

TEST_CASE("agent: served under Kata's ttrpc names only; unknown and unimplemented methods say so", "[agent][root]") {
  KATA_REQUIRE_ROOT();
  kata::testing::TempDir tmp;
  AgentProcess a(tmp);
  agent::GuestDetailsRequest details_req;
  const std::string payload = details_req.SerializeAsString();
  CHECK(a.client().Call("grpc.AgentService", "GetGuestDetails", payload).ok());
  for (const char* service : {"kata.agent.AgentService", "AgentService", "grpc.AgentServic"}) {
    INFO(service);
    CHECK(a.client().Call(service, "GetGuestDetails", payload).status().code() == absl::StatusCode::kUnimplemented);
  }
  // A Kata method this agent does not have; a network one it has, refusing an empty request.
  CHECK(a.client().Call("grpc.AgentService", "GetOOMEvent", "").status().code() == absl::StatusCode::kUnimplemented);
  const auto update = a.client().Call("grpc.AgentService", "UpdateInterface", "");
  CHECK(update.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(update.status().message()).find("interface.hwAddr") != std::string::npos);
  // OnlineCPUMem, asked for nothing (this agent runs on the host here: its CPUs and memory
  // are the host's), then for more CPUs than the kernel could ever have.
  agent::OnlineCPUMemRequest online_req;
  online_req.set_cpu_only(true);
  CHECK(a.client().Call("grpc.AgentService", "OnlineCPUMem", online_req.SerializeAsString()).ok());
  online_req.set_nb_cpus(100000);
  const auto online = a.client().Call("grpc.AgentService", "OnlineCPUMem", online_req.SerializeAsString());
  CHECK(online.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(online.status().message()).find("nb_cpus 100000") != std::string::npos);
  // Bytes that are no CreateContainerRequest: refused, naming the method; nothing created.
  const auto garbled = a.client().Call("grpc.AgentService", "CreateContainer", std::string("\x0a\xff\xff", 3));
  CHECK(garbled.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(garbled.status().message()).find("grpc.AgentService/CreateContainer") != std::string::npos);
  agent::CheckRequest check;
  agent::HealthCheckResponse health;
  CHECK(a.client().Call("grpc.Health", "Check", check.SerializeAsString()).ok());
}

TEST_CASE("agent: a read whose client went away is cancelled and takes no output", "[agent][root]") {
  KATA_REQUIRE_ROOT();
  Fixture f;
  REQUIRE(f.Create("c1", {"sh", "-c", "sleep 1; echo late"}).ok());
  REQUIRE(f.Start("c1").ok());
  auto other = kata::ttrpc::Client::Connect(f.agent.socket());
  REQUIRE(other.ok());
  std::shared_ptr<kata::ttrpc::Client> leaving = std::move(*other);
  auto abandoned = std::async(std::launch::async, [&] {
    agent::ReadStreamRequest r;
    r.set_container_id("c1");
    r.set_len(4096);
    agent::ReadStreamResponse resp;
    return kata::agent_api::AgentStub(leaving).ReadStdout(r, &resp);  // no timeout: only leaving ends it
  });
  ::usleep(200 * 1000);
  leaving->Close();
  CHECK(abandoned.get().code() == absl::StatusCode::kUnavailable);
  CHECK(f.ReadAll("c1") == "late\n");  // the agent gave up that read: the output is still there
  CHECK(f.Wait("c1") == 0);
  REQUIRE(f.Remove("c1").ok());
}
