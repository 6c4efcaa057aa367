// linux.resources.devices: the policy (pure: runc's rules, real specs' lists, hostile rules
// refused by field), and the BPF program built from it, attached to a real cgroup on this
// host's cgroup2 mount, where a child's mknod and opens must get exactly the answers the
// policy gives (a differential test of the program against the policy).

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "guest-agent/device_cgroup/device_filter.h"
#include "guest-agent/device_cgroup/device_program.h"
#include "guest-agent/device_cgroup/device_rules.h"
#include "libkata/oci/spec.h"
#include "libkata/testing/test_support.h"

using namespace kata::guest;
namespace oci = kata::oci;

namespace {

google::protobuf::RepeatedPtrField<oci::LinuxDeviceCgroup> Rules(const std::string& devices_json) {
  nlohmann::json spec = nlohmann::json::parse(R"({"ociVersion": "1.1.0", "root": {"path": "/r"},
    "process": {"args": ["sh"], "cwd": "/"}, "linux": {"resources": {}}})");
  spec["linux"]["resources"]["devices"] = nlohmann::json::parse(devices_json);
  auto parsed = oci::ParseSpecJson(spec.dump(), "test spec");
  INFO(parsed.status());
  REQUIRE(parsed.ok());
  return parsed->linux().resources().devices();
}

DevicePolicy Policy(const std::string& devices_json) {
  auto p = BuildDevicePolicy(Rules(devices_json));
  INFO(p.status());
  REQUIRE(p.ok());
  return *p;
}

// containerd's default (oci/spec.go), docker's (moby oci/defaults.go), CRI's privileged.
const char kContainerd[] = R"([{"allow": false, "access": "rwm"}])";
const char kDocker[] = R"([{"allow": false, "access": "rwm"},
  {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
  {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
  {"allow": true, "type": "c", "major": 1, "minor": 9, "access": "rwm"},
  {"allow": true, "type": "c", "major": 1, "minor": 8, "access": "rwm"},
  {"allow": true, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
  {"allow": true, "type": "c", "major": 5, "minor": 1, "access": "rwm"},
  {"allow": false, "type": "c", "major": 10, "minor": 229, "access": "rwm"}])";
const char kPrivileged[] = R"([{"allow": true, "access": "rwm"}])";

struct Node {
  char type;
  int major, minor;
};
// Harmless nodes to try: opening them changes nothing (a loop device with no file gives
// ENXIO once the cgroup lets the open through).
const Node kNodes[] = {{'c', 1, 3}, {'c', 1, 5}, {'c', 1, 7}, {'c', 1, 9}, {'c', 5, 1}, {'c', 10, 229}, {'b', 7, 0}, {'b', 7, 1}};

}  // namespace

TEST_CASE("device policy: hostile rules are refused by field", "[device_cgroup]") {
  const std::pair<const char*, const char*> rows[] = {
      {R"([{"allow": true, "type": "x", "access": "rwm"}])", "linux.resources.devices[0].type"},
      {R"([{"allow": true, "type": "c", "access": "rwm"}, {"allow": true, "type": "c", "access": "rwx"}])",
       "linux.resources.devices[1].access"},
      {R"([{"allow": true, "type": "c", "major": -2, "access": "r"}])", "linux.resources.devices[0].major"},
      {R"([{"allow": true, "type": "b", "major": 8, "minor": 4294967296, "access": "r"}])", "linux.resources.devices[0].minor"},
  };
  for (const auto& [rules, field] : rows) {
    INFO(rules);
    auto p = BuildDevicePolicy(Rules(rules));
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(p.status().message()).starts_with(field));
  }
}

