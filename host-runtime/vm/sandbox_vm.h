#pragma once

// One sandbox's VM, from the configuration to an agent that answers: resolves the
// accelerator and the agent channel, starts and supervises QEMU, connects QMP, and dials the
// agent. Everything it made lives in <state_dir>/<sandbox id>/ and is gone after Stop(), or
// after a failed Start().

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "host-runtime/channel/agent_dialer.h"
#include "host-runtime/qmp/qmp_client.h"
#include "host-runtime/vm/block_device_manager.h"
#include "host-runtime/vm/qemu_command.h"
#include "host-runtime/vm/qemu_process.h"
#include "host-runtime/vm/vm_resizer.h"
#include "libkata/config/config.h"

namespace kata::runtime {

struct BootTimings {
  absl::Duration accel_decision;  // the KVM probe, when one ran
  absl::Duration qmp_ready;       // QEMU started -> QMP negotiated
  absl::Duration agent_ready;     // QEMU started -> Health.Check answered
};

// Resolves agent.channel auto: vsock when the host has /dev/vhost-vsock, else virtio-serial.
// unix is for an agent outside a VM and is refused here.
absl::StatusOr<config::AgentChannel> ResolveVmChannel(config::AgentChannel wanted, bool host_has_vhost_vsock);

// Disks to give QEMU at launch. `prepare` runs once the state directory exists and before
// QEMU starts (a rootfs's VMDK descriptors are written there); `undo` removes what it made
// when the boot fails, before the state directory goes.
struct BootDisks {
  std::function<absl::StatusOr<std::vector<BlockAttachRequest>>(const std::string& state_dir)> prepare;
  std::function<void()> undo;
};

class SandboxVm {
 public:
  // `nics`' fds must stay open until Start returns; QEMU holds its own copies after.
  static absl::StatusOr<std::unique_ptr<SandboxVm>> Start(const std::string& sandbox_id, const config::Config& config,
                                                          const BootDisks& boot_disks = {},
                                                          const std::vector<VmNic>& nics = {});
  ~SandboxVm();

  QmpClient& qmp() { return *qmp_; }
  BlockDeviceManager& block_devices() { return *blocks_; }
  // The VM's size: memory hot-plug and the count of online vCPUs, within the bounds QEMU was
  // started with.
  VmResizer& resizer() { return *resizer_; }
  // The boot disks, in the order `prepare` gave them: attached before the guest started.
  const std::vector<AttachedBlock>& boot_disks() const { return boot_disks_; }
  std::shared_ptr<ttrpc::Client> agent_client() ABSL_LOCKS_EXCLUDED(mu_);
  const AgentAddress& agent_address() const { return agent_address_; }
  // Closes the agent connection (calls on the old client fail from then on) and dials again
  // (agent.dial_timeout): after a break, or to show the channel survives one.
  absl::Status ReconnectAgent() ABSL_LOCKS_EXCLUDED(mu_);

  const std::string& state_dir() const { return state_dir_; }
  const std::string& console_log() const { return console_log_; }
  // The directory shared with the guest over virtio-9p (hypervisor.shared_fs); empty without.
  const std::string& shared_dir() const { return shared_dir_; }
  config::Accel accel() const { return accel_; }
  const std::string& accel_reason() const { return accel_reason_; }
  const BootTimings& timings() const { return timings_; }
  pid_t qemu_pid() const { return qemu_->pid(); }
  // OK while QEMU runs; why it ended otherwise.
  absl::Status health() const { return qemu_->exit_status(); }

  // Stops QEMU (kill + reap) and removes the state directory. Idempotent.
  void Stop();

 private:
  SandboxVm() = default;
  absl::Status Boot(const std::string& sandbox_id, const config::Config& config, const BootDisks& boot_disks,
                    const std::vector<VmNic>& nics);

  config::Config config_;
  std::string state_dir_;
  std::string console_log_;
  std::string shared_dir_;
  config::Accel accel_ = config::Accel::kTcg;
  std::string accel_reason_;
  BootTimings timings_;
  AgentAddress agent_address_;
  std::unique_ptr<QemuProcess> qemu_;
  std::unique_ptr<QmpClient> qmp_;
  std::unique_ptr<BlockDeviceManager> blocks_;
  std::unique_ptr<VmResizer> resizer_;
  std::vector<AttachedBlock> boot_disks_;
  std::function<void()> undo_boot_disks_;  // set from prepare until the boot succeeded
  absl::Mutex mu_;
  AgentConnection agent_ ABSL_GUARDED_BY(mu_);
  bool stopped_ = false;
};

}  // namespace kata::runtime
