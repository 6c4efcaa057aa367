#include "host-runtime/vm/sandbox_vm.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <thread>
#include <utility>

#include "host-runtime/vm/accel_probe.h"
#include "host-runtime/vm/qemu_command.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/file_util.h"
#include "libkata/base/identifiers.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unique_fd.h"
#include "libkata/log/log.h"

namespace kata::runtime {
namespace {

const log::Subsystem kLog("vm");

// From <linux/vhost.h>, which does not compile as C++ (its virtio_ring.h converts void*).
constexpr unsigned long kVhostVsockSetGuestCid = _IOW(0xAF, 0x60, uint64_t);

bool HostHasVhostVsock() { return ::access("/dev/vhost-vsock", R_OK | W_OK) == 0; }

// A guest CID no other VM on this host holds: the kernel refuses a taken one on
// VHOST_VSOCK_SET_GUEST_CID, so try random ones (Kata does the same).
absl::StatusOr<uint32_t> FreeGuestCid() {
  UniqueFd fd(::open("/dev/vhost-vsock", O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, "open /dev/vhost-vsock");
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<uint32_t> pick(3, 0x7fffffff);
  for (int attempt = 0; attempt < 64; ++attempt) {
    uint64_t cid = pick(rng);
    if (::ioctl(fd.get(), kVhostVsockSetGuestCid, &cid) == 0) return static_cast<uint32_t>(cid);
    if (errno != EADDRINUSE) return ErrnoStatus(errno, "VHOST_VSOCK_SET_GUEST_CID");
  }
  return absl::ResourceExhaustedError("no free vsock guest CID after 64 tries");
}

// QEMU creates the QMP socket a moment after it starts: retry until it answers.
absl::StatusOr<std::unique_ptr<QmpClient>> ConnectQmp(const std::string& socket, const QemuProcess& qemu,
                                                      absl::Duration budget) {
  const absl::Time deadline = absl::Now() + budget;
  absl::Status last;
  while (absl::Now() < deadline) {
    if (absl::Status s = qemu.exit_status(); !s.ok()) return s;
    auto client = QmpClient::Connect(socket, absl::Seconds(2));
    if (client.ok()) return client;
    last = client.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return absl::DeadlineExceededError(StrCat("QMP at ", socket, " did not answer within ", absl::FormatDuration(budget),
                                            ": ", last.message()));
}

}  // namespace

absl::StatusOr<config::AgentChannel> ResolveVmChannel(config::AgentChannel wanted, bool host_has_vhost_vsock) {
  switch (wanted) {
    case config::AgentChannel::kAuto:
      return host_has_vhost_vsock ? config::AgentChannel::kVsock : config::AgentChannel::kSerial;
    case config::AgentChannel::kVsock:
      if (!host_has_vhost_vsock) return absl::FailedPreconditionError("agent.channel vsock: this host has no /dev/vhost-vsock");
      return wanted;
    case config::AgentChannel::kSerial:
      return wanted;
    case config::AgentChannel::kUnix:
      break;
  }
  return absl::InvalidArgumentError("agent.channel unix is for an agent outside a VM; a VM wants auto, vsock or serial");
}

absl::StatusOr<std::unique_ptr<SandboxVm>> SandboxVm::Start(const std::string& sandbox_id, const config::Config& config,
                                                            const BootDisks& boot_disks, const std::vector<VmNic>& nics) {
  std::unique_ptr<SandboxVm> vm(new SandboxVm());
  if (absl::Status s = vm->Boot(sandbox_id, config, boot_disks, nics); !s.ok()) {
    vm->Stop();  // kills QEMU if it runs, undoes boot_disks.prepare, removes what Boot made
    return s;
  }
  return vm;
}

absl::Status SandboxVm::Boot(const std::string& sandbox_id, const config::Config& config, const BootDisks& boot_disks,
                             const std::vector<VmNic>& nics) {
  config_ = config;
  RETURN_IF_ERROR(ValidateId("sandbox id", sandbox_id));
  const std::string& root = config.runtime.state_dir;
  if (::mkdir(root.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoStatus(errno, StrCat("mkdir ", root));
  const std::string dir = StrCat(root, "/", sandbox_id);
  if (::mkdir(dir.c_str(), 0700) != 0) {
    return errno == EEXIST ? absl::AlreadyExistsError(StrCat("sandbox ", sandbox_id, " already has a state directory ", dir))
                           : ErrnoStatus(errno, StrCat("mkdir ", dir));
  }
  state_dir_ = dir;  // from here on Stop() removes it

  const absl::Time decide = absl::Now();
  ASSIGN_OR_RETURN(AccelDecision accel, ResolveAccel(config.hypervisor, StrCat(root, "/accel-probe")));
  timings_.accel_decision = absl::Now() - decide;
  accel_ = accel.accel;
  accel_reason_ = accel.reason;
  ASSIGN_OR_RETURN(config::AgentChannel channel, ResolveVmChannel(config.agent.channel, HostHasVhostVsock()));

  VmLaunch launch;
  launch.sandbox_id = sandbox_id;
  launch.hypervisor = config.hypervisor;
  launch.accel = accel_;
  launch.channel = channel;
  launch.qmp_socket = dir + "/qmp.sock";
  launch.console_log = console_log_ = dir + "/console.log";
  launch.agent_socket = dir + "/agent.sock";
  if (config.hypervisor.shared_fs == "virtio-9p") {
    launch.shared_dir = shared_dir_ = dir + "/shared";
    if (::mkdir(shared_dir_.c_str(), 0700) != 0) return ErrnoStatus(errno, StrCat("mkdir ", shared_dir_));
  }
  launch.agent = config.agent;
  launch.agent_log_level = config.runtime.log_level;
  if (channel == config::AgentChannel::kVsock) {
    ASSIGN_OR_RETURN(launch.guest_cid, FreeGuestCid());
    agent_address_ = {AgentAddress::Kind::kVsock, "", launch.guest_cid, 1024};
  } else {
    agent_address_ = {AgentAddress::Kind::kSerial, launch.agent_socket, 0, 0};
  }
  std::vector<ColdPlugDisk> cold;
  if (boot_disks.prepare) {
    undo_boot_disks_ = boot_disks.undo;  // Stop() runs it unless the boot succeeds
    ASSIGN_OR_RETURN(std::vector<BlockAttachRequest> requests, boot_disks.prepare(dir));
    ASSIGN_OR_RETURN(cold, PlanColdPlug(requests, config.hypervisor.hotplug_root_ports));
    for (ColdPlugDisk& d : cold) {
      launch.disks.push_back(d.launch);
      boot_disks_.push_back(d.block);
    }
  }
  launch.nics = nics;
  ASSIGN_OR_RETURN(uint32_t host_cpus, HostCpuCount());
  ASSIGN_OR_RETURN(uint64_t host_memory_mib, HostMemoryMiB());
  const VmSizeBounds bounds = ResolveVmSizeBounds(config.hypervisor, host_cpus, host_memory_mib);
  launch.max_vcpus = bounds.max_vcpus;
  launch.max_memory_mib = bounds.max_memory_mib;
  launch.memory_slots = bounds.memory_slots;
  ASSIGN_OR_RETURN(std::vector<std::string> argv, BuildQemuCommand(launch));
  std::vector<int> pass_fds;
  for (const VmNic& n : nics) {
    pass_fds.push_back(n.tap_fd);
    if (n.vhost_fd >= 0) pass_fds.push_back(n.vhost_fd);
  }

  const absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(qemu_, QemuProcess::Start({argv, dir + "/qemu.log", console_log_, nullptr, false, pass_fds}));
  // For cleanup by whoever finds this state later (the shim's `delete` after a crash).
  RETURN_IF_ERROR(WriteFileAtomically(dir + "/qemu.pid", std::to_string(qemu_->pid())));
  ASSIGN_OR_RETURN(qmp_, ConnectQmp(launch.qmp_socket, *qemu_, absl::Seconds(10)));
  timings_.qmp_ready = absl::Now() - start;
  blocks_ = std::make_unique<BlockDeviceManager>(*qmp_, LaunchRootPorts(config.hypervisor.hotplug_root_ports, cold.size()), cold);
  resizer_ = std::make_unique<VmResizer>(*qmp_, bounds);

  DialPolicy policy;
  policy.budget = config.hypervisor.boot_timeout - (absl::Now() - start);
  policy.abort_check = [this] { return qemu_->exit_status(); };
  auto conn = DialAgent(agent_address_, policy);
  if (!conn.ok()) {
    // The console says why a guest did not come up; QEMU's own death says it already.
    absl::Status s = conn.status();
    if (qemu_->running()) {
      s = absl::Status(s.code(), StrCat(s.message(), "; console: ", ReadFileTail(console_log_, 1536)));
    }
    return s;
  }
  timings_.agent_ready = absl::Now() - start;
  {
    absl::MutexLock lock(&mu_);
    agent_ = std::move(*conn);
  }
  undo_boot_disks_ = nullptr;  // booted: the disks' files are their owner's from here on
  kLog.Info("vm ready", {{"sandbox", sandbox_id}, {"accel", std::string(config::AccelName(accel_))},
                         {"channel", agent_address_.ToString()},
                         {"agent_ready_ms", absl::ToInt64Milliseconds(timings_.agent_ready)},
                         {"boot_disks", static_cast<int64_t>(boot_disks_.size())}});
  return absl::OkStatus();
}

std::shared_ptr<ttrpc::Client> SandboxVm::agent_client() {
  absl::MutexLock lock(&mu_);
  return agent_.client;
}

absl::Status SandboxVm::ReconnectAgent() {
  {
    absl::MutexLock lock(&mu_);
    agent_.Close();  // the agent sees the host go away now
  }
  DialPolicy policy;
  policy.budget = config_.agent.dial_timeout;
  policy.abort_check = [this] { return qemu_->exit_status(); };
  ASSIGN_OR_RETURN(AgentConnection conn, DialAgent(agent_address_, policy));
  absl::MutexLock lock(&mu_);
  agent_ = std::move(conn);
  return absl::OkStatus();
}

SandboxVm::~SandboxVm() { Stop(); }

void SandboxVm::Stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    absl::MutexLock lock(&mu_);
    agent_.Close();
  }
  blocks_.reset();
  resizer_.reset();
  qmp_.reset();
  if (qemu_) qemu_->Stop();
  if (undo_boot_disks_) std::exchange(undo_boot_disks_, nullptr)();
  if (state_dir_.empty()) return;
  for (const char* name : {"qmp.sock", "agent.sock", "console.log", "qemu.log", "qemu.pid"}) {
    ::unlink(StrCat(state_dir_, "/", name).c_str());
  }
  if (!shared_dir_.empty() && ::rmdir(shared_dir_.c_str()) != 0 && errno != ENOENT) {
    kLog.Warn("shared directory not empty after stop", {{"dir", shared_dir_}, {"error", std::strerror(errno)}});
  }
  if (::rmdir(state_dir_.c_str()) != 0 && errno != ENOENT) {
    kLog.Warn("state directory not empty after stop", {{"dir", state_dir_}, {"error", std::strerror(errno)}});
  }
}

}  // namespace kata::runtime
