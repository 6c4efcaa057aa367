// The agent for real, as root: kata-agent runs on the host in test mode (unix socket, a
// sandbox dir under a temp dir, not PID 1) and is driven through the generated gRPC client.
// Containers run busybox-static in real namespaces.

#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>

#include <grpcpp/grpcpp.h>

#include "libkata/mount/mountinfo.h"
#include "libkata/oci/spec.h"
#include "libkata/testing/test_support.h"
#include "protocols/agent.grpc.pb.h"
#include "protocols/health.grpc.pb.h"

using kata::testing::MakeDirs;
using kata::testing::WriteFile;
namespace agent = kata::agent;

namespace {

const char kAgentBin[] = KATA_AGENT_BIN;

// A kata-agent process serving a sandbox under a temp dir; killed when it goes.
class AgentProcess {
 public:
  explicit AgentProcess(const kata::testing::TempDir& tmp)
      : socket_(tmp.Sub("agent.sock")), sandbox_dir_(tmp.Sub("sandbox")), log_(tmp.Sub("agent.log")),
        daemon_({kAgentBin, "--listen", "unix:" + socket_, "--sandbox-dir", sandbox_dir_, "--log-level", "debug",
                 "--hotplug-timeout", "1s"},
                log_) {
    daemon_.WaitForPath(socket_);
    channel_ = grpc::CreateChannel("unix:" + socket_, grpc::InsecureChannelCredentials());
    stub_ = agent::AgentService::NewStub(channel_);
    health_ = agent::Health::NewStub(channel_);
  }

  agent::AgentService::Stub& stub() { return *stub_; }
  agent::Health::Stub& health() { return *health_; }
  const std::string& sandbox_dir() const { return sandbox_dir_; }
  pid_t pid() const { return daemon_.pid(); }
  std::string log() const { return kata::testing::ReadFile(log_); }

 private:
  std::string socket_, sandbox_dir_, log_;
  kata::testing::Daemon daemon_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<agent::AgentService::Stub> stub_;
  std::unique_ptr<agent::Health::Stub> health_;
};

// A busybox-static rootfs at `dir` with a file only the container has.
void MakeBusyboxRootfs(const std::string& dir) {
  kata::testing::MakeBusyboxRootfs(dir);
  WriteFile(dir + "/etc/marker", "inside the container\n");
}

agent::Storage LocalRootfs(const std::string& rootfs) {
  agent::Storage s;
  s.set_driver("local");
  s.set_mount_point(rootfs);
  s.add_options("mode=0755");
  return s;
}

kata::oci::Spec MakeSpec(const std::string& rootfs, const std::vector<std::string>& args) {
  auto spec = kata::oci::ParseSpecJson(R"({
    "ociVersion": "1.1.0",
    "root": {"path": ")" + rootfs + R"("},
    "hostname": "kata-ctr",
    "process": {"cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0},
      "capabilities": {"bounding": ["CAP_KILL", "CAP_SETUID", "CAP_SETGID"], "effective": ["CAP_KILL"],
                       "permitted": ["CAP_KILL"]},
      "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}], "noNewPrivileges": true},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
               {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "size=1m"]},
               {"destination": "/dev/null", "type": "bind", "source": "/dev/null", "options": ["rbind"]}],
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}],
              "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"]}
  })", "test spec");
  REQUIRE(spec.ok());
  for (const auto& a : args) spec->mutable_process()->add_args(a);
  return *spec;
}

struct Fixture {
  kata::testing::TempDir tmp;
  AgentProcess agent{tmp};
  std::string rootfs = agent.sandbox_dir() + "/c1/rootfs";

  Fixture() {
    MakeBusyboxRootfs(rootfs);
    agent::CreateSandboxRequest req;
    req.set_hostname("sandbox");
    req.set_sandbox_id("sb1");
    google::protobuf::Empty e;
    grpc::ClientContext ctx;
    const grpc::Status s = agent.stub().CreateSandbox(&ctx, req, &e);
    INFO(s.error_message());
    REQUIRE(s.ok());
  }

