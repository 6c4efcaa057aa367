#pragma once

// A sandbox: one VM with its agent, holding containers. Create boots the VM and sends
// CreateSandbox; each container's rootfs is attached (rootfs/), its spec rewritten for the
// guest and sent with CreateContainer; removal asks the agent to unmount, then detaches the
// devices and removes the files made for it; Destroy removes what is left and stops the VM.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "host-runtime/devices/device_attacher.h"
#include "host-runtime/network/pod_network.h"
#include "host-runtime/rootfs/rootfs_attacher.h"
#include "host-runtime/rootfs/rootfs_plan.h"
#include "host-runtime/vm/sandbox_vm.h"
#include "libkata/config/config.h"
#include "libkata/agent_api/agent_api.h"
#include "protocols/oci.pb.h"

namespace kata::runtime {

struct ContainerTimings {
  absl::Duration attach;  // rootfs and linux.devices disks hot-plugged (in parallel); rootfs zero when at boot
  absl::Duration create;  // CreateContainer sent -> answered (the agent waits for the devices, mounts)
  absl::Duration start;   // StartContainer sent -> answered
  size_t devices = 0;
  bool cold_plugged = false;  // the devices were on QEMU's command line (BootRootfs)
};

// The first container's rootfs, when the caller knows it before the VM boots (kata-runtime
// run does): its disks go on QEMU's command line, there when the guest starts, and
// CreateContainer of `container_id` with the same mounts finds them attached. A directory
// rootfs (shared over 9p) has no disks and is mounted by CreateContainer as usual.
struct BootRootfs {
  std::string container_id;
  std::vector<RootfsMount> mounts;
};

class Sandbox {
 public:
  // How long one agent RPC may take (sandbox.cc's and sandbox_resize.cc's).
  static constexpr absl::Duration kRpcTimeout = absl::Seconds(60);

  // `network`: the pod's network namespace (its links become the VM's NICs, configured before
  // CreateSandbox) and DNS; none means no NIC.
  static absl::StatusOr<std::unique_ptr<Sandbox>> Create(const std::string& id, const config::Config& config,
                                                         const std::optional<BootRootfs>& boot_rootfs = std::nullopt,
                                                         const SandboxNetworkSpec& network = {});
  ~Sandbox();

  // `bundle` is the container's bundle directory, for its hooks' state.
  absl::Status CreateContainer(const std::string& container_id, const oci::Spec& spec,
                               const std::vector<RootfsMount>& rootfs, const std::string& bundle = "")
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status StartContainer(const std::string& container_id);
  // A new process in a running container (its stdio through ReadOutput/WriteStdin by exec id).
  absl::Status ExecProcess(const std::string& container_id, const std::string& exec_id, const oci::Process& process);
  absl::StatusOr<int> WaitProcess(const std::string& container_id, const std::string& exec_id = "");
  absl::Status SignalProcess(const std::string& container_id, const std::string& exec_id, int signal);
  // One chunk of the process's stdout or stderr; OutOfRange at its end.
  absl::StatusOr<std::string> ReadOutput(const std::string& container_id, const std::string& exec_id, bool stderr_stream);
  absl::Status WriteStdin(const std::string& container_id, const std::string& exec_id, std::string_view data);
  absl::Status CloseStdin(const std::string& container_id, const std::string& exec_id);
  // The process's terminal size (it must have been created with process.terminal).
  absl::Status ResizeTerminal(const std::string& container_id, const std::string& exec_id, uint32_t rows,
                              uint32_t columns);
  // Resources applied to the container's cgroup in the guest (only the fields set). The VM
  // is resized first to its containers' new CPU and memory limits (ResizeVm).
  absl::Status UpdateContainer(const std::string& container_id, const oci::LinuxResources& resources)
      ABSL_LOCKS_EXCLUDED(mu_, resize_mu_);
  // Freezes (or thaws) the container's processes in the guest (its cgroup).
  absl::Status PauseContainer(const std::string& container_id, bool paused);
  // The container's cgroup statistics from the guest.
  absl::StatusOr<agent::CgroupStats> StatsContainer(const std::string& container_id);
  // The agent removes the container (unmounting its rootfs); then its devices are detached and
  // its files removed. What fails is reported after everything was tried.
  absl::Status RemoveContainer(const std::string& container_id) ABSL_LOCKS_EXCLUDED(mu_);
  ContainerTimings timings(const std::string& container_id) const ABSL_LOCKS_EXCLUDED(mu_);

