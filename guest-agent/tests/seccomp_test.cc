// linux.seccomp: the profile (pure, with hostile profiles refused by field), and the compiled
// program loaded for real in a forked child, whose syscalls then get the profile's answers.

#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <nlohmann/json.hpp>

#include "guest-agent/seccomp/enosys_stub.h"
#include "guest-agent/seccomp/seccomp_profile.h"
#include "guest-agent/seccomp/seccomp_program.h"
#include "libkata/oci/spec.h"
#include "libkata/testing/test_support.h"

using namespace kata::guest;
namespace oci = kata::oci;

namespace {

oci::Linux Linux(const std::string& seccomp_json) {
  nlohmann::json spec = nlohmann::json::parse(R"({"ociVersion": "1.1.0", "root": {"path": "/r"},
    "process": {"args": ["sh"], "cwd": "/"}, "linux": {}})");
  spec["linux"]["seccomp"] = nlohmann::json::parse(seccomp_json);
  auto parsed = oci::ParseSpecJson(spec.dump(), "test spec");
  INFO(parsed.status());
  REQUIRE(parsed.ok());
  return parsed->linux();
}

absl::StatusOr<SeccompProfile> Profile(const std::string& seccomp_json) {
  return BuildSeccompProfile(Linux(seccomp_json).seccomp());
}

// Runs `body` in a forked child under `program`; its exit status (or the signal that killed it).
int UnderFilter(const SeccompProgram& program, const std::function<int()>& body) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(200);
    if (LoadSeccompProgram(program) != 0) ::_exit(201);
    // Raw: the sanitizer's _exit makes syscalls a strict profile refuses.
    ::syscall(SYS_exit_group, body());
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

SeccompProgram Compile(const std::string& seccomp_json) {
  auto program = CompileSpecSeccomp(Linux(seccomp_json));
  INFO(program.status());
  REQUIRE(program.ok());
  return *program;
}

// errno of a raw syscall (0 when it succeeded), as an exit code.
int ErrnoOf(long rc) { return rc < 0 ? errno : 0; }

}  // namespace

TEST_CASE("seccomp: hostile or unsupported profiles are refused by field", "[seccomp]") {
  struct Row {
    const char* profile;
    const char* field;
  };
  const Row rows[] = {
      {R"({"syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]})", "linux.seccomp.defaultAction: missing"},
      {R"({"defaultAction": "SCMP_ACT_EXPLODE"})", "linux.seccomp.defaultAction: unknown action"},
      {R"({"defaultAction": "SCMP_ACT_NOTIFY"})", "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY is not supported"},
      {R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000})", "linux.seccomp.defaultAction: errnoRet 70000"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]})", "linux.seccomp.architectures[0]: unknown"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["x86_64"]})", "linux.seccomp.architectures[0]: unknown"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NEW_LISTENER"]})", "linux.seccomp.flags[0]: unknown flag"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]})",
       "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO"},
          {"names": ["write"], "action": "allow"}]})", "linux.seccomp.syscalls[1].action: unknown action"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
          "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]})", "linux.seccomp.syscalls[0].args[0].index: 6 is above 5"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
          "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 1, "op": "=="}]}]})",
       "linux.seccomp.syscalls[0].args[1].op: unknown operator"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]})",
       "linux.seccomp.syscalls[0].names: empty"},
  };
  for (const Row& row : rows) {
    INFO(row.profile);
    auto p = Profile(row.profile);
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(p.status().message()).starts_with(row.field));
  }
}

TEST_CASE("seccomp: runc's rules for names, defaults, conditions and the ENOSYS stub", "[seccomp]") {
  CHECK_FALSE(WantsSeccomp(oci::Linux()));
  CHECK_FALSE(WantsSeccomp(Linux("{}")));
  CHECK(CompileSpecSeccomp(Linux("{}"))->instructions.empty());

  auto p = Profile(R"({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"],
    "syscalls": [{"names": ["read", "no_such_syscall_2099"], "action": "SCMP_ACT_ALLOW"},
                 {"names": ["write"], "action": "SCMP_ACT_ERRNO"},
                 {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                  "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
                 {"names": ["fchmod"], "action": "SCMP_ACT_ALLOW",
                  "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_GT"}, {"index": 1, "value": 2048, "op": "SCMP_CMP_MASKED_EQ"}]}]})");
  INFO(p.status());
  REQUIRE(p.ok());
  CHECK(p->default_action == SCMP_ACT_ERRNO(EPERM));
  CHECK(p->load_flags == (SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW | SECCOMP_FILTER_FLAG_TSYNC));
  CHECK(p->skipped_names == std::vector<std::string>{"no_such_syscall_2099"});
  CHECK(p->architectures.size() == 2);  // native x86_64 is implicit
  CHECK(p->enosys_stub);
  // write's rule is the default action: dropped. personality's two conditions on arg 0: two
  // rules (OR); fchmod's on two args: one rule (AND).
  REQUIRE(p->rules.size() == 4);
  CHECK(p->rules[0].name == "read");
  CHECK((p->rules[1].name == "personality" && p->rules[1].conditions.size() == 1 && p->rules[1].conditions[0].datum_a == 0));
  CHECK((p->rules[2].name == "personality" && p->rules[2].conditions[0].datum_a == 8));
  CHECK((p->rules[3].name == "fchmod" && p->rules[3].conditions.size() == 2 && p->rules[3].conditions[1].op == SCMP_CMP_MASKED_EQ));

  for (const char* def : {R"({"defaultAction": "SCMP_ACT_ALLOW"})", R"({"defaultAction": "SCMP_ACT_LOG"})",
                          R"({"defaultAction": "SCMP_ACT_TRACE"})", R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38})"}) {
    INFO(def);
    CHECK_FALSE(Profile(def)->enosys_stub);
  }
  CHECK(Profile(R"({"defaultAction": "SCMP_ACT_KILL_PROCESS"})")->default_action == SCMP_ACT_KILL_PROCESS);
  CHECK(Profile(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1234})")->default_action == SCMP_ACT_ERRNO(1234));
}

