#include "guest-agent/seccomp/seccomp_program.h"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "guest-agent/seccomp/enosys_stub.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unique_fd.h"
#include "libkata/log/log.h"

namespace kata::guest {
namespace {

const log::Subsystem kLog("seccomp");

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

absl::Status LibError(int rc, std::string_view what) { return ErrnoStatus(-rc, StrCat("seccomp: ", what)); }

// The largest number the profile names per architecture of the filter, for the stub.
std::vector<ArchSyscallMax> SyscallMaxima(const SeccompProfile& profile) {
  std::vector<uint32_t> tokens = {seccomp_arch_native()};
  tokens.insert(tokens.end(), profile.architectures.begin(), profile.architectures.end());
  auto max_for = [&](uint32_t token) {
    int64_t max = -1;
    for (const SeccompRule& r : profile.rules) {
      const int nr = seccomp_syscall_resolve_name_arch(token, r.name.c_str());
      if (nr >= 0 && nr > max) max = nr;  // negative: not a syscall of this architecture
    }
    return max;
  };
  std::vector<ArchSyscallMax> out;
  bool x32 = false;
  for (uint32_t t : tokens) x32 = x32 || t == SCMP_ARCH_X32;
  for (uint32_t t : tokens) {
    if (t == SCMP_ARCH_X32) continue;  // folded into x86_64's section: same AUDIT_ARCH
    ArchSyscallMax m{t, max_for(t), false, -1};
    if (t == AUDIT_ARCH_X86_64 && x32) {
      m.has_x32 = true;
      m.max_x32_nr = max_for(SCMP_ARCH_X32);
    }
    out.push_back(m);
  }
  return out;
}

}  // namespace

absl::StatusOr<SeccompProgram> CompileSeccomp(const SeccompProfile& profile) {
  Ctx ctx(seccomp_init(profile.default_action));
  if (!ctx) return absl::InvalidArgumentError("seccomp: libseccomp refused the default action");
  // The process sets no_new_privs itself when the spec asks (and must not otherwise).
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0); rc != 0) return LibError(rc, "clear the NNP attribute");
  // A binary search over syscall numbers rather than libseccomp's default linear list: every
  // syscall the container makes runs the filter, and in a TCG guest each instruction counts.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2); rc != 0) return LibError(rc, "ask for a binary tree");
  for (uint32_t arch : profile.architectures) {
    if (int rc = seccomp_arch_add(ctx.get(), arch); rc != 0 && rc != -EEXIST) {
      return LibError(rc, StrCat("add architecture token ", arch));
    }
  }
  for (const SeccompRule& r : profile.rules) {
    const int rc = seccomp_rule_add_array(ctx.get(), r.action, r.syscall, static_cast<unsigned>(r.conditions.size()),
                                          r.conditions.data());
    if (rc != 0) return LibError(rc, StrCat("add the rule for ", r.name));
  }
  UniqueFd memfd(::memfd_create("seccomp-bpf", MFD_CLOEXEC));
  if (!memfd.valid()) return ErrnoStatus(errno, "seccomp: memfd_create");
  if (int rc = seccomp_export_bpf(ctx.get(), memfd.get()); rc != 0) return LibError(rc, "export the program");
  const off_t size = ::lseek(memfd.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0) return absl::InternalError("seccomp: libseccomp exported no program");
  std::vector<sock_filter> body(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(memfd.get(), body.data(), static_cast<size_t>(size), 0) != size) return ErrnoStatus(errno, "seccomp: read the program");
  SeccompProgram program;
  program.flags = profile.load_flags;
  if (profile.enosys_stub) {
    auto stub = EnosysStub(SyscallMaxima(profile));
    if (!stub.ok()) return stub.status();
    program.instructions = std::move(*stub);
  }
  program.instructions.insert(program.instructions.end(), body.begin(), body.end());
  if (program.instructions.size() > BPF_MAXINSNS) {
    return absl::InvalidArgumentError(StrCat("linux.seccomp: the program has ", program.instructions.size(),
                                             " instructions, more than the kernel's ", BPF_MAXINSNS));
  }
  return program;
}

absl::StatusOr<SeccompProgram> CompileSpecSeccomp(const oci::Linux& linux) {
  if (!WantsSeccomp(linux)) return SeccompProgram{};
  auto profile = BuildSeccompProfile(linux.seccomp());
  if (!profile.ok()) return profile.status();
  if (!profile->skipped_names.empty()) {
    kLog.Debug("syscalls unknown to libseccomp skipped", {{"count", profile->skipped_names.size()},
                                                         {"first", profile->skipped_names.front()}});
  }
  return CompileSeccomp(*profile);
}

absl::StatusOr<SeccompProgram> SeccompProgramCache::Get(const oci::Linux& linux) {
  if (!WantsSeccomp(linux)) return SeccompProgram{};
  std::string key;
  if (!linux.seccomp().SerializeToString(&key)) return absl::InternalError("seccomp: serialize the profile");
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [k, program] : entries_) {
      if (k == key) return program;
    }
  }
  auto program = CompileSpecSeccomp(linux);  // outside the lock: containers with other profiles need not wait
  if (!program.ok()) return program.status();
  absl::MutexLock lock(&mu_);
  entries_.emplace_back(std::move(key), *program);
  if (entries_.size() > kMaxEntries) entries_.pop_front();
  return program;
}

int LoadSeccompProgram(const SeccompProgram& program) noexcept {
  if (program.instructions.empty()) return 0;
  sock_fprog prog{static_cast<unsigned short>(program.instructions.size()),
                  const_cast<sock_filter*>(program.instructions.data())};
  return ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, program.flags, &prog) == 0 ? 0 : errno;
}

}  // namespace kata::guest