  // Removes every container, DestroySandbox, stops the VM. Idempotent.
  absl::Status Destroy() ABSL_LOCKS_EXCLUDED(mu_);

  SandboxVm& vm() { return *vm_; }
  const std::string& id() const { return id_; }

 private:
  struct Container {
    std::string work_dir;  // host files made for it (VMDK descriptors)
    AttachedRootfs rootfs;
    AttachedDevices devices;  // linux.devices' block devices, hot-plugged
    std::string shared_rootfs;  // a directory rootfs mounted under the VM's shared directory
    std::vector<std::string> shared_binds;  // host paths bound under it for the spec's bind mounts
    std::string bundle;
    oci::Spec hook_spec;  // ociVersion, annotations and hooks: what the later hooks need
    oci::LinuxResources limits;  // its linux.resources: their CPU and memory limits size the VM
    ContainerTimings timings;
  };

  // A BootRootfs whose disks QEMU was started with, until its container takes them.
  struct BootAttached {
    BootRootfs rootfs;
    std::string work_dir;
    AttachedRootfs attached;
  };

  Sandbox(std::string id, std::unique_ptr<SandboxVm> vm, const config::AgentConfig& agent)
      : id_(std::move(id)), vm_(std::move(vm)), disable_guest_seccomp_(agent.disable_guest_seccomp),
        create_container_timeout_(agent.create_container_timeout) {}
  // Boots the VM, with `boot_rootfs`'s disks on its command line.
  static absl::StatusOr<std::unique_ptr<Sandbox>> Boot(const std::string& id, const config::Config& config,
                                                       const std::optional<BootRootfs>& boot_rootfs,
                                                       std::unique_ptr<PodNetwork> network);
  agent_api::AgentStub Agent();
  // A boot rootfs no container took: its files are removed (its disks go with the VM).
  void ForgetBootRootfs() ABSL_LOCKS_EXCLUDED(mu_);
  // The host's side of a container: its disks (as `disks` says), shared mounts, state.
  // A removed container's disks are unplugged; kept attached (the guest did not let go of
  // them); or left to the VM's stop, which comes next (the sandbox's own container going
  // last, or Destroy): unplugging them would only delay it.
  enum class Disks { kDetach, kKeepAttached, kLeaveToVmStop };
  absl::Status Undo(const std::string& container_id, Container& c, Disks disks = Disks::kDetach);
  // RemoveContainer in the agent, killing what still runs.
  absl::Status RemoveInGuest(const std::string& container_id);
  // CreateContainer in the agent within agent.create_container_timeout. On failure
  // `guest_let_go` says whether the container's disks may be unplugged: the container was
  // removed in the guest (a create still running there is awaited), or the VM is gone.
  absl::Status CreateInGuest(const agent::CreateContainerRequest& req, bool& guest_let_go);
  // Whether the guest is done with a container's disks after RemoveInGuest answered `removed`
  // (removed, never there, or the VM gone): only then may they be unplugged.
  bool GuestLetGo(const absl::Status& removed);
  // Sizes the VM to what its containers' limits ask for (PlanVmSize): memory hot-plugged,
  // and the agent onlining it and onlining or offlining vCPUs.
  absl::Status ResizeVm() ABSL_LOCKS_EXCLUDED(mu_, resize_mu_);
  // ResizeVm where a failure only warns: the container's own work succeeded without it.
  void ResizeVmAfter(std::string_view what, const std::string& container_id) ABSL_LOCKS_EXCLUDED(mu_, resize_mu_);

  std::string id_;
  std::unique_ptr<SandboxVm> vm_;
  std::unique_ptr<PodNetwork> network_;  // after vm_'s stop, detached (Destroy)
  const bool disable_guest_seccomp_;  // agent.disable_guest_seccomp
  const absl::Duration create_container_timeout_;  // agent.create_container_timeout
  bool destroyed_ = false;
  bool sandbox_dns_ = false;  // CreateSandbox had dns lines: containers' resolv.conf binds take them
  absl::Mutex resize_mu_ ABSL_ACQUIRED_BEFORE(mu_);  // one resize at a time, planned and done together
  mutable absl::Mutex mu_;
  std::map<std::string, Container> containers_ ABSL_GUARDED_BY(mu_);
  std::optional<BootAttached> boot_rootfs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kata::runtime
