#pragma once

// What the agent API tests share: a real kata-agent on the host in test mode (unix socket, a
// sandbox dir under a temp dir, not PID 1) driven over ttrpc through the typed client, and a
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


#include "libkata/mount/mountinfo.h"
#include "libkata/oci/spec.h"
#include "libkata/testing/test_support.h"
#include "libkata/agent_api/agent_api.h"

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
    auto client = kata::ttrpc::Client::Connect(socket_);
    INFO(client.status() << "\nthe agent's log:\n" << log());
    REQUIRE(client.ok());
    client_ = std::move(*client);
  }

  // Both services' methods (Check and Version are grpc.Health's).
  kata::agent_api::AgentStub stub() const { return kata::agent_api::AgentStub(client_); }
  kata::ttrpc::Client& client() const { return *client_; }
  std::vector<std::string> Args(const std::vector<std::string>& extra) const {
    std::vector<std::string> args{kAgentBin, "--listen", "unix:" + socket_, "--sandbox-dir", sandbox_dir_, "--log-level", "debug",
                                  "--hotplug-timeout", "1s"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  const std::string& sandbox_dir() const { return sandbox_dir_; }
  const std::string& socket() const { return socket_; }
  pid_t pid() const { return daemon_.pid(); }
  std::string log() const { return kata::testing::ReadFile(log_); }

 private:
  std::string socket_, sandbox_dir_, log_;
  kata::testing::Daemon daemon_;
  std::shared_ptr<kata::ttrpc::Client> client_;
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
    const absl::Status s = agent.stub().CreateSandbox(req, &e);
    INFO(s.message());
    REQUIRE(s.ok());
  }

  // Container `id`'s rootfs where the agent's path contract wants it (S/<id>/rootfs), made
  // on first use; c1's is `rootfs`.
  std::string RootfsOf(const std::string& id) {
    const std::string dir = agent.sandbox_dir() + "/" + id + "/rootfs";
    if (!std::filesystem::exists(dir + "/bin")) MakeBusyboxRootfs(dir);
    return dir;
  }

  absl::Status Create(const std::string& id, const std::vector<std::string>& args, std::string root = "") {
    if (root.empty()) root = RootfsOf(id);
    agent::CreateContainerRequest req;
    req.set_container_id(id);
    *req.mutable_oci() = MakeSpec(root, args);
    *req.add_storages() = LocalRootfs(root);
    google::protobuf::Empty e;
    return agent.stub().CreateContainer(req, &e);
  }
  absl::Status Start(const std::string& id) {
    agent::StartContainerRequest req;
    req.set_container_id(id);
    google::protobuf::Empty e;
    const absl::Status s = agent.stub().StartContainer(req, &e);
    if (!s.ok()) UNSCOPED_INFO("StartContainer " << id << ": " << s.message());
    return s;
  }
  absl::Status Exec(const std::string& id, const std::string& exec_id, const std::vector<std::string>& args) {
    agent::ExecProcessRequest req;
    req.set_container_id(id);
    req.set_exec_id(exec_id);
    *req.mutable_process() = MakeSpec(rootfs, args).process();
    google::protobuf::Empty e;
    return agent.stub().ExecProcess(req, &e);
  }
  int Wait(const std::string& id, const std::string& exec_id = "") {
    agent::WaitProcessRequest req;
    req.set_container_id(id);
    req.set_exec_id(exec_id);
    agent::WaitProcessResponse resp;
    const absl::Status s = agent.stub().WaitProcess(req, &resp);
    INFO(s.message());
    REQUIRE(s.ok());
    return resp.status();
  }
  absl::Status Signal(const std::string& id, const std::string& exec_id, int sig) {
    agent::SignalProcessRequest req;
    req.set_container_id(id);
    req.set_exec_id(exec_id);
    req.set_signal(static_cast<uint32_t>(sig));
    google::protobuf::Empty e;
    return agent.stub().SignalProcess(req, &e);
  }
  // A stream read to its end within `deadline`; nullopt if it did not end by then (or a
  // read failed: the error is logged).
  std::optional<std::string> ReadToEnd(const std::string& id, const std::string& exec_id, bool stderr_stream,
                                       std::chrono::seconds deadline) {
    const absl::Time until = absl::Now() + absl::FromChrono(deadline);
    std::string out;
    for (;;) {
      agent::ReadStreamRequest req;
      req.set_container_id(id);
      req.set_exec_id(exec_id);
      req.set_len(4096);
      agent::ReadStreamResponse resp;
      const absl::Duration left = until - absl::Now();
      const absl::Status s = stderr_stream ? agent.stub().ReadStderr(req, &resp, left) : agent.stub().ReadStdout(req, &resp, left);
      if (s.code() == absl::StatusCode::kOutOfRange) return out;  // EOF
      if (!s.ok()) {
        UNSCOPED_INFO("read " << id << "/" << exec_id << ": " << s.message());
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
  absl::Status Remove(const std::string& id, uint32_t timeout = 0) {
    agent::RemoveContainerRequest req;
    req.set_container_id(id);
    req.set_timeout(timeout);
    google::protobuf::Empty e;
    return agent.stub().RemoveContainer(req, &e);
  }
};

}  // namespace agent_test
