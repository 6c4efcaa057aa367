#include "guest-agent/seccomp/enosys_stub.h"

#include <linux/audit.h>
#include <linux/seccomp.h>

#include <cerrno>
#include <cstddef>

#include "libkata/base/str_cat.h"

namespace kata::guest {
namespace {

constexpr uint32_t kX32SyscallBit = 0x40000000;

// Instructions whose jumps name labels, resolved once every label has its place.
class Assembler {
 public:
  int NewLabel() {
    labels_.push_back(-1);
    return static_cast<int>(labels_.size()) - 1;
  }
  void Place(int label) { labels_[label] = static_cast<int>(code_.size()); }
  void Stmt(uint16_t code, uint32_t k) { code_.push_back({sock_filter{code, 0, 0, k}, -1, -1}); }
  void Jump(uint16_t code, uint32_t k, int jt, int jf) { code_.push_back({sock_filter{code, 0, 0, k}, jt, jf}); }
  void Always(int label) { code_.push_back({sock_filter{BPF_JMP | BPF_JA, 0, 0, 0}, label, -2}); }

  absl::StatusOr<std::vector<sock_filter>> Finish() const {
    std::vector<sock_filter> out;
    for (size_t i = 0; i < code_.size(); ++i) {
      sock_filter f = code_[i].insn;
      auto offset = [&](int label) -> int64_t { return static_cast<int64_t>(labels_[label]) - static_cast<int64_t>(i) - 1; };
      if (code_[i].jf == -2) {
        f.k = static_cast<uint32_t>(offset(code_[i].jt));  // BPF_JA: 32-bit offset in k
      } else if (code_[i].jt >= 0) {
        const int64_t jt = offset(code_[i].jt), jf = offset(code_[i].jf);
        if (jt < 0 || jt > 255 || jf < 0 || jf > 255) {
          return absl::InvalidArgumentError(StrCat("seccomp: the ENOSYS stub's jump at ", i, " is out of reach"));
        }
        f.jt = static_cast<uint8_t>(jt);
        f.jf = static_cast<uint8_t>(jf);
      }
      out.push_back(f);
    }
    return out;
  }

 private:
  struct Insn {
    sock_filter insn;
    int jt, jf;  // labels; jt >= 0 and jf == -2: BPF_JA
  };
  std::vector<Insn> code_;
  std::vector<int> labels_;
};

// "nr > max ? ENOSYS : filter", or straight to the filter when nothing is named.
void Compare(Assembler& a, int64_t max, int enosys, int filter) {
  if (max < 0) {
    a.Always(filter);
    return;
  }
  a.Jump(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(max), enosys, filter);
}

}  // namespace

absl::StatusOr<std::vector<sock_filter>> EnosysStub(const std::vector<ArchSyscallMax>& arches) {
  Assembler a;
  const int enosys = a.NewLabel(), filter = a.NewLabel();
  a.Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
  for (const ArchSyscallMax& arch : arches) {
    const int next = a.NewLabel(), body = a.NewLabel();
    a.Jump(BPF_JMP | BPF_JEQ | BPF_K, arch.audit_arch, body, next);
    a.Place(body);
    a.Stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
    if (arch.audit_arch == AUDIT_ARCH_X86_64) {
      // x32's numbers carry bit 30: compared to x32's largest, or (no x32 in the filter)
      // left to libseccomp, which refuses the architecture.
      const int x32 = a.NewLabel(), native = a.NewLabel();
      a.Jump(BPF_JMP | BPF_JSET | BPF_K, kX32SyscallBit, x32, native);
      a.Place(native);
      Compare(a, arch.max_nr, enosys, filter);
      a.Place(x32);
      if (arch.has_x32) Compare(a, arch.max_x32_nr, enosys, filter);
      else a.Always(filter);
    } else {
      Compare(a, arch.max_nr, enosys, filter);
    }
    a.Place(next);
  }
  a.Always(filter);
  a.Place(enosys);
  a.Stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
  a.Place(filter);
  return a.Finish();
}

}  // namespace kata::guest
