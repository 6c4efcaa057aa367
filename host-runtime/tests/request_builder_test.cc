#include "host-runtime/agent_ctl/request_builder.h"
#include "libkata/testing/test_support.h"
#include "protocols/agent.pb.h"

using kata::agentctl::ApplyArgs;
using kata::agentctl::ParseCommandLine;

TEST_CASE("agent-ctl: command lines split on spaces, quotes keep them", "[agentctl]") {
  auto cl = ParseCommandLine("  ExecProcess container_id=c1 'process.args=sh' \"process.args=echo hi\"  ");
  REQUIRE(cl.ok());
  CHECK(cl->name == "ExecProcess");
  CHECK(cl->args == std::vector<std::string>{"container_id=c1", "process.args=sh", "process.args=echo hi"});
  CHECK_FALSE(ParseCommandLine("   ").ok());
  CHECK_FALSE(ParseCommandLine("Check 'open").ok());
}

TEST_CASE("agent-ctl: key=value sets scalars, nested and repeated fields", "[agentctl]") {
  kata::agent::ExecProcessRequest req;
  REQUIRE(ApplyArgs({"container_id=c1", "exec_id=e1", "process.args=sh", "process.args=-c", "process.args=echo a=b",
                     "process.cwd=/", "process.user.uid=1000", "process.terminal=true", "process.noNewPrivileges=true"},
                    req).ok());
  CHECK(req.container_id() == "c1");
  CHECK(req.process().args_size() == 3);
  CHECK(req.process().args(2) == "echo a=b");  // only the first '=' splits
  CHECK(req.process().user().uid() == 1000);
  CHECK(req.process().terminal());
  CHECK(req.process().no_new_privileges());  // the JSON name works too
  kata::agent::SignalProcessRequest sig;
  REQUIRE(ApplyArgs({"container_id=c1", "signal=15"}, sig).ok());
  CHECK(sig.signal() == 15);
}

TEST_CASE("agent-ctl: bad arguments are errors naming them", "[agentctl]") {
  kata::agent::SignalProcessRequest sig;
  struct Case {
    std::vector<std::string> args;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{{{"signal=TERM"}, "signal=TERM"},
                                        {{"signal=-1"}, "unsigned"},
                                        {{"nosuchfield=1"}, "no field \"nosuchfield\""},
                                        {{"container_id"}, "not key=value"},
                                        {{"=x"}, "not key=value"},
                                        {{"json:///nonexistent.json"}, "/nonexistent.json"},
                                        {{"spec=/x"}, "carries no OCI spec"}}) {
    const auto s = ApplyArgs(c.args, sig);
    INFO(c.want << " -> " << s);
    CHECK(s.code() != absl::StatusCode::kOk);
    CHECK(std::string(s.message()).find(c.want) != std::string::npos);
  }
  kata::agent::ExecProcessRequest exec;
  CHECK(std::string(ApplyArgs({"process=x"}, exec).message()).find("json://") != std::string::npos);
  CHECK(std::string(ApplyArgs({"process.args.x=1"}, exec).message()).find("not a single message") != std::string::npos);
}

TEST_CASE("agent-ctl: json:// for a whole request or one field; spec and bundle", "[agentctl]") {
  kata::testing::TempDir dir;
  kata::testing::WriteFile(dir.Sub("req.json"), R"({"container_id": "c9", "exec_id": "e9"})");
  kata::testing::WriteFile(dir.Sub("storages.json"),
                           R"([{"driver": "local", "mount_point": "/run/x"}, {"driver": "ephemeral", "mount_point": "/run/y"}])");
  kata::testing::WriteFile(dir.Sub("bad.json"), R"({"container_id": 5)");
  kata::testing::MakeDirs(dir.Sub("bundle/rootfs"));
  kata::testing::WriteFile(dir.Sub("bundle/config.json"),
                           R"({"ociVersion": "1.1.0", "root": {"path": "rootfs"}, "process": {"args": ["sh"], "cwd": "/"}})");
  kata::agent::CreateContainerRequest req;
  REQUIRE(ApplyArgs({"json://" + dir.Sub("req.json"), "storages=json://" + dir.Sub("storages.json"),
                     "bundle=" + dir.Sub("bundle")},
                    req).ok());
  CHECK(req.container_id() == "c9");
  REQUIRE(req.storages_size() == 2);
  CHECK(req.storages(1).driver() == "ephemeral");
  CHECK(req.oci().root().path() == dir.Sub("bundle") + "/rootfs");
  CHECK(req.oci().process().args(0) == "sh");
  CHECK(std::string(ApplyArgs({"json://" + dir.Sub("bad.json")}, req).message()).find("bad.json") != std::string::npos);
  CHECK(std::string(ApplyArgs({"spec=" + dir.Sub("req.json")}, req).message()).find("ociVersion") != std::string::npos);
}