TEST_CASE("device policy: the last matching rule decides, per access, with runc's defaults after", "[device_cgroup]") {
  const DevicePolicy containerd = Policy(kContainerd);
  CHECK(containerd.Allows('c', 1, 3, kDevRead | kDevWrite));  // null: always allowed
  CHECK(containerd.Allows('c', 136, 4, kDevAll));             // a pts: the console
  CHECK(containerd.Allows('c', 10, 229, kDevMknod));          // mknod of any char node...
  CHECK_FALSE(containerd.Allows('c', 10, 229, kDevRead));     // ...which cannot then be opened
  CHECK_FALSE(containerd.Allows('c', 1, 1, kDevRead));        // /dev/mem
  CHECK_FALSE(containerd.Allows('b', 254, 0, kDevMknod));     // a pod's disk: not even mknod
  CHECK_FALSE(containerd.Allows('b', 254, 0, kDevRead | kDevWrite));

  const DevicePolicy docker = Policy(kDocker);
  CHECK(docker.Allows('c', 5, 1, kDevAll));
  CHECK(docker.Allows('c', 10, 229, kDevMknod));  // the defaults come after the spec's deny
  CHECK_FALSE(docker.Allows('c', 10, 229, kDevRead));

  const DevicePolicy privileged = Policy(kPrivileged);
  CHECK(privileged.Allows('b', 254, 0, kDevAll));
  CHECK(privileged.Allows('c', 1, 1, kDevAll));

  // Accesses granted by separate rules merge, as in cgroup v1; a later deny takes one away.
  const DevicePolicy merged = Policy(R"([{"allow": false, "access": "rwm"},
    {"allow": true, "type": "b", "major": 8, "minor": 0, "access": "r"}, {"allow": true, "type": "b", "major": 8, "minor": 0, "access": "w"},
    {"allow": true, "type": "b", "major": 8, "access": "rw"}, {"allow": false, "type": "b", "major": 8, "minor": 2, "access": "w"}])");
  CHECK(merged.Allows('b', 8, 0, kDevRead | kDevWrite));
  CHECK_FALSE(merged.Allows('b', 8, 0, kDevMknod));
  CHECK(merged.Allows('b', 8, 2, kDevRead));
  CHECK_FALSE(merged.Allows('b', 8, 2, kDevRead | kDevWrite));
  CHECK_FALSE(merged.Allows('b', 9, 0, kDevRead));

  // Allow-all, then exceptions (a blacklist).
  const DevicePolicy blacklist = Policy(R"([{"allow": true, "access": "rwm"}, {"allow": false, "type": "c", "major": 1, "minor": 1, "access": "rw"}])");
  CHECK_FALSE(blacklist.Allows('c', 1, 1, kDevRead));
  CHECK(blacklist.Allows('c', 1, 1, kDevMknod));
  CHECK(blacklist.Allows('c', 1, 2, kDevRead));

  // No rules at all: runc's defaults only.
  const DevicePolicy none = Policy("[]");
  CHECK(none.Allows('c', 1, 5, kDevRead));
  CHECK_FALSE(none.Allows('c', 4, 1, kDevRead));
}

