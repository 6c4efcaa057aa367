// kata-agent-ctl for real: a session against a kata-agent running on this host (root).

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "libkata/testing/netns.h"
#include "libkata/testing/test_support.h"

using kata::testing::MakeDirs;
using kata::testing::ReadFile;
using kata::testing::WriteFile;

namespace {

struct Session {
  kata::testing::TempDir tmp;
  std::string netns;  // the agent runs in this named netns when set (its network RPCs change it)
  std::string sock = tmp.Sub("agent.sock");
  std::string sandbox = tmp.Sub("sandbox");
  kata::testing::Daemon agent;

  std::vector<std::string> AgentArgv() const {
    std::vector<std::string> argv;
    if (!netns.empty()) argv = {"/usr/sbin/ip", "netns", "exec", netns};
    for (const std::string& a : {std::string(KATA_AGENT_BIN), std::string("--listen"), "unix:" + sock,
                                 std::string("--sandbox-dir"), sandbox}) {
      argv.push_back(a);
    }
    return argv;
  }

  explicit Session(std::string in_netns = "") : netns(std::move(in_netns)), agent(AgentArgv(), tmp.Sub("agent.log")) {
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

// The network RPCs from the command line, on a netns of the test's own (the agent runs in it):
// a veth configured by MAC, routes, the listing, and a hostile request refused by field.
TEST_CASE("agent-ctl: network RPCs configure a link and its routes; a bad route is refused naming the field",
          "[agentctl][root][network]") {
  KATA_REQUIRE_ROOT();
  kata::testing::TestNetns ns;
  ns.Exec("ip link add veth-g address 02:00:00:00:55:02 type veth peer name veth-h && ip link set veth-h up");
  Session s(ns.name());
  WriteFile(s.tmp.Sub("addresses.json"), R"([{"address": "10.55.0.2", "mask": "24"}, {"family": "v6", "address": "fd55::2", "mask": "64"}])");
  WriteFile(s.tmp.Sub("routes.json"), R"({"Routes": [{"gateway": "10.55.0.1", "device": "eth7"}]})");
  WriteFile(s.tmp.Sub("bad-routes.json"), R"({"Routes": [{"dest": "10.9.0.0/40", "device": "eth7"}]})");
  std::string out, err;
  const int rc = s.Ctl("-c 'UpdateInterface interface.hwAddr=02:00:00:00:55:02 interface.name=eth7 interface.mtu=1300"
                       " interface.IPAddresses=json://" + s.tmp.Sub("addresses.json") + "'"
                       " -c 'UpdateRoutes routes=json://" + s.tmp.Sub("routes.json") + "' -c ListInterfaces -c ListRoutes",
                       out, err);
  INFO(out << "\n" << err);
  REQUIRE(rc == 0);
  CHECK(ns.Capture("ip -o link show eth7").find("mtu 1300") != std::string::npos);
  CHECK(ns.Capture("ip -o addr show dev eth7").find("10.55.0.2/24") != std::string::npos);
  CHECK(ns.Capture("ip route show default").find("default via 10.55.0.1 dev eth7") != std::string::npos);
  CHECK(out.find("\"name\":\"eth7\"") != std::string::npos);
  CHECK(out.find("\"gateway\":\"10.55.0.1\"") != std::string::npos);
  CHECK(s.Ctl("-c 'UpdateRoutes routes=json://" + s.tmp.Sub("bad-routes.json") + "'", out, err) == 1);
  CHECK(err.find("INVALID_ARGUMENT") != std::string::npos);
  CHECK(err.find("routes[0].dest") != std::string::npos);
  CHECK(ns.Capture("ip route show 10.9.0.0/16").empty());
}
