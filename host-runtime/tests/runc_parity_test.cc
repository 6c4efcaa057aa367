// runc as the oracle: the same bundle, from specs real tools make (`runc spec`, `ctr oci spec`),
// run by `runc run` on the host and by `kata-runtime run` in a VM (a 9p directory rootfs and a
// multi-layer EROFS rootfs); tests/parity/probe.sh prints what the container sees as key=value
// lines, compared key by key. The differences a VM legitimately has are listed once, in
// kLegitimateDifferences, with why.

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "host-runtime/rootfs/rootfs_plan.h"
#include "host-runtime/sandbox/sandbox.h"
#include "host-runtime/tests/cni_network.h"
#include "host-runtime/tests/host_loop.h"
#include "host-runtime/tests/vm_test_support.h"
#include "libkata/oci/spec.h"
#include "libkata/testing/test_support.h"

using json = nlohmann::json;
using kata::runtime::testing::Capture;
using kata::runtime::testing::ImageDir;
using kata::runtime::testing::Sh;
using kata::testing::TempDir;
using kata::testing::WriteFile;

namespace {

using Facts = std::map<std::string, std::string>;

// Keys (or key prefixes, ending in '*') whose values differ between the host and a VM by design.
struct Legitimate {
  std::string key;
  std::string why;
};
const Legitimate kLegitimateDifferences[] = {
    {"cgroup", "this host runs cgroup v1 (hybrid); the VM is cgroup v2 only (checked on its own below)"},
    {"mount./sys/fs/cgroup*", "v1 hierarchies under runc here; one cgroup2 mount in the VM (checked on its own below)"},
    {"limit.*", "a limit the spec does not set is inherited from the runtime's parent: the test on the host, the agent in "
                "the VM (limits the spec sets are compared)"},
    {"hostname", "without a spec hostname a new UTS namespace keeps its parent's name: the host's or the VM's"},
    {"mknod.b", "runc always allows mknod of block nodes (b *:* m); in the VM every block device is a pod's disk, so only "
                "the spec's rules allow it (docs/oci-spec.md)"},
};

bool Matches(const std::string& pattern, const std::string& key) {
  if (pattern.ends_with('*')) return key.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == key;
}

Facts ParseFacts(const std::string& out) {
  Facts f;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    f[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return f;
}

std::string ProbeDir() { return std::string(KATA_TESTS_DIR) + "/parity"; }

// busybox, the probe, and an /etc/passwd with homes for the users the variants take.
void MakeRootfs(const std::string& dir) {
  kata::testing::MakeBusyboxRootfs(dir);
  Sh("cp " + ProbeDir() + "/probe.sh " + dir + "/probe.sh");
  WriteFile(dir + "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n");
  WriteFile(dir + "/etc/group", "root:x:0:\nuser:x:1000:\n");
  kata::testing::MakeDirs(dir + "/root");
  // A hostile image: symlinks to /proc's dangerous files at its root, and in its own /proc
  // (covered by procfs) links that would lead writes elsewhere.
  kata::testing::MakeDirs(dir + "/proc/sys/kernel");
  Sh("ln -s /proc/sysrq-trigger " + dir + "/image-sysrq && ln -s /proc/sys/kernel/core_pattern " + dir +
     "/image-core-pattern && ln -s /tmp " + dir + "/proc/sys/kernel/x && ln -s /tmp/trigger " + dir + "/proc/sysrq-trigger");
}

json ToolSpec(const std::string& tool, const TempDir& tmp) {
  std::string text;
  if (tool == "runc") {
    const std::string dir = tmp.Sub("runc-spec");
    kata::testing::MakeDirs(dir);
    Sh("cd " + dir + " && runc spec");
    text = kata::testing::ReadFile(dir + "/config.json");
  } else {
    text = Capture("ctr oci spec");
  }
  // `ctr oci spec` leaves env to the image config (`ctr run` adds its PATH); without PATH runc
  // finds no bare command name.
  json spec = json::parse(text);
  spec["root"]["path"] = "rootfs";
  spec["process"]["terminal"] = false;
  spec["process"]["args"] = {"sh", "/probe.sh"};
  if (!spec["process"].contains("env")) spec["process"]["env"] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  return spec;
}

// The variations each spec is also run with: what users change most.
json Varied(json spec) {
  spec["root"]["readonly"] = !spec["root"].value("readonly", false);
  spec["hostname"] = "parity";
  auto& p = spec["process"];
  p["user"] = {{"uid", 1000}, {"gid", 1000}, {"additionalGids", {10, 20}}, {"umask", 027}};
  p["cwd"] = "/work/dir";  // missing in the image: made, as runc makes it
  for (const char* set : {"bounding", "effective", "permitted", "inheritable", "ambient"}) {
    p["capabilities"][set] = {"CAP_NET_ADMIN", "CAP_SYS_PTRACE", "CAP_KILL"};
  }
  p["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 512}, {"hard", 777}},
                  {{"type", "RLIMIT_NPROC"}, {"soft", 300}, {"hard", 400}},
                  {{"type", "RLIMIT_CORE"}, {"soft", 0}, {"hard", 1048576}}};
  p["oomScoreAdj"] = 123;
  p["noNewPrivileges"] = true;
  spec["linux"]["sysctl"] = {{"kernel.shmmax", "123456789"}, {"net.ipv4.ip_forward", "1"}};
  // A host directory bound recursively read-only (mount_setattr), as a volume would be.
  spec["mounts"].push_back({{"destination", "/data"}, {"type", "bind"}, {"source", "/usr/share/doc"}, {"options", {"rbind", "rro"}}});
  // podman's tmpcopyup: the image's /etc copied into a fresh tmpfs.
  spec["mounts"].push_back({{"destination", "/etc"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                            {"options", {"nosuid", "nodev", "tmpcopyup", "size=1m"}}});
  bool has_net = false;
  for (const auto& ns : spec["linux"]["namespaces"]) has_net = has_net || ns["type"] == "network";
  if (!has_net) spec["linux"]["namespaces"].push_back({{"type", "network"}});
  return spec;
}

struct Run {
  std::string out;
  int status = -1;
};

Run RunCommand(const std::string& command) {
  INFO(command);
  Run r;
  FILE* p = ::popen(command.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string WriteBundle(const TempDir& tmp, const std::string& name, const json& spec, bool with_rootfs) {
  const std::string bundle = tmp.Sub(name);
  kata::testing::MakeDirs(bundle);
  if (with_rootfs) MakeRootfs(bundle + "/rootfs");
  WriteFile(bundle + "/config.json", spec.dump(2));
  return bundle;
}

std::string WriteConfig(const TempDir& tmp) {
  const std::string path = tmp.Sub("kata.yaml");
  WriteFile(path, "hypervisor:\n  kernel: " + ImageDir() + "/vmlinux\n  initrd: " + ImageDir() +
                      "/kata-initrd.img\n  memory_mib: 512\n  hotplug_root_ports: 6\n  accel: auto\n"
                      "agent:\n  hotplug_timeout: 10s\nruntime:\n  state_dir: " + tmp.Sub("kata-state") + "\n");
  return path;
}

// Two EROFS layers (the image without the probe; the probe) and an ext4 upper, as containerd's
// EROFS snapshotter hands them over.
std::string WriteErofsMounts(const TempDir& tmp, const std::string& name) {
  const std::string base = tmp.Sub(name + "-base"), top = tmp.Sub(name + "-top");
  MakeRootfs(base);
  kata::testing::MakeDirs(top);
  Sh("mv " + base + "/probe.sh " + top + "/probe.sh");
  Sh("mkfs.erofs --quiet " + tmp.Sub(name + "-base.erofs") + " " + base);
  Sh("mkfs.erofs --quiet " + tmp.Sub(name + "-top.erofs") + " " + top);
  Sh("mkfs.ext4 -q -F " + tmp.Sub(name + "-rw.img") + " 32M");
  json mounts = json::array();
  mounts.push_back({{"type", "ext4"}, {"source", tmp.Sub(name + "-rw.img")}, {"options", {"rw", "loop"}}});
  mounts.push_back({{"type", "erofs"}, {"source", tmp.Sub(name + "-top.erofs")}, {"options", {"ro", "loop"}}});
  mounts.push_back({{"type", "erofs"}, {"source", tmp.Sub(name + "-base.erofs")}, {"options", {"ro", "loop"}}});
  mounts.push_back({{"type", "format/mkdir/overlay"}, {"source", "overlay"},
                    {"options", {"X-containerd.mkdir.path={{ mount 0 }}/upper:0755", "upperdir={{ mount 0 }}/upper",
                                 "workdir={{ mount 0 }}/work", "lowerdir={{ mount 1 }}:{{ mount 2 }}"}}});
  const std::string path = tmp.Sub(name + "-mounts.json");
  WriteFile(path, mounts.dump());
  return path;
}

Facts RunRunc(const TempDir& tmp, const std::string& name, const json& spec) {
  const std::string bundle = WriteBundle(tmp, name + "-runc", spec, true);
  const Run r = RunCommand("runc --root " + tmp.Sub("runc-state") + " run --bundle " + bundle + " parity-" + name + " 2>" +
                           tmp.Sub(name + "-runc.err"));
  INFO(r.out << kata::testing::ReadFile(tmp.Sub(name + "-runc.err")));
  REQUIRE(r.status == 0);
  return ParseFacts(r.out);
}

Facts RunKata(const TempDir& tmp, const std::string& name, const json& spec, bool erofs) {
  const std::string kind = erofs ? "erofs" : "9p";
  const std::string bundle = WriteBundle(tmp, name + "-" + kind, spec, !erofs);
  std::string cmd = std::string(KATA_RUNTIME_BIN) + " --config " + WriteConfig(tmp) + " run --bundle " + bundle;
  if (erofs) cmd += " --rootfs-mounts " + WriteErofsMounts(tmp, name);
  const Run r = RunCommand(cmd + " parity-" + name + "-" + kind + " 2>" + tmp.Sub(name + "-" + kind + ".err"));
  INFO(r.out << kata::testing::ReadFile(tmp.Sub(name + "-" + kind + ".err")));
  REQUIRE(r.status == 0);
  return ParseFacts(r.out);
}

// Host paths bound into the container: their filesystem and subtree are the share's in the VM.
std::set<std::string> HostBindDestinations(const json& spec) {
  std::set<std::string> out;
  for (const auto& m : spec.value("mounts", json::array())) {
    bool bind = m.value("type", "") == "bind";
    for (const auto& o : m.value("options", json::array())) bind = bind || o == "bind" || o == "rbind";
    if (bind) out.insert(m["destination"].get<std::string>());
  }
  return out;
}

// Key by key; returns the differences not explained by kLegitimateDifferences.
std::vector<std::string> Compare(const Facts& runc, const Facts& kata, const std::set<std::string>& host_binds = {}) {
  std::set<std::string> keys;
  for (const auto& [k, v] : runc) keys.insert(k);
  for (const auto& [k, v] : kata) keys.insert(k);
  auto value = [](const Facts& f, const std::string& k) {
    auto it = f.find(k);
    return it == f.end() ? std::string("<missing>") : it->second;
  };
  // A masked path the other kernel lacks is no difference of ours (nor is its mount).
  auto kernel_lacks = [&](const std::string& path) {
    const std::string a = value(runc, "masked." + path), b = value(kata, "masked." + path);
    return (a == "absent") != (b == "absent");
  };
  std::vector<std::string> diffs;
  for (const std::string& k : keys) {
    std::string a = value(runc, k), b = value(kata, k);
    if (a == b) continue;
    bool legit = false;
    for (const Legitimate& l : kLegitimateDifferences) legit = legit || Matches(l.key, k);
    if (k.starts_with("masked.") && kernel_lacks(k.substr(7))) legit = true;
    if (k.starts_with("mount.") && kernel_lacks(k.substr(6, k.find('#') == std::string::npos ? std::string::npos : k.find('#') - 6))) legit = true;
    if (k == "dev.core" && kernel_lacks("/proc/kcore")) legit = true;
    std::string dest = k.starts_with("mount.") ? k.substr(6) : "";
    if (dest.find('#') != std::string::npos) dest = dest.substr(0, dest.find('#'));
    if (k == "mount./" || host_binds.count(dest)) {
      // The root's or a host bind's filesystem (overlay or 9p, the host's under runc) and
      // subtree differ; the read-only flag must not. The VM's shares are nodev by design.
      a = a.substr(a.find(' ') + 1, a.find(" root=") - a.find(' ') - 1);
      b = b.substr(b.find(' ') + 1, b.find(" root=") - b.find(' ') - 1);
      legit = a.substr(0, 2) == b.substr(0, 2);
    }
    if (!legit) diffs.push_back(k + ": runc=" + value(runc, k) + " kata=" + value(kata, k));
  }
  return diffs;
}

// What runc does on a cgroup v2 host, checked in the VM (this host cannot show it).
void CheckGuestCgroup(const json& spec, const Facts& kata) {
  bool wants_cgroup_mount = false;
  for (const auto& m : spec.value("mounts", json::array())) wants_cgroup_mount = wants_cgroup_mount || m["type"] == "cgroup";
  if (wants_cgroup_mount) {
    auto it = kata.find("mount./sys/fs/cgroup");
    REQUIRE(it != kata.end());
    CHECK(it->second.starts_with("cgroup2 ro,nosuid,nodev,noexec"));
  }
  auto cg = kata.find("cgroup");
  REQUIRE(cg != kata.end());
  CHECK(cg->second.starts_with("0::/"));
}

// Returns what the container saw on the EROFS rootfs (the last run).
Facts Differential(const std::string& name, const json& spec) {
  TempDir tmp;
  const Facts runc = RunRunc(tmp, name, spec);
  REQUIRE(runc.count("probe"));
  Facts last;
  for (bool erofs : {false, true}) {
    const Facts kata = RunKata(tmp, name, spec, erofs);
    last = kata;
    INFO(name << (erofs ? " (multi-layer EROFS rootfs)" : " (9p directory rootfs)"));
    REQUIRE(kata.count("probe"));
    for (const std::string& dest : HostBindDestinations(spec)) CHECK(kata.count("mount." + dest));  // really compared
    const std::vector<std::string> diffs = Compare(runc, kata, HostBindDestinations(spec));
    std::string listed;
    for (const auto& d : diffs) listed += d + "\n";
    INFO("differences:\n" << listed);
    CHECK(diffs.empty());
    CheckGuestCgroup(spec, kata);
  }
  return last;
}

#define KATA_REQUIRE_PARITY_TOOLS()                                                      \
  do {                                                                                   \
    KATA_REQUIRE_VM();                                                                   \
    if (std::system("command -v runc >/dev/null && command -v ctr >/dev/null") != 0) {  \
      KATA_SKIP("runc and ctr are needed (Debian's runc and containerd)");              \
    }                                                                                    \
  } while (0)

}  // namespace

TEST_CASE("runc parity: `runc spec`'s bundle, as it is and varied", "[parity][e2e]") {
  KATA_REQUIRE_PARITY_TOOLS();
  const json spec = ToolSpec("runc", TempDir());
  SECTION("as made") { Differential("runc", spec); }
  SECTION("varied") { Differential("runc-varied", Varied(spec)); }
}

TEST_CASE("runc parity: `ctr oci spec`'s bundle, as it is and varied", "[parity][e2e]") {
  KATA_REQUIRE_PARITY_TOOLS();
  const json spec = ToolSpec("ctr", TempDir());
  SECTION("as made") { Differential("ctr", spec); }
  SECTION("varied") { Differential("ctr-varied", Varied(spec)); }
}

// The default seccomp profiles and device rules of containerd (`ctr run --seccomp`, i.e.
// RuntimeDefault) and docker, as those tools put them in the spec: captured from containerd
// 1.6.20 (`ctr container info`) and docker.io 20.10.24 (the bundle's config.json) into
// parity/*.json.
TEST_CASE("runc parity: `ctr oci spec`'s bundle with containerd's and docker's default seccomp profiles", "[parity][e2e]") {
  KATA_REQUIRE_PARITY_TOOLS();
  for (const char* tool : {"containerd-runtime-default", "docker-default"}) {
    INFO(tool);
    json spec = ToolSpec("ctr", TempDir());
    const json captured = json::parse(kata::testing::ReadFile(ProbeDir() + "/" + tool + ".json"));
    spec["linux"]["seccomp"] = captured["seccomp"];
    spec["linux"]["resources"]["devices"] = captured["devices"];
    const Facts kata = Differential(tool, spec);
    CHECK(kata.at("status.Seccomp") == "2");
    CHECK(kata.at("status.Seccomp_filters") == "1");
    CHECK(kata.at("syscall.unshare") == "1");  // refused by the profile (EPERM), under runc too
    CHECK(kata.at("open.c") == "denied");
    CHECK(kata.at("mknod.b") == "denied");
    CHECK(kata.at("write./image-sysrq") == "denied");
    CHECK(kata.at("write./image-core-pattern") == "denied");
  }
}

// `ctr run --device` as `ctr oci spec` plus what containerd's WithLinuxDevice adds: host block
// devices by their host numbers, with rules allowing one to be written and one only read.
// runc opens the host's nodes; kata-runtime run hot-plugs them and the agent renumbers them.
TEST_CASE("runc parity: host block devices in linux.devices read, write and refuse as under runc", "[parity][e2e][devices]") {
  KATA_REQUIRE_PARITY_TOOLS();
  TempDir tmp;
  kata::runtime::testing::HostLoop a(tmp, "a", "device-a"), b(tmp, "b", "device-b");
  json spec = ToolSpec("ctr", tmp);
  spec["linux"]["devices"] = {json::parse(a.Entry("/dev/xa")), json::parse(b.Entry("/dev/xb"))};
  spec["linux"]["resources"]["devices"].push_back(json::parse(a.Allow("rwm")));
  spec["linux"]["resources"]["devices"].push_back(json::parse(b.Allow("r")));
  spec["process"]["env"].push_back("PROBE_DEVICES=/dev/xa /dev/xb");
  const Facts kata = Differential("devices", spec);
  CHECK(kata.at("device./dev/xa.node") == "block special file 660 0:0");
  CHECK(kata.at("device./dev/xa.read") == "device-a");
  CHECK(kata.at("device./dev/xa.write") == "from-ctr");
  CHECK(kata.at("device./dev/xb.read") == "device-b");
  CHECK(kata.at("device./dev/xb.write") == "denied");
}

// `ctr run --with-ns network:PATH` (and CRI's sandbox) as `ctr oci spec` plus the CNI netns's
// path: runc joins the namespace; kata-runtime gives its veth to the VM as a NIC, which the
// agent configures as CNI configured the veth.
TEST_CASE("runc parity: a CNI network namespace: the same links, addresses, routes and MTU, and the gateway answers",
          "[parity][e2e][network]") {
  KATA_REQUIRE_PARITY_TOOLS();
  TempDir tmp;
  kata::runtime::testing::CniNetwork cni(tmp, 1400);
  json spec = ToolSpec("ctr", tmp);
  for (auto& ns : spec["linux"]["namespaces"]) {
    if (ns["type"] == "network") ns["path"] = cni.netns_path();
  }
  spec["process"]["env"].push_back("PROBE_NETWORK=" + cni.gateway4());
  const std::string before = cni.Plumbing();
  const Facts kata = Differential("network", spec);
  CHECK(kata.at("net.eth0") == cni.mac() + " mtu 1400 up");
  CHECK(kata.at("net.ipv4").find("eth0 " + cni.ipv4() + "/24") != std::string::npos);
  CHECK(kata.at("net.ipv6").find("eth0 " + cni.ipv6() + "/64") != std::string::npos);
  CHECK(kata.at("net.routes4").find("default via " + cni.gateway4() + " dev eth0") != std::string::npos);
  CHECK(kata.at("net.routes6").find("default via " + cni.gateway6() + " dev eth0") != std::string::npos);
  CHECK(kata.at("net.ping") == "ok");
  CHECK(kata.at("net.lo").find("UP") != std::string::npos);
  CHECK(cni.Plumbing() == before);  // no tap, no qdisc left
}

TEST_CASE("runc parity: OCI hooks run in the same order with the same states", "[parity][e2e]") {
  KATA_REQUIRE_PARITY_TOOLS();
  TempDir tmp;
  const std::string hook = tmp.Sub("hook.sh");
  WriteFile(hook, "#!/bin/sh\nstate=$(cat)\nstatus=$(echo \"$state\" | sed -n 's/.*\"status\": *\"\\([a-z]*\\)\".*/\\1/p')\n"
                  "id=$(echo \"$state\" | sed -n 's/.*\"id\": *\"\\([^\"]*\\)\".*/\\1/p')\n"
                  "echo \"$1 $status $id\" >> \"$2\"\n");
  REQUIRE(::chmod(hook.c_str(), 0755) == 0);
  json spec = ToolSpec("runc", tmp);
  auto hooks_logging_to = [&](const std::string& log) {
    json hooks;
    for (const char* name : {"prestart", "createRuntime", "createContainer", "poststart", "poststop"}) {
      hooks[name] = json::array({{{"path", hook}, {"args", {"hook.sh", name, log}}, {"timeout", 10}}});
    }
    return hooks;
  };
  spec["hooks"] = hooks_logging_to(tmp.Sub("runc.log"));
  (void)RunRunc(tmp, "hooks", spec);
  spec["hooks"] = hooks_logging_to(tmp.Sub("kata.log"));
  (void)RunKata(tmp, "hooks", spec, false);
  const std::string runc_log = kata::testing::ReadFile(tmp.Sub("runc.log"));
  std::string kata_log = kata::testing::ReadFile(tmp.Sub("kata.log"));
  // Same hooks, same order, same states; only the container ids differ (one per runtime).
  const std::string runc_id = "parity-hooks", kata_id = "parity-hooks-9p";
  for (size_t at; (at = kata_log.find(kata_id)) != std::string::npos;) kata_log.replace(at, kata_id.size(), runc_id);
  CHECK(runc_log == "prestart creating " + runc_id + "\ncreateRuntime creating " + runc_id + "\ncreateContainer creating " +
                        runc_id + "\npoststart created " + runc_id + "\npoststop stopped " + runc_id + "\n");
  CHECK(kata_log == runc_log);
}

namespace {

// A pod as containerd 1.6's CRI plugin shapes it (../shared/reference/cri-pods.md): the
// sandbox (pause) container holds the pod's namespaces; an app container joins its ipc, uts
// and network namespaces by path, gets a cgroup mount, /etc/hosts, /etc/hostname,
// /etc/resolv.conf, /dev/shm and /dev/termination-log binds, CRI's env and annotations.
// Seccomp (RuntimeDefault) is left to the isolation issue's test.
json PodSandboxSpec(const TempDir& tmp, const std::string& netns) {
  json spec = ToolSpec("ctr", tmp);
  spec["process"]["args"] = {"sleep", "1000"};
  spec["hostname"] = "parity-pod";
  json mounts = json::array();
  for (const auto& m : spec["mounts"]) if (m["destination"] != "/run") mounts.push_back(m);
  spec["mounts"] = mounts;
  spec["linux"]["namespaces"] = {{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}},
                                 {{"type", "network"}, {"path", netns}}};
  spec["annotations"] = {{"io.kubernetes.cri.container-type", "sandbox"}, {"io.kubernetes.cri.sandbox-id", "parity-pod"}};
  return spec;
}

struct PodCase {
  bool share_pid = false;  // the pod's PID namespace (CRI's NamespaceMode POD) or the container's own
  bool erofs = false;      // the app's rootfs: multi-layer EROFS, or a 9p directory
  bool varied = false;     // Varied() on top of CRI's shape
  std::string Name() const {
    return std::string(share_pid ? "pod PID namespace" : "own PID namespace") + (erofs ? ", EROFS rootfs" : ", 9p rootfs") +
           (varied ? ", varied" : "");
  }
};

json PodContainerSpec(const TempDir& tmp, pid_t pause_pid, const PodCase& pod) {
  const bool share_pid = pod.share_pid;
  json spec = ToolSpec("ctr", tmp);
  spec["process"]["env"] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=parity-pod",
                            "KUBERNETES_SERVICE_HOST=10.0.0.1"};
  spec["process"]["noNewPrivileges"] = false;
  spec["process"]["oomScoreAdj"] = 1000;
  const std::string ns = "/proc/" + std::to_string(pause_pid) + "/ns/";
  spec["linux"]["namespaces"] = {{{"type", "ipc"}, {"path", ns + "ipc"}}, {{"type", "uts"}, {"path", ns + "uts"}},
                                 {{"type", "network"}, {"path", ns + "net"}}, {{"type", "mount"}}};
  spec["linux"]["namespaces"].push_back(share_pid ? json{{"type", "pid"}, {"path", ns + "pid"}} : json{{"type", "pid"}});
  json mounts = json::array();
  for (const auto& m : spec["mounts"]) if (m["destination"] != "/run") mounts.push_back(m);
  mounts.push_back({{"destination", "/sys/fs/cgroup"}, {"type", "cgroup"}, {"source", "cgroup"},
                    {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}});
  const std::string files = tmp.Sub("pod-files");
  kata::testing::MakeDirs(files + "/shm");
  WriteFile(files + "/hosts", "127.0.0.1 localhost\n10.1.2.3 parity-pod\n");
  WriteFile(files + "/hostname", "parity-pod\n");
  WriteFile(files + "/resolv.conf", "nameserver 10.0.0.10\nsearch default.svc.cluster.local\n");
  WriteFile(files + "/termination-log", "");
  for (const auto& [dest, src, ro] : std::initializer_list<std::tuple<const char*, const char*, bool>>{
           {"/etc/hosts", "hosts", false}, {"/etc/hostname", "hostname", false}, {"/etc/resolv.conf", "resolv.conf", true},
           {"/dev/shm", "shm", false}, {"/dev/termination-log", "termination-log", false}}) {
    mounts.push_back({{"destination", dest}, {"type", "bind"}, {"source", files + "/" + src},
                      {"options", {"rbind", "rprivate", ro ? "ro" : "rw"}}});
  }
  spec["mounts"] = mounts;
  spec["annotations"] = {{"io.kubernetes.cri.container-type", "container"}, {"io.kubernetes.cri.sandbox-id", "parity-pod"},
                         {"io.kubernetes.cri.container-name", "app"}};
  // The probe also reads the pod's files.
  spec["process"]["args"] = {"sh", "-c", "echo \"file.hosts=$(tail -n1 /etc/hosts)\"; echo \"file.resolv=$(head -n1 /etc/resolv.conf)\"; "
                                         "echo \"pid1=$(cat /proc/1/comm)\"; exec sh /probe.sh"};
  return pod.varied ? Varied(spec) : spec;
}

// runc: the pause as a detached runc container, the app joining it by its /proc paths.
Facts RunPodUnderRunc(const TempDir& tmp, const PodCase& pod) {
  const std::string netns = "parity-" + std::to_string(::getpid());
  Sh("ip netns add " + netns + " && ip netns exec " + netns + " ip link set lo up");
  const std::string state = tmp.Sub("runc-state");
  const std::string pause = WriteBundle(tmp, "pod-pause-runc", PodSandboxSpec(tmp, "/var/run/netns/" + netns), true);
  Sh("runc --root " + state + " run --detach --bundle " + pause + " parity-pod </dev/null");
  const json st = json::parse(Capture("runc --root " + state + " state parity-pod"));
  const pid_t pid = st["pid"].get<pid_t>();
  const std::string app = WriteBundle(tmp, "pod-app-runc", PodContainerSpec(tmp, pid, pod), true);
  const Run r = RunCommand("runc --root " + state + " run --bundle " + app + " parity-app 2>" + tmp.Sub("app-runc.err"));
  Sh("runc --root " + state + " kill parity-pod KILL; sleep 0.2; runc --root " + state + " delete -f parity-pod; ip netns del " + netns);
  INFO(r.out);
  REQUIRE(r.status == 0);
  return ParseFacts(r.out);
}

// Ours: one VM, the pause as the sandbox's own container, the app joining it.
Facts RunPodUnderKata(const TempDir& tmp, const PodCase& pod) {
  auto config = kata::runtime::testing::VmConfig(tmp);
  config.hypervisor.hotplug_root_ports = 4;  // an upper and two EROFS layers
  auto sb = kata::runtime::Sandbox::Create("parity-pod", config);
  INFO(sb.status());
  REQUIRE(sb.ok());
  auto spec_of = [](const json& j) {
    auto spec = kata::oci::ParseSpecJson(j.dump(), "pod spec");
    REQUIRE(spec.ok());
    return *spec;
  };
  const std::string pause = WriteBundle(tmp, "pod-pause-kata", PodSandboxSpec(tmp, "/var/run/netns/cni-x"), true);
  absl::Status s = (*sb)->CreateContainer("parity-pod", spec_of(PodSandboxSpec(tmp, "/var/run/netns/cni-x")),
                                          {kata::runtime::BundleRootfsMount(pause, "rootfs")}, pause);
  INFO(s);
  REQUIRE(s.ok());
  REQUIRE((*sb)->StartContainer("parity-pod").ok());
  const std::string app = WriteBundle(tmp, "pod-app-kata", PodContainerSpec(tmp, 4242, pod), !pod.erofs);
  std::vector<kata::runtime::RootfsMount> app_rootfs = {kata::runtime::BundleRootfsMount(app, "rootfs")};
  if (pod.erofs) {
    auto parsed = kata::runtime::ParseRootfsMountsJson(kata::testing::ReadFile(WriteErofsMounts(tmp, "pod-app")));
    REQUIRE(parsed.ok());
    app_rootfs = *parsed;
  }
  s = (*sb)->CreateContainer("parity-app", spec_of(PodContainerSpec(tmp, 4242, pod)), app_rootfs, app);
  INFO(s);
  REQUIRE(s.ok());
  const absl::Status started = (*sb)->StartContainer("parity-app");
  INFO(started);
  REQUIRE(started.ok());
  std::string out;
  for (;;) {
    auto chunk = (*sb)->ReadOutput("parity-app", "", false);
    if (!chunk.ok()) break;
    out += *chunk;
  }
  auto status = (*sb)->WaitProcess("parity-app");
  REQUIRE(status.ok());
  CHECK(*status == 0);
  // As CRI stops a pod: its sandbox container is killed, then the sandbox goes.
  REQUIRE((*sb)->SignalProcess("parity-pod", "", SIGKILL).ok());
  REQUIRE((*sb)->WaitProcess("parity-pod").ok());
  const absl::Status destroyed = (*sb)->Destroy();
  INFO(destroyed);
  REQUIRE(destroyed.ok());
  return ParseFacts(out);
}

}  // namespace

TEST_CASE("runc parity: a pod container shaped as containerd's CRI makes it, joining its sandbox", "[parity][e2e]") {
  KATA_REQUIRE_PARITY_TOOLS();
  for (const PodCase& pod : {PodCase{false, false, false}, PodCase{true, true, false}, PodCase{true, false, true}}) {
    INFO(pod.Name());
    TempDir tmp;
    const Facts runc = RunPodUnderRunc(tmp, pod);
    const Facts kata = RunPodUnderKata(tmp, pod);
    REQUIRE(runc.count("probe"));
    REQUIRE(kata.count("probe"));
    // The sandbox's UTS namespace (whose name the varied spec sets, as runc sets it in a joined one).
    CHECK(kata.at("hostname") == (pod.varied ? "parity" : "parity-pod"));
    if (!pod.varied) CHECK(kata.at("file.hosts") == "10.1.2.3 parity-pod");  // varied: /etc is a tmpcopyup tmpfs
    CHECK(kata.at("pid1") == (pod.share_pid ? "sleep" : "sh"));
    Facts runc_facts = runc, kata_facts = kata;
    if (pod.share_pid) {
      // Its number in the pod's PID namespace depends on what ran there before it.
      runc_facts.erase("pid.self");
      kata_facts.erase("pid.self");
    }
    const std::vector<std::string> diffs = Compare(runc_facts, kata_facts, HostBindDestinations(PodContainerSpec(tmp, 1, pod)));
    std::string listed;
    for (const auto& d : diffs) listed += d + "\n";
    INFO("differences:\n" << listed);
    CHECK(diffs.empty());
  }
}
