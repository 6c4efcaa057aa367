#pragma once

// What the agent API tests share: a real kata-agent on the host in test mode (unix socket, a
// sandbox dir under a temp dir, not PID 1) driven through the generated gRPC client, and a
// fixture with one sandbox whose containers run busybox-static in real namespaces.

#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>

#include <grpcpp/grpcpp.h>

#include "libkata/mount/mountinfo.h"
#include "libkata/oci/spec.h"
#include "libkata/testing/test_support.h"
#include "protocols/agent.grpc.pb.h"
#include "protocols/health.grpc.pb.h"

using kata::testing::MakeDirs;
using kata::testing::WriteFile;
namespace agent = kata::agent;

namespace agent_test {

inline constexpr char kAgentBin[] = KATA_AGENT_BIN;

// A kata-agent process serving a sandbox under a temp dir; killed when it goes.
class AgentProcess {
 public:
  explicit AgentProcess(const kata::testing::TempDir& tmp, const std::vector<std::string>& extra_args = {})
      : socket_(tmp.Sub("agent.sock")), sandbox_dir_(tmp.Sub("sandbox")), log_(tmp.Sub("agent.log")),
        daemon_(Args(extra_args), log_) {
    daemon_.WaitForPath(socket_);
    channel_ = grpc::CreateChannel("unix:" + socket_, grpc::InsecureChannelCredentials());
    stub_ = agent::AgentService::NewStub(channel_);
    health_ = agent::Health::NewStub(channel_);
  }

  agent::AgentService::Stub& stub() { return *stub_; }
  std::vector<std::string> Args(const std::vector<std::string>& extra) const {
    std::vector<std::string> args{kAgentBin, "--listen", "unix:" + socket_, "--sandbox-dir", sandbox_dir_, "--log-level", "debug",
                                  "--hotplug-timeout", "1s"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
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
inline void MakeBusyboxRootfs(const std::string& dir) {
  kata::testing::MakeBusyboxRootfs(dir);
  WriteFile(dir + "/etc/marker", "inside the container\n");
}

inline agent::Storage LocalRootfs(const std::string& rootfs) {
  agent::Storage s;
  s.set_driver("local");
  s.set_mount_point(rootfs);
  s.add_options("mode=0755");
  return s;
}

inline kata::oci::Spec MakeSpec(const std::string& rootfs, const std::vector<std::string>& args) {
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
  AgentProcess agent;
  std::string rootfs = agent.sandbox_dir() + "/c1/rootfs";

  explicit Fixture(const std::vector<std::string>& agent_args = {}) : agent(tmp, agent_args) {
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

  // Container `id`'s rootfs where the agent's path contract wants it (S/<id>/rootfs), made
  // on first use; c1's is `rootfs`.
  std::string RootfsOf(const std::string& id) {
    const std::string dir = agent.sandbox_dir() + "/" + id + "/rootfs";
    if (!std::filesystem::exists(dir + "/bin")) MakeBusyboxRootfs(dir);
    return dir;
  }

  grpc::Status Create(const std::string& id, const std::vector<std::string>& args, std::string root = "") {
    if (root.empty()) root = RootfsOf(id);
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
  // A stream read to its end within `deadline`; nullopt if it did not end by then (or a
  // read failed: the error is logged).
  std::optional<std::string> ReadToEnd(const std::string& id, const std::string& exec_id, bool stderr_stream,
                                       std::chrono::seconds deadline) {
    const auto until = std::chrono::system_clock::now() + deadline;
    std::string out;
    for (;;) {
      agent::ReadStreamRequest req;
      req.set_container_id(id);
      req.set_exec_id(exec_id);
      req.set_len(4096);
      agent::ReadStreamResponse resp;
      grpc::ClientContext ctx;
      ctx.set_deadline(until);
      const grpc::Status s = stderr_stream ? agent.stub().ReadStderr(&ctx, req, &resp) : agent.stub().ReadStdout(&ctx, req, &resp);
      if (s.error_code() == grpc::StatusCode::OUT_OF_RANGE) return out;  // EOF
      if (!s.ok()) {
        UNSCOPED_INFO("read " << id << "/" << exec_id << ": " << s.error_message());
        return std::nullopt;
      }
      out += resp.data();
    }
  }
  // Everything the process writes to stdout, until EOF.
  std::string ReadAll(const std::string& id, const std::string& exec_id = "", bool stderr_stream = false) {
    auto out = ReadToEnd(id, exec_id, stderr_stream, std::chrono::seconds(120));
    REQUIRE(out.has_value());
    return *out;
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

}  // namespace agent_test
