// What guest isolation costs a container start, measured side by side in one run: the work
// the agent adds per container for containerd's RuntimeDefault seccomp profile (compile with
// libseccomp, load in the child before exec) and its device rules (build the BPF program,
// load and attach it to the container's cgroup), against the same start without them.
// Target (issue 13): under 5 ms each. Needs root and a cgroup2 mount (this host's unified
// hierarchy will do). Usage: isolation-bench [iterations]

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "guest-agent/device_cgroup/device_filter.h"
#include "guest-agent/device_cgroup/device_program.h"
#include "guest-agent/device_cgroup/device_rules.h"
#include "guest-agent/seccomp/seccomp_program.h"
#include "libkata/oci/spec.h"

using namespace kata::guest;
using Clock = std::chrono::steady_clock;

namespace {

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// fork, (load the filter), exec /bin/true, wait: a container process's start and end.
double ForkExec(const SeccompProgram* program) {
  const auto t = Clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (program != nullptr && (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || LoadSeccompProgram(*program) != 0)) ::_exit(99);
    char* const argv[] = {const_cast<char*>("true"), nullptr};
    ::execv("/bin/true", argv);
    ::_exit(98);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "isolation-bench: the child failed (status %d)\n", status);
    std::exit(1);
  }
  return Ms(Clock::now() - t);
}

std::string Cgroup2Mount() {
  std::ifstream mounts("/proc/mounts");
  std::string dev, dir, type, rest;
  while (mounts >> dev >> dir >> type && std::getline(mounts, rest)) {
    if (type == "cgroup2") return dir;
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 50;
  std::ifstream in(std::string(KATA_BENCH_DATA) + "/containerd-runtime-default.json");
  const nlohmann::json data = nlohmann::json::parse(in);
  nlohmann::json spec = {{"ociVersion", "1.1.0"}, {"root", {{"path", "/r"}}}, {"process", {{"args", {"true"}}, {"cwd", "/"}}},
                         {"linux", {{"seccomp", data["seccomp"]}, {"resources", {{"devices", data["devices"]}}}}}};
  auto parsed = kata::oci::ParseSpecJson(spec.dump(), "bench spec");
  if (!parsed.ok()) {
    std::fprintf(stderr, "isolation-bench: %s\n", std::string(parsed.status().message()).c_str());
    return 1;
  }
  const std::string mount = Cgroup2Mount();
  if (::geteuid() != 0 || mount.empty()) {
    std::fprintf(stderr, "isolation-bench: needs root and a cgroup2 mount\n");
    return 1;
  }
  SeccompProgramCache cache;  // the agent's: a pod's containers share their profile
  std::vector<double> cached_compile;
  std::vector<double> compile, with_filter, without_filter, attach, bare_cgroup;
  for (int i = 0; i < n; ++i) {
    // Seccomp: the agent compiles the profile per container; the child loads it.
    auto t = Clock::now();
    auto program = CompileSpecSeccomp(parsed->linux());
    compile.push_back(Ms(Clock::now() - t));
    t = Clock::now();
    auto cached = cache.Get(parsed->linux());
    cached_compile.push_back(Ms(Clock::now() - t));
    if (!cached.ok()) return 1;
    if (!program.ok()) {
      std::fprintf(stderr, "isolation-bench: %s\n", std::string(program.status().message()).c_str());
      return 1;
    }
    without_filter.push_back(ForkExec(nullptr));
    with_filter.push_back(ForkExec(&*program));
    // Device rules: a container's cgroup made with and without its program.
    // Two names: a cgroup made again under a name just removed waits for the old one to go.
    const std::string name = mount + "/kata-bench-" + std::to_string(std::random_device{}());
    const std::string bare = name + "-bare", cgroup = name + "-devices";
    t = Clock::now();
    ::mkdir(bare.c_str(), 0755);
    bare_cgroup.push_back(Ms(Clock::now() - t));
    ::rmdir(bare.c_str());
    t = Clock::now();
    ::mkdir(cgroup.c_str(), 0755);
    auto policy = BuildDevicePolicy(parsed->linux().resources().devices());
    auto insns = BuildDeviceProgram(*policy);
    const absl::Status attached = AttachDeviceProgram(cgroup, *insns);
    attach.push_back(Ms(Clock::now() - t));
    ::rmdir(cgroup.c_str());
    if (!attached.ok()) {
      std::fprintf(stderr, "isolation-bench: %s\n", std::string(attached.message()).c_str());
      return 1;
    }
  }
  const double load_cost = Median(with_filter) - Median(without_filter);
  const double seccomp_cost = Median(cached_compile) + load_cost;
  const double device_cost = Median(attach) - Median(bare_cgroup);
  std::printf("isolation-bench: %d runs, medians (ms); the RuntimeDefault program: %zu instructions\n", n,
              CompileSpecSeccomp(parsed->linux())->instructions.size());
  std::printf("  seccomp (RuntimeDefault): compile %.3f (a pod's first container), from the agent's cache %.3f; fork+exec with "
              "the filter %.3f, without %.3f -> +%.3f ms per start (+%.3f for the first)\n",
              Median(compile), Median(cached_compile), Median(with_filter), Median(without_filter), seccomp_cost,
              Median(compile) + load_cost);
  std::printf("  device rules (containerd's): cgroup + program %.3f, bare cgroup %.3f -> +%.3f ms per start\n", Median(attach),
              Median(bare_cgroup), device_cost);
  std::printf("  target under 5 ms each: seccomp %s (a pod's first container: %s), device rules %s\n",
              seccomp_cost < 5 ? "met" : "MISSED", Median(compile) + load_cost < 5 ? "met" : "MISSED, libseccomp's compile",
              device_cost < 5 ? "met" : "MISSED");
  std::printf("kata-bench: seccomp_cost_ms=%.3f\nkata-bench: seccomp_first_cost_ms=%.3f\nkata-bench: device_rules_cost_ms=%.3f\n",
              seccomp_cost, Median(compile) + load_cost, device_cost);
  std::printf("kata-bench: fork_exec_ms=%.3f\nkata-bench: bare_cgroup_ms=%.3f\n", Median(without_filter), Median(bare_cgroup));
  return 0;
}
