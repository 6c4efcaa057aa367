// The agent for real, as root, with a cgroup root on the host's cgroup2 mount: containers and
// their execs run in their own cgroup, statistics come from it, resources are written to it
// (or refused by file when the host's controllers are bound elsewhere), and nothing is left.
// Fixture: agent_fixture.h.

#include <sys/stat.h>

#include <fstream>
#include <random>

#include "guest-agent/tests/agent_fixture.h"

using namespace agent_test;  // NOLINT: the fixture is this test's vocabulary

namespace {

// The host's cgroup2 mount point, or "" (cgroup v1 only).
std::string Cgroup2Mount() {
  std::ifstream mounts("/proc/mounts");
  std::string dev, dir, type, rest;
  while (mounts >> dev >> dir >> type && std::getline(mounts, rest)) {
    if (type == "cgroup2") return dir;
  }
  return "";
}

// A cgroup root of the test's own below the host's cgroup2 mount, removed at the end.
struct TestCgroupRoot {
  std::string path;
  TestCgroupRoot() {
    const std::string mount = Cgroup2Mount();
    if (!mount.empty()) path = mount + "/kata-test-" + std::to_string(std::random_device{}());
  }
  ~TestCgroupRoot() {
    if (!path.empty()) ::rmdir(path.c_str());
  }
  std::vector<std::string> AgentArgs() const { return {"--cgroup-root", path}; }
  std::string Controllers() const { return kata::testing::ReadFile(path + "/cgroup.controllers"); }
};

#define KATA_REQUIRE_CGROUP2(root)                                         \
  do {                                                                     \
    KATA_REQUIRE_ROOT();                                                   \
    if ((root).path.empty()) KATA_SKIP("no cgroup2 mount on this host");   \
  } while (0)

// The agent runs without cgroups when it cannot make its root there (say, a cgroup2 mount
// whose cgroup holds processes and so cannot enable controllers for children).
#define KATA_REQUIRE_AGENT_CGROUPS(fixture)                                              \
  do {                                                                                   \
    const std::string agent_log_ = (fixture).agent.log();                                \
    if (agent_log_.find("no cgroups for containers") != std::string::npos)               \
      KATA_SKIP("the agent cannot make its cgroup root here: " + agent_log_.substr(0, 400)); \
  } while (0)

agent::CreateContainerRequest Request(Fixture& f, const std::string& id, const std::vector<std::string>& args) {
  agent::CreateContainerRequest req;
  req.set_container_id(id);
  *req.mutable_oci() = MakeSpec(f.rootfs, args);
  *req.add_storages() = LocalRootfs(f.rootfs);
  return req;
}

absl::Status Create(Fixture& f, const agent::CreateContainerRequest& req) {
  google::protobuf::Empty e;
  return f.agent.stub().CreateContainer(req, &e);
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE("agent cgroups: a container and its execs run in its cgroup, which goes with it", "[agent][root][cgroup]") {
  TestCgroupRoot root;
  KATA_REQUIRE_CGROUP2(root);
  Fixture f(root.AgentArgs());
  KATA_REQUIRE_AGENT_CGROUPS(f);
  const std::string cg = root.path + "/c1";
  const std::string relative = cg.substr(Cgroup2Mount().size());
  REQUIRE(Create(f, Request(f, "c1", {"sh", "-c", "cat /proc/self/cgroup; exec sleep 1000"})).ok());
  CHECK(Exists(cg));
  REQUIRE(f.Start("c1").ok());
  REQUIRE(f.Exec("c1", "e1", {"sh", "-c", "cat /proc/self/cgroup"}).ok());
  const std::string exec_out = f.ReadAll("c1", "e1");
  INFO(exec_out << "\n" << f.agent.log());
  CHECK(exec_out.find("0::" + relative + "\n") != std::string::npos);
  CHECK(f.Wait("c1", "e1") == 0);

  agent::StatsContainerRequest sreq;
  sreq.set_container_id("c1");
  agent::StatsContainerResponse stats;
  const absl::Status got = f.agent.stub().StatsContainer(sreq, &stats);
  INFO(got.message());
  REQUIRE(got.ok());
  CHECK(stats.cgroup_stats().cpu_stats().cpu_usage().total_usage() > 0);  // the shell and cat ran there

  // Resources: written where the host offers the controller, refused by file where not.
  agent::UpdateContainerRequest ureq;
  ureq.set_container_id("c1");
  ureq.mutable_resources()->mutable_pids()->set_limit(32);
  google::protobuf::Empty e;
  const absl::Status updated = f.agent.stub().UpdateContainer(ureq, &e);
  if (root.Controllers().find("pids") != std::string::npos) {
    INFO(updated.message());
    CHECK(updated.ok());
    CHECK(kata::testing::ReadFile(cg + "/pids.max") == "32\n");
  } else {
    CHECK(updated.code() == absl::StatusCode::kFailedPrecondition);
    CHECK(updated.message().find(cg + "/pids.max") != std::string::npos);
  }
  REQUIRE(f.Remove("c1", 5).ok());
  CHECK_FALSE(Exists(cg));
}

TEST_CASE("agent cgroups: PauseContainer freezes every process of the container, ResumeContainer thaws them", "[agent][root][cgroup]") {
  TestCgroupRoot root;
  KATA_REQUIRE_CGROUP2(root);
  Fixture f(root.AgentArgs());
  KATA_REQUIRE_AGENT_CGROUPS(f);
  // A counter the test can watch: one line per tick.
  REQUIRE(Create(f, Request(f, "c1", {"sh", "-c", "while true; do echo x; sleep 0.05; done"})).ok());
  REQUIRE(f.Start("c1").ok());
  auto read_some = [&] {
    agent::ReadStreamRequest r;
    r.set_container_id("c1");
    r.set_len(4096);
    agent::ReadStreamResponse resp;
    return f.agent.stub().ReadStdout(r, &resp, absl::Milliseconds(500)).ok() ? resp.data() : std::string();
  };
  CHECK_FALSE(read_some().empty());
  google::protobuf::Empty e;
  agent::PauseContainerRequest pause;
  pause.set_container_id("c1");
  const absl::Status paused = f.agent.stub().PauseContainer(pause, &e);
  INFO(paused.message());
  REQUIRE(paused.ok());
  CHECK(kata::testing::ReadFile(root.path + "/c1/cgroup.events").find("frozen 1") != std::string::npos);
  read_some();  // what was written before the freeze
  CHECK(read_some().empty());  // nothing while frozen
  agent::ResumeContainerRequest resume;
  resume.set_container_id("c1");
  REQUIRE(f.agent.stub().ResumeContainer(resume, &e).ok());
  CHECK_FALSE(read_some().empty());
  // A paused container can still be removed.
  REQUIRE(f.agent.stub().PauseContainer(pause, &e).ok());
  REQUIRE(f.Remove("c1", 5).ok());
  CHECK_FALSE(Exists(root.path + "/c1"));
}

TEST_CASE("agent cgroups: a cgroup namespace is rooted at the container's cgroup", "[agent][root][cgroup]") {
  TestCgroupRoot root;
  KATA_REQUIRE_CGROUP2(root);
  Fixture f(root.AgentArgs());
  KATA_REQUIRE_AGENT_CGROUPS(f);
  auto req = Request(f, "c1", {"cat", "/proc/self/cgroup"});
  req.mutable_oci()->mutable_linux()->add_namespaces()->set_type("cgroup");
  REQUIRE(Create(f, req).ok());
  REQUIRE(f.Start("c1").ok());
  const std::string out = f.ReadAll("c1");
  INFO(out);
  CHECK(out.find("0::/\n") != std::string::npos);
  CHECK(f.Wait("c1") == 0);
  REQUIRE(f.Remove("c1").ok());
}

TEST_CASE("agent cgroups: resources the cgroup cannot take fail the create and leave nothing", "[agent][root][cgroup]") {
  TestCgroupRoot root;
  KATA_REQUIRE_CGROUP2(root);
  Fixture f(root.AgentArgs());
  KATA_REQUIRE_AGENT_CGROUPS(f);
  auto req = Request(f, "c1", {"true"});
  // A file no cgroup has: the write fails whatever the host's controllers are.
  (*req.mutable_oci()->mutable_linux()->mutable_resources()->mutable_unified())["nosuch.file"] = "1";
  const absl::Status s = Create(f, req);
  CHECK(s.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(s.message().find("nosuch.file") != std::string::npos);
  CHECK_FALSE(Exists(root.path + "/c1"));
  // The id is free again and the sandbox works.
  REQUIRE(f.Create("c1", {"true"}).ok());
  REQUIRE(f.Start("c1").ok());
  CHECK(f.Wait("c1") == 0);
  REQUIRE(f.Remove("c1").ok());
}

TEST_CASE("agent cgroups: without a cgroup root, update and stats say why; hostile ids are refused", "[agent][root][cgroup]") {
  KATA_REQUIRE_ROOT();
  Fixture f;
  REQUIRE(f.Create("c1", {"true"}).ok());
  agent::StatsContainerRequest sreq;
  sreq.set_container_id("c1");
  agent::StatsContainerResponse stats;
  const absl::Status s = f.agent.stub().StatsContainer(sreq, &stats);
  CHECK(s.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(s.message().find("no cgroup") != std::string::npos);
  sreq.set_container_id("nosuch");
  CHECK(f.agent.stub().StatsContainer(sreq, &stats).code() == absl::StatusCode::kNotFound);
  // Hostile ids name nothing and reach no file.
  agent::UpdateContainerRequest ureq;
  ureq.set_container_id("../../etc");
  ureq.mutable_resources()->mutable_pids()->set_limit(1);
  google::protobuf::Empty e;
  const absl::Status bad_id = f.agent.stub().UpdateContainer(ureq, &e);
  CHECK(bad_id.code() == absl::StatusCode::kInvalidArgument);
  CHECK(bad_id.message().find("../../etc") != std::string::npos);
  agent::PauseContainerRequest preq;
  preq.set_container_id("nosuch");
  CHECK(f.agent.stub().PauseContainer(preq, &e).code() == absl::StatusCode::kNotFound);
  REQUIRE(f.Remove("c1", 5).ok());
}

TEST_CASE("agent cgroups: linux.resources.devices is enforced, and UpdateContainer replaces the rules", "[agent][root][cgroup]") {
  TestCgroupRoot root;
  KATA_REQUIRE_CGROUP2(root);
  Fixture f(root.AgentArgs());
  KATA_REQUIRE_AGENT_CGROUPS(f);
  // A node of a major no driver has: a cgroup that lets the open through gives ENXIO, one that
  // does not gives EPERM.
  agent::CreateContainerRequest req = Request(f, "c1", {"sleep", "1000"});
  auto* node = req.mutable_oci()->mutable_linux()->add_devices();
  node->set_path("/dev/probe");
  node->set_type("c");
  node->set_major(240);
  node->set_minor(0);
  auto* deny = req.mutable_oci()->mutable_linux()->mutable_resources()->add_devices();
  deny->set_allow(false);
  deny->set_access("rwm");
  REQUIRE(Create(f, req).ok());
  REQUIRE(f.Start("c1").ok());
  auto open_probe = [&](const std::string& exec_id) {
    REQUIRE(f.Exec("c1", exec_id, {"sh", "-c", "head -c1 /dev/probe; head -c1 /dev/null; echo done"}).ok());
    std::string out = f.ReadAll("c1", exec_id) + f.ReadAll("c1", exec_id, true);
    (void)f.Wait("c1", exec_id);
    return out;
  };
  const std::string denied = open_probe("e1");
  INFO(denied << "\n" << f.agent.log());
  CHECK(denied.find("Operation not permitted") != std::string::npos);
  CHECK(denied.find("done") != std::string::npos);  // /dev/null: always allowed

  agent::UpdateContainerRequest ureq;
  ureq.set_container_id("c1");
  *ureq.mutable_resources()->add_devices() = *deny;
  auto* allow = ureq.mutable_resources()->add_devices();
  allow->set_allow(true);
  allow->set_type("c");
  allow->set_major(240);
  allow->set_minor(0);
  allow->set_access("r");
  google::protobuf::Empty e;
  const absl::Status updated = f.agent.stub().UpdateContainer(ureq, &e);
  INFO(updated.message());
  REQUIRE(updated.ok());
  const std::string allowed = open_probe("e2");
  INFO(allowed);
  CHECK(allowed.find("Operation not permitted") == std::string::npos);
  CHECK(allowed.find("No such device") != std::string::npos);

  // A bad rule in an update: refused by field, the rules in force stay.
  agent::UpdateContainerRequest bad;
  bad.set_container_id("c1");
  bad.mutable_resources()->add_devices()->set_type("z");
  const absl::Status refused = f.agent.stub().UpdateContainer(bad, &e);
  CHECK(refused.code() == absl::StatusCode::kInvalidArgument);
  CHECK(refused.message().find("linux.resources.devices[0].type") != std::string::npos);
  CHECK(open_probe("e3").find("No such device") != std::string::npos);
  REQUIRE(f.Remove("c1", 5).ok());
}

// Issue 14: an exec into a paused container froze its middle process in the cgroup while the
// agent held the lock ResumeContainer needed: the whole agent hung. As runc, the exec is
// refused; the agent answers everything else meanwhile, and the exec runs once resumed.
TEST_CASE("agent cgroups: exec into a paused container is refused and the agent stays responsive", "[agent][root][cgroup]") {
  TestCgroupRoot root;
  KATA_REQUIRE_CGROUP2(root);
  Fixture f(root.AgentArgs());
  KATA_REQUIRE_AGENT_CGROUPS(f);
  REQUIRE(Create(f, Request(f, "c1", {"sleep", "3600"})).ok());
  REQUIRE(f.Start("c1").ok());
  google::protobuf::Empty e;
  agent::PauseContainerRequest pause;
  pause.set_container_id("c1");
  REQUIRE(f.agent.stub().PauseContainer(pause, &e).ok());
  // Bounded, so a hang fails the test instead of stalling it.
  auto exec = std::async(std::launch::async, [&] { return f.Exec("c1", "e1", {"true"}); });
  REQUIRE(exec.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  const absl::Status refused = exec.get();
  CHECK(refused.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(refused.message().find("paused") != std::string::npos);
  agent::ResumeContainerRequest resume;
  resume.set_container_id("c1");
  REQUIRE(f.agent.stub().ResumeContainer(resume, &e, absl::Seconds(10)).ok());
  REQUIRE(f.Exec("c1", "e1", {"true"}).ok());
  CHECK(f.Wait("c1", "e1") == 0);
  REQUIRE(f.Remove("c1", 5).ok());
}
