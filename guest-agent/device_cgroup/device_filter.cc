#include "guest-agent/device_cgroup/device_filter.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/statusor.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unique_fd.h"

namespace kata::guest {
namespace {

constexpr char kLicense[] = "Apache-2.0";  // no GPL-only helper is called

long Bpf(int cmd, bpf_attr& attr) { return ::syscall(SYS_bpf, cmd, &attr, sizeof(attr)); }

uint64_t Ptr(const void* p) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)); }

}  // namespace

absl::StatusOr<UniqueFd> LoadDeviceProgram(const std::vector<bpf_insn>& program, const std::string& what) {
  bpf_attr attr{};
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = Ptr(program.data());
  attr.insn_cnt = static_cast<uint32_t>(program.size());
  attr.license = Ptr(kLicense);
  UniqueFd fd(static_cast<int>(Bpf(BPF_PROG_LOAD, attr)));
  if (fd.valid()) return fd;
  const int err = errno;
  if (err != EINVAL && err != EACCES) return ErrnoStatus(err, StrCat("load the device program for ", what));
  // Refused by the verifier: load again for its log, to say why.
  std::string log(16384, '\0');
  attr.log_level = 1;
  attr.log_buf = Ptr(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  UniqueFd again(static_cast<int>(Bpf(BPF_PROG_LOAD, attr)));
  log.resize(std::strlen(log.c_str()));
  if (log.size() > 400) log = log.substr(log.size() - 400);
  return ErrnoStatus(err, StrCat("load the device program for ", what, " (verifier: ", log, ")"));
}

namespace {

absl::StatusOr<std::vector<UniqueFd>> AttachedPrograms(int cgroup_fd, const std::string& what) {
  uint32_t ids[64] = {};
  bpf_attr attr{};
  attr.query.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = Ptr(ids);
  attr.query.prog_cnt = 64;
  if (Bpf(BPF_PROG_QUERY, attr) != 0) return ErrnoStatus(errno, StrCat("query the device programs of ", what));
  std::vector<UniqueFd> out;
  for (uint32_t i = 0; i < attr.query.prog_cnt && i < 64; ++i) {
    bpf_attr get{};
    get.prog_id = ids[i];
    UniqueFd fd(static_cast<int>(Bpf(BPF_PROG_GET_FD_BY_ID, get)));
    if (!fd.valid()) return ErrnoStatus(errno, StrCat("open device program ", ids[i], " of ", what));
    out.push_back(std::move(fd));
  }
  return out;
}

long Attach(int cgroup_fd, int prog_fd, uint32_t flags, int replace_fd) {
  bpf_attr attr{};
  attr.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.attach_bpf_fd = static_cast<uint32_t>(prog_fd);
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = flags;
  attr.replace_bpf_fd = static_cast<uint32_t>(replace_fd);
  return Bpf(BPF_PROG_ATTACH, attr);
}

long Detach(int cgroup_fd, int prog_fd) {
  bpf_attr attr{};
  attr.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.attach_bpf_fd = static_cast<uint32_t>(prog_fd);
  attr.attach_type = BPF_CGROUP_DEVICE;
  return Bpf(BPF_PROG_DETACH, attr);
}

}  // namespace

absl::Status AttachDeviceProgram(const std::string& cgroup_dir, const std::vector<bpf_insn>& program) {
  auto prog = LoadDeviceProgram(program, StrCat("cgroup ", cgroup_dir));
  if (!prog.ok()) return prog.status();
  return AttachDeviceProgram(cgroup_dir, prog->get());
}

absl::Status AttachDeviceProgram(const std::string& cgroup_dir, int program_fd) {
  const std::string what = StrCat("cgroup ", cgroup_dir);
  UniqueFd cgroup(::open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cgroup.valid()) return ErrnoStatus(errno, StrCat("open ", what));
  auto old = AttachedPrograms(cgroup.get(), what);
  if (!old.ok()) return old.status();
  if (old->size() == 1 &&
      Attach(cgroup.get(), program_fd, BPF_F_ALLOW_MULTI | BPF_F_REPLACE, old->front().get()) == 0) {
    return absl::OkStatus();  // swapped in one step: no moment with neither or both
  }
  if (Attach(cgroup.get(), program_fd, BPF_F_ALLOW_MULTI, 0) != 0) {
    return ErrnoStatus(errno, StrCat("attach the device program to ", what));
  }
  for (size_t i = 0; i < old->size(); ++i) {
    if (Detach(cgroup.get(), (*old)[i].get()) != 0) {
      const int err = errno;
      // Back to the programs it had.
      for (size_t j = 0; j < i; ++j) (void)Attach(cgroup.get(), (*old)[j].get(), BPF_F_ALLOW_MULTI, 0);
      (void)Detach(cgroup.get(), program_fd);
      return ErrnoStatus(err, StrCat("detach the old device program of ", what));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> CountDevicePrograms(const std::string& cgroup_dir) {
  UniqueFd cgroup(::open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cgroup.valid()) return ErrnoStatus(errno, StrCat("open cgroup ", cgroup_dir));
  auto old = AttachedPrograms(cgroup.get(), StrCat("cgroup ", cgroup_dir));
  if (!old.ok()) return old.status();
  return static_cast<int>(old->size());
}


absl::StatusOr<std::shared_ptr<const UniqueFd>> DeviceProgramCache::Get(const std::vector<bpf_insn>& program) {
  std::string key(reinterpret_cast<const char*>(program.data()), program.size() * sizeof(bpf_insn));
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [k, fd] : entries_) {
      if (k == key) return fd;
    }
  }
  auto loaded = LoadDeviceProgram(program, "a container's device rules");
  if (!loaded.ok()) return loaded.status();
  auto fd = std::make_shared<const UniqueFd>(std::move(*loaded));
  absl::MutexLock lock(&mu_);
  entries_.emplace_back(std::move(key), fd);
  if (entries_.size() > kMaxEntries) entries_.pop_front();  // attached copies stay: the cgroups hold them
  return fd;
}

}  // namespace kata::guest
