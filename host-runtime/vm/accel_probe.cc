#include "host-runtime/vm/accel_probe.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "host-runtime/vm/qemu_process.h"
#include "libkata/base/file_util.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unique_fd.h"
#include "libkata/log/log.h"

namespace kata::runtime {
namespace {

const log::Subsystem kLog("accel");

std::string FileIdentity(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return StrCat(path, ":missing");
  return StrCat(path, ":", st.st_size, ":", st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec);
}

// Boots the kernel under KVM with nothing to mount: a working KVM panics within a second.
absl::StatusOr<bool> ProbeKvmBoot(const config::HypervisorConfig& hv, absl::Duration budget, std::string* why) {
  char dir_template[] = "/tmp/kata-accel-probe-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) return absl::InternalError(StrCat("mkdtemp: ", std::strerror(errno)));
  const std::string dir = dir_template;
  const std::string console = dir + "/console.log";
  const std::string err = dir + "/stderr.log";
  std::vector<std::string> argv = {hv.path, "-machine", StrCat(hv.machine_type, ",accel=kvm"), "-cpu", "host",
                                   "-m", "256M", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                                   "-kernel", hv.kernel, "-append", "console=ttyS0 panic=-1",
                                   "-serial", StrCat("file:", console)};
  if (!hv.firmware.empty()) {
    argv.push_back("-bios");
    argv.push_back(hv.firmware);
  }
  bool works = false;
  {
    auto qemu = QemuProcess::Start({argv, err, console, nullptr, true, {}});
    if (!qemu.ok()) {
      ::rmdir(dir.c_str());
      return qemu.status();
    }
    const absl::Status exited = (*qemu)->WaitExit(budget);
    const std::string text = ReadFileTail(console, 1 << 16);
    works = !absl::IsDeadlineExceeded(exited) && text.find("Kernel panic") != std::string::npos;
    *why = works ? "a KVM probe boot reached the kernel's panic"
                 : absl::IsDeadlineExceeded(exited)
                       ? StrCat("a KVM probe boot showed no progress within ", absl::FormatDuration(budget),
                                " (console: ", text.size(), " bytes)")
                       : StrCat("a KVM probe boot failed: ", exited.message());
  }  // QEMU stopped and reaped here
  ::unlink(console.c_str());
  ::unlink(err.c_str());
  ::rmdir(dir.c_str());
  return works;
}

}  // namespace

bool KvmDeviceUsable(std::string* why) {
  UniqueFd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!kvm.valid()) {
    *why = StrCat("/dev/kvm: ", std::strerror(errno));
    return false;
  }
  const int version = ::ioctl(kvm.get(), KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    *why = StrCat("/dev/kvm speaks KVM API ", version, ", not ", KVM_API_VERSION);
    return false;
  }
  *why = "/dev/kvm opens";
  return true;
}

std::string AccelProbeKey(const config::HypervisorConfig& hv) {
  return StrCat("qemu=", FileIdentity(hv.path), " kernel=", FileIdentity(hv.kernel), " machine=", hv.machine_type,
                " firmware=", hv.firmware.empty() ? "default" : FileIdentity(hv.firmware));
}

absl::StatusOr<AccelDecision> ResolveAccel(const config::HypervisorConfig& hv, const std::string& cache_path,
                                           absl::Duration probe_budget) {
  std::string why;
  switch (hv.accel) {
    case config::Accel::kTcg:
      return AccelDecision{config::Accel::kTcg, "accel: tcg in the configuration"};
    case config::Accel::kKvm:
      if (!KvmDeviceUsable(&why)) return absl::FailedPreconditionError(StrCat("accel kvm: ", why));
      return AccelDecision{config::Accel::kKvm, "accel: kvm in the configuration"};
    case config::Accel::kAuto:
      break;
  }
  if (!KvmDeviceUsable(&why)) return AccelDecision{config::Accel::kTcg, StrCat(why, ": TCG")};
  const std::string key = AccelProbeKey(hv);
  if (auto cached = ReadFileToString(cache_path, 4096); cached.ok()) {
    // "<key>\n<kvm|tcg>\n<reason>\n"
    const size_t a = cached->find('\n');
    const size_t b = a == std::string::npos ? a : cached->find('\n', a + 1);
    if (b != std::string::npos && cached->substr(0, a) == key) {
      const std::string answer = cached->substr(a + 1, b - a - 1);
      const std::string reason = cached->substr(b + 1, cached->find('\n', b + 1) - b - 1);
      if (answer == "kvm" || answer == "tcg") {
        return AccelDecision{answer == "kvm" ? config::Accel::kKvm : config::Accel::kTcg,
                             StrCat(reason, " (cached)")};
      }
    }
  }
  const absl::Time start = absl::Now();
  auto works = ProbeKvmBoot(hv, probe_budget, &why);
  if (!works.ok()) return works.status();
  AccelDecision d{*works ? config::Accel::kKvm : config::Accel::kTcg, StrCat(why, *works ? ": KVM" : ": TCG")};
  kLog.Info("probed KVM", {{"accel", std::string(config::AccelName(d.accel))}, {"reason", d.reason},
                           {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  if (const size_t slash = cache_path.rfind('/'); slash != std::string::npos && slash > 0) {
    ::mkdir(cache_path.substr(0, slash).c_str(), 0700);  // the state root, made on first use
  }
  if (auto s = WriteFileAtomically(cache_path, StrCat(key, "\n", config::AccelName(d.accel), "\n", d.reason, "\n"));
      !s.ok()) {
    kLog.Warn("cannot cache the KVM probe", {{"error", std::string(s.message())}});
  }
  return d;
}

}  // namespace kata::runtime