  grpc::Status Create(const std::string& id, const std::vector<std::string>& args, std::string root = "") {
    if (root.empty()) root = rootfs;
    agent::CreateContainerRequest req;
    req.set_container_id(id);
    *req.mutable_oci() = MakeSpec(root, args);
    *req.add_storages() = LocalRootfs(root);
    google::protobuf::Empty e;
    grpc::ClientContext ctx;
    return agent.stub().CreateContainer(&ctx, req, &e);
  }
  grpc::Status Start(const std::string& id) {
    agent::StartContainerRequest req;
    req.set_container_id(id);
    google::protobuf::Empty e;
    grpc::ClientContext ctx;
    const grpc::Status s = agent.stub().StartContainer(&ctx, req, &e);
    if (!s.ok()) UNSCOPED_INFO("StartContainer " << id << ": " << s.error_message());
    return s;
  }
  grpc::Status Exec(const std::string& id, const std::string& exec_id, const std::vector<std::string>& args) {
    agent::ExecProcessRequest req;
    req.set_container_id(id);
    req.set_exec_id(exec_id);
    *req.mutable_process() = MakeSpec(rootfs, args).process();
    google::protobuf::Empty e;
    grpc::ClientContext ctx;
    return agent.stub().ExecProcess(&ctx, req, &e);
  }
  int Wait(const std::string& id, const std::string& exec_id = "") {
    agent::WaitProcessRequest req;
    req.set_container_id(id);
    req.set_exec_id(exec_id);
    agent::WaitProcessResponse resp;
    grpc::ClientContext ctx;
    const grpc::Status s = agent.stub().WaitProcess(&ctx, req, &resp);
    INFO(s.error_message());
    REQUIRE(s.ok());
    return resp.status();
  }
  grpc::Status Signal(const std::string& id, const std::string& exec_id, int sig) {
    agent::SignalProcessRequest req;
    req.set_container_id(id);
    req.set_exec_id(exec_id);
    req.set_signal(static_cast<uint32_t>(sig));
    google::protobuf::Empty e;
    grpc::ClientContext ctx;
    return agent.stub().SignalProcess(&ctx, req, &e);
  }
  // Everything the process writes to stdout, until EOF.
  std::string ReadAll(const std::string& id, const std::string& exec_id = "", bool stderr_stream = false) {
    std::string out;
    for (int i = 0; i < 10000; ++i) {
      agent::ReadStreamRequest req;
      req.set_container_id(id);
      req.set_exec_id(exec_id);
      req.set_len(4096);
      agent::ReadStreamResponse resp;
      grpc::ClientContext ctx;
      const grpc::Status s = stderr_stream ? agent.stub().ReadStderr(&ctx, req, &resp) : agent.stub().ReadStdout(&ctx, req, &resp);
      if (s.error_code() == grpc::StatusCode::OUT_OF_RANGE) return out;  // EOF
      INFO(s.error_message());
      REQUIRE(s.ok());
      out += resp.data();
    }
    FAIL("no EOF");
    return out;
  }
  grpc::Status Remove(const std::string& id, uint32_t timeout = 0) {
    agent::RemoveContainerRequest req;
    req.set_container_id(id);
    req.set_timeout(timeout);
    google::protobuf::Empty e;
    grpc::ClientContext ctx;
    return agent.stub().RemoveContainer(&ctx, req, &e);
  }
};

}  // namespace

