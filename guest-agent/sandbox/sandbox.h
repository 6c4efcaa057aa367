#pragma once

// The sandbox the agent serves: its containers and their processes. Every operation
// validates its input and answers with an absl::Status naming the id or field at fault;
// the gRPC service is a thin layer over this.

#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "guest-agent/cgroup/container_cgroup.h"
#include "guest-agent/device/device_handler.h"
#include "guest-agent/device_cgroup/device_filter.h"
#include "guest-agent/process/launcher.h"
#include "guest-agent/process/process.h"
#include "guest-agent/process/reaper.h"
#include "guest-agent/seccomp/seccomp_program.h"
#include "guest-agent/storage/storage_manager.h"
#include "protocols/agent.pb.h"

namespace kata::guest {

struct SandboxOptions {
  std::string sandbox_dir;               // where containers' rootfs and workspaces live
  absl::Duration hotplug_timeout = absl::Seconds(3);
  absl::Duration launch_timeout = absl::Seconds(6);  // Kata's process launch timeout
  bool is_init = false;                  // PID 1 in the VM: may set the VM's hostname
  // Where containers' cgroups go; without one, containers run in the agent's cgroup and
  // UpdateContainer/StatsContainer are FailedPrecondition.
  std::optional<CgroupRoot> cgroup_root;
};

class Sandbox {
 public:
  Sandbox(SandboxOptions options, StorageManager& storages, const DeviceHandlerRegistry& devices,
          BlockDeviceWaiter& block_devices, Reaper& reaper);
  ~Sandbox();

  absl::Status CreateSandbox(const agent::CreateSandboxRequest& req) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status DestroySandbox() ABSL_LOCKS_EXCLUDED(mu_);

  absl::Status CreateContainer(const agent::CreateContainerRequest& req) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status StartContainer(const std::string& container_id) ABSL_LOCKS_EXCLUDED(mu_);
  // Refuses a running container when `timeout` is 0; otherwise kills its processes and
  // waits up to `timeout` for them before removing it.
  absl::Status RemoveContainer(const std::string& container_id, absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status ExecProcess(const agent::ExecProcessRequest& req) ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<int> WaitProcess(const std::string& container_id, const std::string& exec_id) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status SignalProcess(const std::string& container_id, const std::string& exec_id, uint32_t signal)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<size_t> WriteStdin(const std::string& container_id, const std::string& exec_id,
                                    const std::string& data) ABSL_LOCKS_EXCLUDED(mu_);
  // `cancelled`: see Process::ReadStdout.
  absl::StatusOr<std::string> ReadStdout(const std::string& container_id, const std::string& exec_id, uint32_t len,
                                         const Process::CancelCheck& cancelled = {}) ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::string> ReadStderr(const std::string& container_id, const std::string& exec_id, uint32_t len,
                                         const Process::CancelCheck& cancelled = {}) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status CloseStdin(const std::string& container_id, const std::string& exec_id) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status ResizeTerminal(const std::string& container_id, const std::string& exec_id, uint32_t rows,
                              uint32_t columns) ABSL_LOCKS_EXCLUDED(mu_);
  // linux.resources applied to the container's cgroup (only the fields set).
  absl::Status UpdateContainer(const std::string& container_id, const oci::LinuxResources& resources)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<agent::CgroupStats> StatsContainer(const std::string& container_id) ABSL_LOCKS_EXCLUDED(mu_);
  // Freezes (or thaws) every process of the container through its cgroup.
  absl::Status PauseContainer(const std::string& container_id, bool paused) ABSL_LOCKS_EXCLUDED(mu_);

  size_t ContainerCount() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Container {
    std::string id;
    std::string rootfs;
    std::vector<std::string> storages;  // mount points held in the StorageManager
    ContainerCgroup cgroup;             // invalid when the agent has no cgroup root
    SeccompProgram seccomp;             // linux.seccomp: loaded by the init and every exec
    std::shared_ptr<Process> init;
    Launched launched;                  // the init's start and status pipes
    bool started = false;
    bool paused = false;  // frozen by PauseContainer
    std::map<std::string, std::shared_ptr<Process>> execs;  // under mu_
  };

  // The init of the sandbox's own container (id = sandbox id), whose namespaces a spec's
  // namespace paths name; 0 when it is not running, or `container_id` is that container.
  pid_t SandboxInitPid(const std::string& container_id) ABSL_LOCKS_EXCLUDED(mu_);
  // The container's cgroup with its limits; FailedPrecondition when device rules cannot be
  // enforced in the VM. The device rules themselves come later (ApplyInitDeviceRules).
  absl::StatusOr<ContainerCgroup> MakeCgroup(const std::string& container_id, const oci::Spec& spec) const;
  // The spec's device rules on `cgroup`, once the init's setup has made its nodes and before it
  // execs: runc's order (its cgroup manager's Set when the init reports ready), so a node the
  // rules let the container read but not make (no "m") is still created as the spec lists it.
  absl::Status ApplyInitDeviceRules(const std::string& container_id, const ContainerCgroup& cgroup,
                                    const oci::Spec& spec) const;
  // The container's cgroup, or why there is none.
  absl::StatusOr<std::string> CgroupPathOf(const std::string& container_id) ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::shared_ptr<Process>> FindProcess(const std::string& container_id, const std::string& exec_id)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Drops an exec whose exit was reported and whose output was read to its end.
  void ReleaseIfFinished(const std::string& container_id, const std::shared_ptr<Process>& p) ABSL_LOCKS_EXCLUDED(mu_);
  // The container's init and execs as they are now (execs come and go under mu_).
  std::vector<std::shared_ptr<Process>> ProcessesOf(const Container& c) ABSL_LOCKS_EXCLUDED(mu_);
  void KillAll(const Container& c) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Teardown(std::shared_ptr<Container> c, absl::Duration wait) ABSL_LOCKS_EXCLUDED(mu_);

  const SandboxOptions options_;
  SeccompProgramCache seccomp_programs_;
  mutable DeviceProgramCache device_programs_;  // a cache: MakeCgroup stays const
  StorageManager& storages_;
  const DeviceHandlerRegistry& devices_;
  BlockDeviceWaiter& block_devices_;
  Reaper& reaper_;

  mutable absl::Mutex mu_;
  bool created_ ABSL_GUARDED_BY(mu_) = false;
  std::string hostname_ ABSL_GUARDED_BY(mu_);
  std::string sandbox_id_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> sandbox_storages_ ABSL_GUARDED_BY(mu_);
  // Shared: an exec being launched (without mu_) keeps its container alive.
  std::map<std::string, std::shared_ptr<Container>> containers_ ABSL_GUARDED_BY(mu_);
  // Containers still being created that RemoveContainer asked for: their creation undoes
  // itself when it ends, and the removal waits for that.
  std::set<std::string> cancelled_ ABSL_GUARDED_BY(mu_);
};

// The agent's answer to GetGuestDetails: memory block size, kernel release and what the
// kernel lacks (probed now), agent details.
agent::GuestDetailsResponse GuestDetails(const agent::GuestDetailsRequest& req,
                                         const std::vector<std::string>& storage_handlers,
                                         const std::vector<std::string>& device_handlers,
                                         const std::string& sysfs_root = "/sys");

}  // namespace kata::guest
