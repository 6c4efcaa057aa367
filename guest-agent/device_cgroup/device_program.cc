#include "guest-agent/device_cgroup/device_program.h"

#include <cstddef>
#include <limits>

#include "libkata/base/str_cat.h"

namespace kata::guest {
namespace {

// bpf_cgroup_dev_ctx: access_type (type | access << 16), major, minor; all u32.
constexpr int kCtx = BPF_REG_1, kType = BPF_REG_2, kAccess = BPF_REG_3, kMajor = BPF_REG_4, kMinor = BPF_REG_5;

class Assembler {
 public:
  int NewLabel() {
    labels_.push_back(-1);
    return static_cast<int>(labels_.size()) - 1;
  }
  void Place(int label) { labels_[label] = static_cast<int>(code_.size()); }
  void Emit(uint8_t code, int dst, int src, int16_t off, int32_t imm, int target = -1) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = static_cast<uint8_t>(dst) & 0xf;
    i.src_reg = static_cast<uint8_t>(src) & 0xf;
    i.off = off;
    i.imm = imm;
    code_.push_back({i, target});
  }
  void LoadCtx(int dst, int16_t offset) { Emit(BPF_LDX | BPF_MEM | BPF_W, dst, kCtx, offset, 0); }
  void Mov(int dst, int src) { Emit(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
  void MovImm(int dst, int32_t imm) { Emit(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
  void AndImm(int dst, int32_t imm) { Emit(BPF_ALU64 | BPF_AND | BPF_K, dst, 0, 0, imm); }
  void RshImm(int dst, int32_t imm) { Emit(BPF_ALU64 | BPF_RSH | BPF_K, dst, 0, 0, imm); }
  void JumpIf(uint8_t op, int dst, int32_t imm, int target) { Emit(BPF_JMP | op | BPF_K, dst, 0, 0, imm, target); }
  void Goto(int target) { Emit(BPF_JMP | BPF_JA, 0, 0, 0, 0, target); }
  void Exit() { Emit(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

  absl::StatusOr<std::vector<bpf_insn>> Finish() const {
    std::vector<bpf_insn> out;
    for (size_t i = 0; i < code_.size(); ++i) {
      bpf_insn insn = code_[i].insn;
      if (code_[i].target >= 0) {
        const int64_t off = static_cast<int64_t>(labels_[code_[i].target]) - static_cast<int64_t>(i) - 1;
        if (off < 0 || off > std::numeric_limits<int16_t>::max()) {
          return absl::InvalidArgumentError(StrCat("linux.resources.devices: too many rules for one device program (",
                                                   code_.size(), " instructions)"));
        }
        insn.off = static_cast<int16_t>(off);
      }
      out.push_back(insn);
    }
    return out;
  }

 private:
  struct Insn {
    bpf_insn insn;
    int target;
  };
  std::vector<Insn> code_;
  std::vector<int> labels_;
};

}  // namespace

absl::StatusOr<std::vector<bpf_insn>> BuildDeviceProgram(const DevicePolicy& policy) {
  Assembler a;
  const int deny = a.NewLabel();
  bool deny_used = false;
  a.LoadCtx(kType, offsetof(bpf_cgroup_dev_ctx, access_type));
  a.Mov(kAccess, kType);
  a.RshImm(kAccess, 16);
  a.AndImm(kType, 0xffff);
  a.LoadCtx(kMajor, offsetof(bpf_cgroup_dev_ctx, major));
  a.LoadCtx(kMinor, offsetof(bpf_cgroup_dev_ctx, minor));
  for (uint8_t bit : {kDevMknod, kDevRead, kDevWrite}) {
    const int next_bit = a.NewLabel();
    a.Mov(BPF_REG_0, kAccess);
    a.AndImm(BPF_REG_0, bit);
    a.JumpIf(BPF_JEQ, BPF_REG_0, 0, next_bit);  // not requested
    bool decided = false;  // a rule that matches every device ends the chain
    for (auto r = policy.rules.rbegin(); r != policy.rules.rend() && !decided; ++r) {
      if (!(r->access & bit)) continue;
      const int next_rule = a.NewLabel();
      if (r->type != 'a') a.JumpIf(BPF_JNE, kType, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, next_rule);
      if (r->major >= 0) a.JumpIf(BPF_JNE, kMajor, static_cast<int32_t>(r->major), next_rule);
      if (r->minor >= 0) a.JumpIf(BPF_JNE, kMinor, static_cast<int32_t>(r->minor), next_rule);
      a.Goto(r->allow ? next_bit : deny);
      deny_used = deny_used || !r->allow;
      a.Place(next_rule);
      decided = r->type == 'a' && r->major < 0 && r->minor < 0;
    }
    if (!decided) a.Goto(deny);  // no rule grants this bit (the verifier refuses dead code)
    deny_used = deny_used || !decided;
    a.Place(next_bit);
  }
  a.MovImm(BPF_REG_0, 1);
  a.Exit();
  if (deny_used) {
    a.Place(deny);
    a.MovImm(BPF_REG_0, 0);
    a.Exit();
  }
  return a.Finish();
}

}  // namespace kata::guest