namespace {

std::string Cgroup2Mount() {
  std::ifstream mounts("/proc/mounts");
  std::string dev, dir, type, rest;
  while (mounts >> dev >> dir >> type && std::getline(mounts, rest)) {
    if (type == "cgroup2") return dir;
  }
  return "";
}

// What the kernel answers a child in `cgroup` for each access to each node, as a string
// ("c 1:3 m+ r+ w-" ...): '+' allowed, '-' EPERM.
std::string KernelAnswers(const std::string& cgroup, const std::string& dir) {
  int pipefd[2];
  REQUIRE(::pipe(pipefd) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(pipefd[0]);
    std::ofstream(cgroup + "/cgroup.procs") << "0" << std::flush;
    std::string out;
    for (const Node& n : kNodes) {
      const std::string node = dir + "/n";
      const int made = ::mknod(node.c_str(), (n.type == 'b' ? S_IFBLK : S_IFCHR) | 0600, makedev(n.major, n.minor));
      const int mknod_err = made == 0 ? 0 : errno;
      out += std::string(1, n.type) + " " + std::to_string(n.major) + ":" + std::to_string(n.minor) +
             (mknod_err == EPERM ? " m-" : " m+");
      // The opens use a node made outside the cgroup.
      const std::string open_node = dir + "/" + n.type + std::to_string(n.major) + "_" + std::to_string(n.minor);
      for (const auto& [flag, name] : {std::pair{O_RDONLY, "r"}, std::pair{O_WRONLY, "w"}}) {
        const int fd = ::open(open_node.c_str(), flag | O_NONBLOCK);
        out += std::string(" ") + name + (fd < 0 && errno == EPERM ? "-" : "+");
        if (fd >= 0) ::close(fd);
      }
      out += "\n";
      ::unlink(node.c_str());
    }
    (void)!::write(pipefd[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(pipefd[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return out;
}

std::string PolicyAnswers(const DevicePolicy& p) {
  std::string out;
  for (const Node& n : kNodes) {
    out += std::string(1, n.type) + " " + std::to_string(n.major) + ":" + std::to_string(n.minor);
    out += p.Allows(n.type, n.major, n.minor, kDevMknod) ? " m+" : " m-";
    out += p.Allows(n.type, n.major, n.minor, kDevRead) ? " r+" : " r-";
    out += p.Allows(n.type, n.major, n.minor, kDevWrite) ? " w+" : " w-";
    out += "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("device program: the kernel answers a cgroup's processes as the policy says", "[device_cgroup][root]") {
  KATA_REQUIRE_ROOT();
  const std::string mount = Cgroup2Mount();
  if (mount.empty()) KATA_SKIP("no cgroup2 mount on this host");
  kata::testing::TempDir dir;
  for (const Node& n : kNodes) {
    const std::string node = dir.Sub(std::string(1, n.type) + std::to_string(n.major) + "_" + std::to_string(n.minor));
    REQUIRE(::mknod(node.c_str(), (n.type == 'b' ? S_IFBLK : S_IFCHR) | 0600, makedev(n.major, n.minor)) == 0);
  }
  const std::string cgroup = mount + "/kata-devtest-" + std::to_string(std::random_device{}());
  REQUIRE(::mkdir(cgroup.c_str(), 0755) == 0);
  struct Cleanup {
    std::string path;
    ~Cleanup() { ::rmdir(path.c_str()); }
  } cleanup{cgroup};
  const std::pair<const char*, const char*> cases[] = {
      {"containerd", kContainerd}, {"docker", kDocker}, {"privileged", kPrivileged},
      {"merged and narrowed", R"([{"allow": false, "access": "rwm"}, {"allow": true, "type": "b", "major": 7, "access": "r"},
        {"allow": true, "type": "b", "major": 7, "minor": 1, "access": "w"}, {"allow": true, "type": "c", "major": 10, "access": "rwm"},
        {"allow": false, "type": "c", "major": 10, "minor": 229, "access": "w"}])"},
  };
  for (const auto& [name, rules] : cases) {
    INFO(name);
    const DevicePolicy policy = Policy(rules);
    auto program = BuildDeviceProgram(policy);
    REQUIRE(program.ok());
    const absl::Status attached = AttachDeviceProgram(cgroup, *program);
    INFO(attached);
    REQUIRE(attached.ok());
    CHECK(*CountDevicePrograms(cgroup) == 1);  // the previous case's program was replaced
    CHECK(KernelAnswers(cgroup, dir.path()) == PolicyAnswers(policy));
  }
  // The agent's cache: one loaded program serves every cgroup with the same rules.
  DeviceProgramCache cache;
  const DevicePolicy containerd = Policy(kContainerd);
  auto insns = BuildDeviceProgram(containerd);
  auto first = cache.Get(*insns), again = cache.Get(*insns);
  REQUIRE((first.ok() && again.ok()));
  CHECK(first->get() == again->get());
  CHECK(cache.Get(*BuildDeviceProgram(Policy(kPrivileged)))->get() != first->get());
  REQUIRE(AttachDeviceProgram(cgroup, (*first)->get()).ok());
  CHECK(*CountDevicePrograms(cgroup) == 1);
  CHECK(KernelAnswers(cgroup, dir.path()) == PolicyAnswers(containerd));
  // A cgroup that is not there: an error naming it, nothing attached anywhere.
  auto program = BuildDeviceProgram(Policy(kContainerd));
  const absl::Status missing = AttachDeviceProgram(cgroup + "/nope", *program);
  CHECK(std::string(missing.message()).find(cgroup + "/nope") != std::string::npos);
}
