// kata-agent-ctl for real: a session against a kata-agent running on this host (root).

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "libkata/testing/test_support.h"

using kata::testing::MakeDirs;
using kata::testing::ReadFile;
using kata::testing::WriteFile;

namespace {

struct Session {
  kata::testing::TempDir tmp;
  std::string sock = tmp.Sub("agent.sock");
  std::string sandbox = tmp.Sub("sandbox");
  kata::testing::Daemon agent{{KATA_AGENT_BIN, "--listen", "unix:" + sock, "--sandbox-dir", sandbox}, tmp.Sub("agent.log")};

  Session() {
    agent.WaitForPath(sock);
    // A bundle whose rootfs is busybox-static, under the agent's sandbox dir.
    const std::string bundle = sandbox + "/c1";
    kata::testing::MakeBusyboxRootfs(bundle + "/rootfs");
    WriteFile(bundle + "/config.json", R"({"ociVersion": "1.1.0", "root": {"path": "rootfs"},
      "process": {"args": ["sh", "-c", "echo hello; exit 3"], "cwd": "/", "env": ["PATH=/bin"]},
      "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
      "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}})");
    WriteFile(tmp.Sub("storages.json"), R"([{"driver": "local", "mount_point": ")" + bundle + R"(/rootfs",
      "options": ["mode=0755"]}])");
  }

  // Runs kata-agent-ctl; returns its exit code, stdout in `out`, stderr in `err`.
  int Ctl(const std::string& args, std::string& out, std::string& err, const std::string& stdin_text = "") {
    WriteFile(tmp.Sub("stdin"), stdin_text);
    const std::string cmd = std::string(KATA_AGENT_CTL_BIN) + " --server-address unix://" + sock + " " + args + " <" +
                            tmp.Sub("stdin") + " >" + tmp.Sub("out") + " 2>" + tmp.Sub("err");
    const int rc = std::system(cmd.c_str());
    out = ReadFile(tmp.Sub("out"));
    err = ReadFile(tmp.Sub("err"));
    return WEXITSTATUS(rc);
  }
};

}  // namespace

TEST_CASE("agent-ctl: a whole session, one command per -c", "[agentctl][root]") {
  KATA_REQUIRE_ROOT();
  Session s;
  std::string out, err;
  const int rc = s.Ctl("-c Check -c 'CreateSandbox hostname=sb' -c 'CreateContainer container_id=c1 bundle=" + s.sandbox +
                           "/c1 storages=json://" + s.tmp.Sub("storages.json") + "' -c 'StartContainer container_id=c1'"
                           " -c 'ReadStdout container_id=c1 len=100' -c 'WaitProcess container_id=c1'"
                           " -c 'RemoveContainer container_id=c1' -c 'GetGuestDetails mem_block_size=true'"
                           " -c DestroySandbox",
                       out, err);
  INFO(out << "\n" << err);
  REQUIRE(rc == 0);
  CHECK(out.find("{\"status\":\"SERVING\"}\n") == 0);
  CHECK(out.find("{\"data\":\"aGVsbG8K\"}") != std::string::npos);  // "hello\n", base64 as proto3 JSON does bytes
  CHECK(out.find("{\"status\":3}") != std::string::npos);
  CHECK(out.find("\"kernel_release\"") != std::string::npos);
  CHECK(err.find("CreateContainer: ") != std::string::npos);  // a timing line per call
  CHECK(err.find(" ms\n") != std::string::npos);
}

TEST_CASE("agent-ctl: --repeat, interactive mode, and errors", "[agentctl][root]") {
  KATA_REQUIRE_ROOT();
  Session s;
  std::string out, err;
  REQUIRE(s.Ctl("--repeat 3 -c Check", out, err) == 0);
  CHECK(std::count(out.begin(), out.end(), '\n') == 3);
  // Interactive: commands from stdin; a failing one does not end the session.
  REQUIRE(s.Ctl("-i", out, err, "Check\n# a comment\nStartContainer container_id=nope\nVersion\nquit\nCheck\n") == 0);
  CHECK(std::count(out.begin(), out.end(), '\n') == 2);
  CHECK(out.find("agent_version") != std::string::npos);
  CHECK(err.find("NOT_FOUND") != std::string::npos);
  // Non-interactive: the first failure is the exit code.
  CHECK(s.Ctl("-c 'StartContainer container_id=../x' -c Check", out, err) == 1);
  CHECK(err.find("INVALID_ARGUMENT") != std::string::npos);
  CHECK(out.empty());
  CHECK(s.Ctl("-c 'Bogus x=1'", out, err) == 1);
  CHECK(err.find("unknown command") != std::string::npos);
  std::string o2, e2;
  const std::string cmd = std::string(KATA_AGENT_CTL_BIN) + " --server-address tcp://x -c Check 2>/dev/null";
  CHECK(WEXITSTATUS(std::system(cmd.c_str())) == 1);
}

TEST_CASE("agent-ctl: a malformed --repeat is refused", "[agentctl]") {
  for (const char* bad : {"0", "3x", "-1", "many"}) {
    const std::string cmd = std::string(KATA_AGENT_CTL_BIN) + " --server-address unix:///nonexistent --repeat " + bad +
                            " -c Check 2>/dev/null";
    INFO(bad);
    CHECK(WEXITSTATUS(std::system(cmd.c_str())) == 2);
  }
}