TEST_CASE("seccomp: the stub's jumps land on ENOSYS or the filter", "[seccomp]") {
  auto stub = EnosysStub({{0xc000003e, 100, true, 0x40000000 + 50}, {0x40000003, -1, false, -1}});
  REQUIRE(stub.ok());
  const auto& s = *stub;
  const size_t n = s.size();
  REQUIRE(n >= 2);
  // The last instruction returns ENOSYS; everything before jumps forward within the stub or
  // to its end (the filter).
  CHECK(s[n - 1].code == (BPF_RET | BPF_K));
  CHECK(s[n - 1].k == (SECCOMP_RET_ERRNO | ENOSYS));
  for (size_t i = 0; i + 1 < n; ++i) {
    if (BPF_CLASS(s[i].code) != BPF_JMP) continue;
    if (BPF_OP(s[i].code) == BPF_JA) {
      CHECK(i + 1 + s[i].k == n);  // straight to the filter
    } else {
      CHECK(i + 1 + s[i].jt <= n);
      CHECK(i + 1 + s[i].jf <= n);
    }
  }
}

TEST_CASE("seccomp: a loaded program answers as the profile says", "[seccomp]") {
  SECTION("errno, kill, conditions") {
    const SeccompProgram program = Compile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["unshare"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18},
      {"names": ["keyctl"], "action": "SCMP_ACT_ERRNO"},
      {"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"},
      {"names": ["fchmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 25,
       "args": [{"index": 1, "value": 2048, "valueTwo": 2048, "op": "SCMP_CMP_MASKED_EQ"}]}]})");
    CHECK(UnderFilter(program, [] { return ErrnoOf(::syscall(SYS_unshare, 0)); }) == EXDEV);
    CHECK(UnderFilter(program, [] { return ErrnoOf(::syscall(SYS_keyctl, 0, 0, 0, 0, 0)); }) == EPERM);
    CHECK(UnderFilter(program, [] { return static_cast<int>(::syscall(SYS_getppid) > 0 ? 0 : 1); }) == 1000 + SIGSYS);
    kata::testing::TempDir dir;
    const std::string file = dir.Sub("f");
    kata::testing::WriteFile(file, "");
    CHECK(UnderFilter(program, [&] {
      const int fd = ::open(file.c_str(), O_RDONLY);
      if (::fchmod(fd, 04755) == 0 || errno != ENOTTY) return 1;  // the setuid bit: refused
      return ::fchmod(fd, 0755) == 0 ? 0 : 2;                    // without it: allowed
    }) == 0);
  }
  SECTION("syscalls newer than the profile get ENOSYS, holes the default") {
    // Allowed: what the child needs to exit, and getpid. exit_group (231 on x86_64) is the
    // largest named: getuid (102) is a hole below it, getrandom (318) lies above it.
    const SeccompProgram program = Compile(R"({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
      "syscalls": [{"names": ["exit", "exit_group", "getpid", "rt_sigreturn", "write", "read"], "action": "SCMP_ACT_ALLOW"}]})");
    char buf[4];
    CHECK(UnderFilter(program, [&] { return ErrnoOf(::syscall(SYS_getrandom, buf, sizeof(buf), 0)); }) == ENOSYS);
    CHECK(UnderFilter(program, [] { return ErrnoOf(::syscall(SYS_getuid)); }) == EPERM);
    CHECK(UnderFilter(program, [] { return ErrnoOf(::syscall(SYS_getpid)); }) == 0);
  }
}

TEST_CASE("seccomp: the agent's cache gives each profile its own program", "[seccomp]") {
  SeccompProgramCache cache;
  const oci::Linux a = Linux(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["unshare"], "action": "SCMP_ACT_ERRNO"}]})");
  const oci::Linux b = Linux(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["unshare"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18}]})");
  auto first = cache.Get(a), again = cache.Get(a), other = cache.Get(b);
  REQUIRE((first.ok() && again.ok() && other.ok()));
  CHECK(again->instructions.size() == first->instructions.size());
  CHECK(UnderFilter(*again, [] { return ErrnoOf(::syscall(SYS_unshare, 0)); }) == EPERM);
  CHECK(UnderFilter(*other, [] { return ErrnoOf(::syscall(SYS_unshare, 0)); }) == EXDEV);
  CHECK(cache.Get(oci::Linux())->instructions.empty());
  CHECK(cache.Get(Linux(R"({"defaultAction": "SCMP_ACT_NOTIFY"})")).status().code() == absl::StatusCode::kInvalidArgument);
}