TEST_CASE("agent: health, version and guest details", "[agent][root]") {
  KATA_REQUIRE_ROOT();
  kata::testing::TempDir tmp;
  AgentProcess a(tmp);
  agent::CheckRequest req;
  agent::HealthCheckResponse resp;
  grpc::ClientContext ctx;
  REQUIRE(a.health().Check(&ctx, req, &resp).ok());
  CHECK(resp.status() == agent::HealthCheckResponse::SERVING);
  agent::VersionCheckResponse version;
  grpc::ClientContext ctx2;
  REQUIRE(a.health().Version(&ctx2, req, &version).ok());
  CHECK_FALSE(version.agent_version().empty());
  agent::GuestDetailsRequest dreq;
  dreq.set_mem_block_size(true);
  agent::GuestDetailsResponse details;
  grpc::ClientContext ctx3;
  REQUIRE(a.stub().GetGuestDetails(&ctx3, dreq, &details).ok());
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
  const grpc::Status created = f.Create("c1", {"sh", "-c", "echo hello; echo oops >&2; exit 3"});
  INFO(created.error_message() << "\n" << f.agent.log());
  REQUIRE(created.ok());
  REQUIRE(f.Start("c1").ok());
  CHECK(f.ReadAll("c1") == "hello\n");
  CHECK(f.ReadAll("c1", "", true) == "oops\n");
  CHECK(f.Wait("c1") == 3);
  CHECK(f.Wait("c1") == 3);  // the status stays for later waiters
  REQUIRE(f.Remove("c1").ok());
  CHECK(f.Remove("c1").error_code() == grpc::StatusCode::NOT_FOUND);
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

TEST_CASE("agent: linux.devices appear in the container at their paths", "[agent][root]") {
  KATA_REQUIRE_ROOT();
  Fixture f;
  auto request = [&](const std::string& id, int64_t minor) {
    agent::CreateContainerRequest req;
    req.set_container_id(id);
    auto spec = MakeSpec(f.rootfs, {"sh", "-c", "head -c 4 /dev/myzero | od -An -tx1; ls -l /dev/myzero"});
    auto* dev = spec.mutable_linux()->add_devices();
    dev->set_path("/dev/myzero");
    dev->set_type("c");
    dev->set_major(1);
    dev->set_minor(minor);
    *req.mutable_oci() = spec;
    *req.add_storages() = LocalRootfs(f.rootfs);
    return req;
  };
  google::protobuf::Empty e;
  grpc::ClientContext bad_ctx;
  const grpc::Status missing = f.agent.stub().CreateContainer(&bad_ctx, request("c0", 250), &e);
  CHECK(missing.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(missing.error_message().find("/dev/myzero") != std::string::npos);

  grpc::ClientContext ctx;
  const grpc::Status created = f.agent.stub().CreateContainer(&ctx, request("c1", 5), &e);  // 1:5 is /dev/zero
  INFO(created.error_message() << "\n" << f.agent.log());
  REQUIRE(created.ok());
  REQUIRE(f.Start("c1").ok());
  const std::string out = f.ReadAll("c1");
  INFO(out);
  CHECK(out.find(" 00 00 00 00\n") != std::string::npos);
  CHECK(out.find("\ncrw") != std::string::npos);
  CHECK(out.find("1,   5") != std::string::npos);
  CHECK(f.Wait("c1") == 0);
  REQUIRE(f.Remove("c1").ok());
}

TEST_CASE("agent: exec joins the container, stdin round trip, SIGTERM", "[agent][root]") {
  KATA_REQUIRE_ROOT();
  Fixture f;
  REQUIRE(f.Create("c1", {"sleep", "1000"}).ok());
  REQUIRE(f.Start("c1").ok());
  // ps in the same PID namespace sees the first process as PID 1.
  const grpc::Status exec = f.Exec("c1", "ps", {"ps"});
  INFO(exec.error_message() << "\n" << f.agent.log());
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
  grpc::ClientContext wctx;
  REQUIRE(f.agent.stub().WriteStdin(&wctx, w, &wr).ok());
  CHECK(wr.len() == 5);
  agent::CloseStdinRequest c;
  c.set_container_id("c1");
  c.set_exec_id("cat");
  google::protobuf::Empty e;
  grpc::ClientContext cctx;
  REQUIRE(f.agent.stub().CloseStdin(&cctx, c, &e).ok());
  CHECK(f.ReadAll("c1", "cat") == "ping\n");
  CHECK(f.Wait("c1", "cat") == 0);
  // SIGTERM to a sleeping exec: 128 + 15.
  REQUIRE(f.Exec("c1", "sleeper", {"sleep", "1000"}).ok());
  REQUIRE(f.Signal("c1", "sleeper", SIGTERM).ok());
  CHECK(f.Wait("c1", "sleeper") == 143);
  // A running container is not removed without a timeout; SIGKILL ends its init.
  CHECK(f.Remove("c1").error_code() == grpc::StatusCode::FAILED_PRECONDITION);
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
    std::function<grpc::Status()> call;
    grpc::StatusCode want;
  };
  auto create = [&](std::function<void(agent::CreateContainerRequest&)> mutate) {
    return [&f, mutate] {
      agent::CreateContainerRequest req;
      req.set_container_id("c2");
      *req.mutable_oci() = MakeSpec(f.rootfs, {"true"});
      *req.add_storages() = LocalRootfs(f.rootfs);
      mutate(req);
      google::protobuf::Empty e;
      grpc::ClientContext ctx;
      return f.agent.stub().CreateContainer(&ctx, req, &e);
    };
  };
  const std::vector<Case> cases = {
      {"container id ../x", create([](auto& r) { r.set_container_id("../x"); }), grpc::StatusCode::INVALID_ARGUMENT},
      {"mount point outside", create([](auto& r) { r.mutable_storages(0)->set_mount_point("/etc/evil"); }),
       grpc::StatusCode::INVALID_ARGUMENT},
      {"unknown driver", create([](auto& r) { r.mutable_storages(0)->set_driver("nfs"); }), grpc::StatusCode::INVALID_ARGUMENT},
      {"malformed spec", create([](auto& r) { r.mutable_oci()->mutable_mounts(0)->set_destination("proc"); }),
       grpc::StatusCode::INVALID_ARGUMENT},
      {"no spec", create([](auto& r) { r.clear_oci(); }), grpc::StatusCode::INVALID_ARGUMENT},
      {"relative root", create([](auto& r) { r.mutable_oci()->mutable_root()->set_path("rootfs"); }),
       grpc::StatusCode::INVALID_ARGUMENT},
      {"missing executable", [&] {
         auto s = f.Create("c3", {"/bin/nonexistent"});
         if (!s.ok()) return s;
         auto started = f.Start("c3");
         (void)f.Remove("c3", 5);
         return started;
       }, grpc::StatusCode::NOT_FOUND},
      {"exec in a missing container", [&] { return f.Exec("nope", "e1", {"true"}); }, grpc::StatusCode::NOT_FOUND},
      {"wait for a missing exec", [&] {
         agent::WaitProcessRequest req;
         req.set_container_id("nope");
         req.set_exec_id("e1");
         agent::WaitProcessResponse resp;
         grpc::ClientContext ctx;
         return f.agent.stub().WaitProcess(&ctx, req, &resp);
       }, grpc::StatusCode::NOT_FOUND},
      {"signal 0", [&] { return f.Signal("nope", "", 0); }, grpc::StatusCode::INVALID_ARGUMENT},
  };
  for (const Case& c : cases) {
    const grpc::Status s = c.call();
    INFO(c.name << ": " << s.error_code() << " " << s.error_message());
    CHECK(s.error_code() == c.want);
    CHECK_FALSE(s.error_message().empty());
  }
  // A second CreateContainer with the same id.
  REQUIRE(f.Create("c1", {"sleep", "1000"}).ok());
  CHECK(f.Create("c1", {"true"}).error_code() == grpc::StatusCode::ALREADY_EXISTS);
  REQUIRE(f.Remove("c1", 5).ok());  // created, never started: killed and removed
  CHECK(kata::mount::ListMountsUnder(f.tmp.path())->size() == before);
  CHECK_FALSE(std::filesystem::exists(f.agent.sandbox_dir() + "/c2"));
  CHECK_FALSE(std::filesystem::exists(f.agent.sandbox_dir() + "/c3"));
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
    *req.mutable_oci() = MakeSpec(f.rootfs, {"sleep", m4});
    *req.add_storages() = shm;
    google::protobuf::Empty e;
    grpc::ClientContext ctx;
    REQUIRE(f.agent.stub().CreateContainer(&ctx, req, &e).ok());
  }
  CHECK(*kata::mount::IsMountPoint(f.agent.sandbox_dir() + "/shared/shm"));
  agent::DestroySandboxRequest req;
  google::protobuf::Empty e;
  grpc::ClientContext ctx;
  REQUIRE(f.agent.stub().DestroySandbox(&ctx, req, &e).ok());
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
    *req.mutable_oci() = MakeSpec(f.rootfs, {"true"});
    agent::Storage* s = req.add_storages();
    s->set_driver("blk");
    s->set_source("/dev/loop1048000");
    s->set_fstype("ext4");
    s->set_mount_point(f.agent.sandbox_dir() + "/slow/data");
    google::protobuf::Empty e;
    grpc::ClientContext ctx;
    return f.agent.stub().CreateContainer(&ctx, req, &e);
  });
  ::usleep(300 * 1000);
  agent::DestroySandboxRequest req;
  google::protobuf::Empty e;
  grpc::ClientContext ctx;
  REQUIRE(f.agent.stub().DestroySandbox(&ctx, req, &e).ok());
  const grpc::Status created = pending.get();
  CHECK(created.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  agent::CheckRequest check;
  agent::HealthCheckResponse health;
  grpc::ClientContext hctx;
  CHECK(f.agent.health().Check(&hctx, check, &health).ok());  // still serving
  CHECK_FALSE(std::filesystem::exists(f.agent.sandbox_dir() + "/slow"));
}

