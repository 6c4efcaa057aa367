#pragma once

// containerd.task.v2.Task for one sandbox, as containerd 1.6 calls it: the first Create boots
// the VM and creates its container; later Creates (the other containers of a CRI pod, sent
// here by `start`) add containers to the same VM. Start, Wait, State, Kill, Exec, CloseIO,
// ResizePty, Update, Stats, Pids, Pause/Resume, Delete, Connect and Shutdown follow, per
// task id; stdio goes through the FIFOs containerd's client made, opened by path; events go
// out through the EventPublisher.

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/timestamp.pb.h"
#include "host-runtime/cgroups/host_cgroup.h"
#include "host-runtime/sandbox/sandbox.h"
#include "host-runtime/shim/event_publisher.h"
#include "libkata/ttrpc/server.h"
#include "libkata/config/config.h"
#include "protocols/containerd_task.pb.h"
#include "protocols/oci.pb.h"

namespace kata::shim {

class TaskService {
 public:
  TaskService(config::Config config, EventPublisher& events) : config_(std::move(config)), events_(events) {}
  ~TaskService();

  void Register(ttrpc::Server& server);
  // Set once Shutdown was called: the daemon then exits.
  absl::Notification& shutdown_requested() { return shutdown_; }

  // The methods, by their request and response messages (also driven directly by tests).
  absl::StatusOr<containerd::task::v2::CreateTaskResponse> Create(const containerd::task::v2::CreateTaskRequest& req);
  absl::StatusOr<containerd::task::v2::StartResponse> Start(const containerd::task::v2::StartRequest& req);
  absl::StatusOr<containerd::task::v2::WaitResponse> Wait(const containerd::task::v2::WaitRequest& req);
  absl::StatusOr<containerd::task::v2::StateResponse> State(const containerd::task::v2::StateRequest& req);
  absl::StatusOr<containerd::task::v2::DeleteResponse> Delete(const containerd::task::v2::DeleteRequest& req);
  absl::Status Kill(const containerd::task::v2::KillRequest& req);
  absl::Status Exec(const containerd::task::v2::ExecProcessRequest& req);
  absl::Status CloseIO(const containerd::task::v2::CloseIORequest& req);
  absl::StatusOr<containerd::task::v2::PidsResponse> Pids(const containerd::task::v2::PidsRequest& req);
  absl::Status Pause(const containerd::task::v2::PauseRequest& req);
  absl::Status Resume(const containerd::task::v2::ResumeRequest& req);
  absl::StatusOr<containerd::task::v2::ConnectResponse> Connect(const containerd::task::v2::ConnectRequest& req);
  absl::Status Shutdown(const containerd::task::v2::ShutdownRequest& req);
  absl::Status ResizePty(const containerd::task::v2::ResizePtyRequest& req);
  // resources: the OCI LinuxResources as containerd marshals it (JSON in an Any).
  absl::Status Update(const containerd::task::v2::UpdateTaskRequest& req);
  // stats: io.containerd.cgroups.v2.Metrics of the container's cgroup in the guest.
  absl::StatusOr<containerd::task::v2::StatsResponse> Stats(const containerd::task::v2::StatsRequest& req);

 private:
  struct Process {
    std::string exec_id;  // "" for the container's init
    std::string stdin_path, stdout_path, stderr_path;
    containerd::task::v2::Status status = containerd::task::v2::CREATED;
    uint32_t exit_status = 0;
    google::protobuf::Timestamp exited_at;
    bool waiting = false;  // one caller asks the agent; the others wait for it
    int waiters = 0;       // Wait calls blocked on this process: Delete frees it only after they left
    bool has_spec = false;
    oci::Process spec;  // exec processes: what Start runs
    std::vector<std::thread> threads;  // output pumps, stdin pump, exit watcher
    std::vector<std::shared_ptr<absl::Notification>> output_done;
    std::shared_ptr<std::atomic<bool>> stop_stdin = std::make_shared<std::atomic<bool>>(false);
  };

  // The sandbox's own task: the whole VM (QEMU stop / cont); another container of the pod:
  // its processes (the agent freezes its cgroup).
  absl::Status SetPaused(const std::string& id, bool paused);
  absl::StatusOr<Process*> Find(const std::string& id, const std::string& exec_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // NotFound unless the process exists and has not exited (what Kill and ResizePty need).
  absl::Status RequireUnfinished(const std::string& id, const std::string& exec_id) ABSL_LOCKS_EXCLUDED(mu_);
  // After Start: stdio pumps, and a watcher that records the exit (after the output drained)
  // and publishes TaskExit.
  void StartIo(const std::string& id, Process& p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WatchExit(Process* p, std::string id);
  // The process is STOPPED with `status` (255 when unknown), and TaskExit is published.
  void RecordExit(Process* p, const std::string& id, const absl::StatusOr<int>& status) ABSL_LOCKS_EXCLUDED(mu_);
  void JoinThreads(Process& p);
  uint32_t TaskPid() const;
  std::string SandboxId() ABSL_LOCKS_EXCLUDED(mu_);

  // One container of the sandbox: its bundle and processes (by exec id, "" the init).
  struct Task {
    std::string bundle;
    std::map<std::string, std::unique_ptr<Process>> processes;
  };

  config::Config config_;
  EventPublisher& events_;
  absl::Notification shutdown_;
  absl::Mutex create_mu_;  // one Create at a time: the first boots the VM the others join
  absl::Mutex mu_;
  // The first task's id: its Create booted the VM; CRI's containers of the pod join it.
  std::string sandbox_id_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<runtime::Sandbox> sandbox_;  // set by the first Create, before any other task exists
  runtime::HostCgroup sandbox_cgroup_;          // the pod's cgroup on the host, joined by the first Create
  std::map<std::string, Task> tasks_ ABSL_GUARDED_BY(mu_);  // by container id
};

}  // namespace kata::shim