TEST_CASE("agent: a user namespace maps the container's root to an unprivileged host uid", "[agent][root]") {
  KATA_REQUIRE_ROOT();
  Fixture f;
  auto request = [&](bool with_maps) {
    agent::CreateContainerRequest req;
    req.set_container_id(with_maps ? "u1" : "u2");
    auto spec = MakeSpec(f.rootfs, {"sh", "-c", "id -u; cat /proc/self/uid_map; echo $$; sleep 1000"});
    spec.mutable_linux()->add_namespaces()->set_type("user");
    if (with_maps) {
      for (auto* maps : {spec.mutable_linux()->mutable_uid_mappings(), spec.mutable_linux()->mutable_gid_mappings()}) {
        auto* m = maps->Add();
        m->set_container_id(0);
        m->set_host_id(100000);
        m->set_size(65536);
      }
    }
    *req.mutable_oci() = spec;
    *req.add_storages() = LocalRootfs(f.rootfs);
    return req;
  };
  google::protobuf::Empty e;
  grpc::ClientContext bad_ctx;
  const grpc::Status unmapped = f.agent.stub().CreateContainer(&bad_ctx, request(false), &e);
  CHECK(unmapped.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(unmapped.error_message().find("uidMappings") != std::string::npos);

  grpc::ClientContext ctx;
  const grpc::Status created = f.agent.stub().CreateContainer(&ctx, request(true), &e);
  INFO(created.error_message() << "\n" << f.agent.log());
  REQUIRE(created.ok());
  REQUIRE(f.Start("u1").ok());
  // Read until the three lines are there (the process then sleeps).
  std::string out;
  while (std::count(out.begin(), out.end(), '\n') < 3) {
    agent::ReadStreamRequest r;
    r.set_container_id("u1");
    r.set_len(1024);
    agent::ReadStreamResponse resp;
    grpc::ClientContext rctx;
    REQUIRE(f.agent.stub().ReadStdout(&rctx, r, &resp).ok());
    out += resp.data();
  }
  INFO(out);
  CHECK(out.rfind("0\n", 0) == 0);  // root inside
  CHECK(out.find("100000") != std::string::npos);
  // Outside, the same process runs as host uid 100000: find it among the agent's children.
  bool seen = false;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string cmdline = kata::testing::ReadFile(entry.path().string() + "/cmdline");
    if (cmdline.find("sleep") == std::string::npos || cmdline.find("1000") == std::string::npos) continue;
    const std::string status = kata::testing::ReadFile(entry.path().string() + "/status");
    if (status.find("Uid:\t100000\t100000\t100000\t100000") != std::string::npos) seen = true;
  }
  CHECK(seen);
  // An exec joins the user namespace too.
  const grpc::Status exec = f.Exec("u1", "e1", {"id", "-u"});
  INFO(exec.error_message());
  REQUIRE(exec.ok());
  CHECK(f.ReadAll("u1", "e1") == "0\n");
  REQUIRE(f.Remove("u1", 5).ok());
}
