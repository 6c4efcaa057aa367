#include "host-runtime/shim/task_service.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <type_traits>

#include "google/protobuf/empty.pb.h"
#include "google/protobuf/util/time_util.h"
#include "host-runtime/rootfs/rootfs_plan.h"
#include "host-runtime/shim/pod_role.h"
#include "host-runtime/shim/task_metrics.h"
#include "kata_version.h"
#include "libkata/base/file_util.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unique_fd.h"
#include "libkata/log/log.h"
#include "libkata/oci/spec.h"
#include "libkata/ttrpc/unary.h"

namespace kata::shim {
namespace {

namespace task = containerd::task::v2;
using google::protobuf::util::TimeUtil;
const log::Subsystem kLog("shim");
constexpr char kEvent[] = "containerd.events.";
// A background child may hold the output open after the process exits: wait this long for
// the output to drain before reporting the exit.
constexpr absl::Duration kDrainTimeout = absl::Seconds(5);

// Registers `method` whose request is Req and whose result is StatusOr<Resp> or Status (an
// Empty response), as a typed unary ttrpc method.
template <typename Req, typename Fn>
void Route(ttrpc::Server& server, const char* method, Fn fn) {
  using Result = std::invoke_result_t<Fn, const Req&>;
  constexpr char kService[] = "containerd.task.v2.Task";
  if constexpr (std::is_same_v<Result, absl::Status>) {
    ttrpc::RegisterUnary<Req, google::protobuf::Empty>(
        server, kService, method, [fn](const Req& req, google::protobuf::Empty*, const ttrpc::CallContext&) { return fn(req); });
  } else {
    using Resp = typename Result::value_type;
    ttrpc::RegisterUnary<Req, Resp>(server, kService, method,
                                    [fn](const Req& req, Resp* resp, const ttrpc::CallContext&) -> absl::Status {
                                      auto result = fn(req);
                                      if (!result.ok()) return result.status();
                                      *resp = std::move(*result);
                                      return absl::OkStatus();
                                    });
  }
}

// Opens a FIFO for writing without waiting for a reader: -1 while there is none yet (ENXIO).
// Once open, writes block again, so a slow reader slows the process rather than losing output.
int OpenFifoWriter(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

// Copies the process's stdout or stderr into its FIFO (opened by path) until the end. The
// output is read from the agent whether or not anyone reads the FIFO (a detached client
// closed its end long ago): the container must never block on a full pipe because of that.
void PumpOutput(runtime::Sandbox* sandbox, std::string id, std::string exec_id, bool stderr_stream, std::string path,
                std::shared_ptr<absl::Notification> done) {
  UniqueFd fifo(OpenFifoWriter(path));
  for (;;) {
    auto chunk = sandbox->ReadOutput(id, exec_id, stderr_stream);
    if (!chunk.ok()) break;
    if (!fifo.valid()) fifo.reset(OpenFifoWriter(path));
    if (fifo.valid() && !WriteAll(fifo.get(), *chunk, path).ok()) fifo.reset();  // the reader left
  }
  done->Notify();
}

// Copies the client's stdin FIFO into the process; its end closes the process's stdin.
void PumpStdin(runtime::Sandbox* sandbox, std::string id, std::string exec_id, std::string path,
               std::shared_ptr<std::atomic<bool>> stop) {
  UniqueFd fifo(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo.valid()) return;
  char buf[16384];
  while (!*stop) {
    pollfd p = {fifo.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::read(fifo.get(), buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) break;
    if (!sandbox->WriteStdin(id, exec_id, std::string_view(buf, static_cast<size_t>(n))).ok()) return;
  }
  (void)sandbox->CloseStdin(id, exec_id);
}

}  // namespace

TaskService::~TaskService() {
  if (sandbox_) (void)sandbox_->Destroy();
  (void)sandbox_cgroup_.Remove();
  absl::MutexLock lock(&mu_);
  for (auto& [id, t] : tasks_) {
    for (auto& [exec_id, p] : t.processes) p->stop_stdin->store(true);
  }
  for (auto& [id, t] : tasks_) {
    for (auto& [exec_id, p] : t.processes) JoinThreads(*p);
  }
}

void TaskService::Register(ttrpc::Server& server) {
  Route<task::CreateTaskRequest>(server, "Create", [this](const auto& r) { return Create(r); });
  Route<task::StartRequest>(server, "Start", [this](const auto& r) { return Start(r); });
  Route<task::WaitRequest>(server, "Wait", [this](const auto& r) { return Wait(r); });
  Route<task::StateRequest>(server, "State", [this](const auto& r) { return State(r); });
  Route<task::DeleteRequest>(server, "Delete", [this](const auto& r) { return Delete(r); });
  Route<task::KillRequest>(server, "Kill", [this](const auto& r) { return Kill(r); });
  Route<task::ExecProcessRequest>(server, "Exec", [this](const auto& r) { return Exec(r); });
  Route<task::CloseIORequest>(server, "CloseIO", [this](const auto& r) { return CloseIO(r); });
  Route<task::PidsRequest>(server, "Pids", [this](const auto& r) { return Pids(r); });
  Route<task::PauseRequest>(server, "Pause", [this](const auto& r) { return Pause(r); });
  Route<task::ResumeRequest>(server, "Resume", [this](const auto& r) { return Resume(r); });
  Route<task::ConnectRequest>(server, "Connect", [this](const auto& r) { return Connect(r); });
  Route<task::ShutdownRequest>(server, "Shutdown", [this](const auto& r) { return Shutdown(r); });
  Route<task::ResizePtyRequest>(server, "ResizePty", [this](const auto& r) { return ResizePty(r); });
  Route<task::UpdateTaskRequest>(server, "Update", [this](const auto& r) { return Update(r); });
  Route<task::StatsRequest>(server, "Stats", [this](const auto& r) { return Stats(r); });
  // Checkpoint: not registered, so Unimplemented (a VM's container cannot be checkpointed).
}

std::string TaskService::SandboxId() {
  absl::MutexLock lock(&mu_);
  return sandbox_id_;
}

uint32_t TaskService::TaskPid() const { return sandbox_ ? static_cast<uint32_t>(sandbox_->vm().qemu_pid()) : 0; }

absl::StatusOr<TaskService::Process*> TaskService::Find(const std::string& id, const std::string& exec_id) {
  auto task = tasks_.find(id);
  if (task == tasks_.end()) return absl::NotFoundError(StrCat("task ", id, " not found"));
  auto it = task->second.processes.find(exec_id);
  if (it == task->second.processes.end() || it->second == nullptr) {
    return absl::NotFoundError(StrCat("process ", exec_id, " of task ", id, " not found"));
  }
  return it->second.get();
}

absl::StatusOr<task::CreateTaskResponse> TaskService::Create(const task::CreateTaskRequest& req) {
  absl::MutexLock creating(&create_mu_);
  bool boots = false;  // the first task: its VM is made here
  {
    absl::MutexLock lock(&mu_);
    if (tasks_.contains(req.id())) return absl::AlreadyExistsError(StrCat("task ", req.id(), " already exists"));
    boots = sandbox_id_.empty();
    if (boots) sandbox_id_ = req.id();
    tasks_[req.id()].bundle = req.bundle();  // reserved; its init comes once the container is made
  }
  auto fail = [&](absl::Status s) {
    if (boots && sandbox_) (void)sandbox_->Destroy();
    if (boots) sandbox_.reset();
    if (boots) (void)sandbox_cgroup_.Remove();
    absl::MutexLock lock(&mu_);
    tasks_.erase(req.id());
    if (boots) sandbox_id_.clear();
    return s;
  };
  auto spec = oci::LoadBundleSpec(req.bundle());
  if (!spec.ok()) return fail(spec.status());
  auto role = PodRoleOf(*spec);
  if (!role.ok()) return fail(role.status());
  if (role->joins_sandbox && (boots || role->sandbox_id != SandboxId())) {
    return fail(absl::FailedPreconditionError(StrCat("task ", req.id(), " belongs to sandbox ", role->sandbox_id,
                                                     ", which this shim does not run")));
  }
  // containerd says it twice; the request is what its client asked for.
  spec->mutable_process()->set_terminal(req.terminal());
  std::vector<runtime::RootfsMount> mounts;
  for (const auto& m : req.rootfs()) mounts.push_back({m.type(), m.source(), m.target(), {m.options().begin(), m.options().end()}});
  // `ctr run --rootfs DIR`: no Mounts, the bundle's rootfs directory is the container's.
  if (mounts.empty()) mounts.push_back(runtime::BundleRootfsMount(req.bundle(), spec->root().path()));
  if (boots) {
    // The pod's cgroup on the host (Kata's sandbox_cgroup_only): the shim joins it before QEMU
    // starts, so the VM and both processes' threads are accounted to the pod.
    if (spec->has_linux() && !spec->linux().cgroups_path().empty()) {
      auto relative = runtime::CgroupRelativePath(spec->linux().cgroups_path());
      if (!relative.ok()) return fail(relative.status());
      auto cgroup = runtime::HostCgroup::Create(runtime::HostCgroupHierarchies(), *relative);
      if (!cgroup.ok()) return fail(cgroup.status());
      sandbox_cgroup_ = std::move(*cgroup);
      if (absl::Status s = sandbox_cgroup_.Join(::getpid()); !s.ok()) return fail(s);
    }
    // The first task's disks are known before the VM boots: on QEMU's command line, not hot-plugged.
    auto network = runtime::SandboxNetworkFromSpec(*spec);
    if (!network.ok()) return fail(network.status());
    auto sandbox = runtime::Sandbox::Create(req.id(), config_, runtime::BootRootfs{req.id(), mounts}, *network);
    if (!sandbox.ok()) return fail(sandbox.status());
    sandbox_ = std::move(*sandbox);
  }
  if (absl::Status s = sandbox_->CreateContainer(req.id(), *spec, mounts, req.bundle()); !s.ok()) return fail(s);

  auto init = std::make_unique<Process>();
  init->stdin_path = req.stdin();
  init->stdout_path = req.stdout();
  init->stderr_path = req.stderr();
  {
    absl::MutexLock lock(&mu_);
    tasks_[req.id()].processes[""] = std::move(init);
  }
  task::TaskCreate event;
  event.set_container_id(req.id());
  event.set_bundle(req.bundle());
  *event.mutable_rootfs() = req.rootfs();
  event.mutable_io()->set_stdin(req.stdin());
  event.mutable_io()->set_stdout(req.stdout());
  event.mutable_io()->set_stderr(req.stderr());
  event.set_pid(TaskPid());
  (void)events_.Publish("/tasks/create", StrCat(kEvent, "TaskCreate"), event);
  task::CreateTaskResponse resp;
  resp.set_pid(TaskPid());
  return resp;
}

void TaskService::StartIo(const std::string& id, Process& p) {
  for (bool err : {false, true}) {
    const std::string& path = err ? p.stderr_path : p.stdout_path;
    if (path.empty()) continue;
    auto done = std::make_shared<absl::Notification>();
    p.output_done.push_back(done);
    p.threads.emplace_back(PumpOutput, sandbox_.get(), id, p.exec_id, err, path, done);
  }
  if (!p.stdin_path.empty()) p.threads.emplace_back(PumpStdin, sandbox_.get(), id, p.exec_id, p.stdin_path, p.stop_stdin);
  p.threads.emplace_back([this, raw = &p, id] { WatchExit(raw, id); });
}

void TaskService::WatchExit(Process* p, std::string id) {
  auto status = sandbox_->WaitProcess(id, p->exec_id);
  for (const auto& done : p->output_done) (void)done->WaitForNotificationWithTimeout(kDrainTimeout);
  RecordExit(p, id, status);
}

void TaskService::RecordExit(Process* p, const std::string& id, const absl::StatusOr<int>& status) {
  task::TaskExit event;
  {
    absl::MutexLock lock(&mu_);
    p->status = task::STOPPED;
    p->exit_status = status.ok() ? static_cast<uint32_t>(*status) : 255;
    p->exited_at = TimeUtil::GetCurrentTime();
    event.set_container_id(id);
    event.set_id(p->exec_id.empty() ? id : p->exec_id);
    event.set_pid(TaskPid());
    event.set_exit_status(p->exit_status);
    *event.mutable_exited_at() = p->exited_at;
  }
  if (!status.ok()) kLog.Warn("wait failed", {{"id", id}, {"exec_id", p->exec_id}, {"error", std::string(status.status().message())}});
  (void)events_.Publish("/tasks/exit", StrCat(kEvent, "TaskExit"), event);
}

absl::StatusOr<task::StartResponse> TaskService::Start(const task::StartRequest& req) {
  Process* p = nullptr;
  {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(p, Find(req.id(), req.exec_id()));
    if (p->status != task::CREATED) return absl::FailedPreconditionError(StrCat("process ", req.exec_id(), " was started already"));
  }
  if (req.exec_id().empty()) {
    if (absl::Status started = sandbox_->StartContainer(req.id()); !started.ok()) {
      // The init never ran the process (say, the executable is missing): the task is over,
      // not still "created", or containerd's client could never delete it and the shim and
      // its VM would stay. Its end is made sure of, recorded and announced.
      (void)sandbox_->SignalProcess(req.id(), "", SIGKILL);
      RecordExit(p, req.id(), sandbox_->WaitProcess(req.id()));
      return started;
    }
  } else {
    {
      // As runc: nothing new runs in a paused container (the sandbox's pause stops the whole
      // VM, where the exec would wait for the agent until someone resumed it).
      absl::MutexLock lock(&mu_);
      ASSIGN_OR_RETURN(Process * init, Find(req.id(), ""));
      if (init->status == task::PAUSED) {
        return absl::FailedPreconditionError(StrCat("cannot exec in a paused container: task ", req.id(), " is paused"));
      }
    }
    RETURN_IF_ERROR(sandbox_->ExecProcess(req.id(), req.exec_id(), p->spec));
  }
  {
    absl::MutexLock lock(&mu_);
    p->status = task::RUNNING;
    StartIo(req.id(), *p);
  }
  if (req.exec_id().empty()) {
    task::TaskStart event;
    event.set_container_id(req.id());
    event.set_pid(TaskPid());
    (void)events_.Publish("/tasks/start", StrCat(kEvent, "TaskStart"), event);
  } else {
    task::TaskExecStarted event;
    event.set_container_id(req.id());
    event.set_exec_id(req.exec_id());
    event.set_pid(TaskPid());
    (void)events_.Publish("/tasks/exec-started", StrCat(kEvent, "TaskExecStarted"), event);
  }
  task::StartResponse resp;
  resp.set_pid(TaskPid());
  return resp;
}

absl::StatusOr<task::WaitResponse> TaskService::Wait(const task::WaitRequest& req) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Process * p, Find(req.id(), req.exec_id()));
  ++p->waiters;  // Delete waits for us before it frees p
  mu_.Await(absl::Condition(+[](Process* q) { return q->status == task::STOPPED; }, p));
  task::WaitResponse resp;
  resp.set_exit_status(p->exit_status);
  *resp.mutable_exited_at() = p->exited_at;
  --p->waiters;
  return resp;
}

absl::StatusOr<task::StateResponse> TaskService::State(const task::StateRequest& req) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Process * p, Find(req.id(), req.exec_id()));
  task::StateResponse resp;
  resp.set_id(req.id());
  resp.set_exec_id(req.exec_id());
  resp.set_bundle(tasks_[req.id()].bundle);
  resp.set_pid(TaskPid());
  resp.set_status(p->status);
  resp.set_stdin(p->stdin_path);
  resp.set_stdout(p->stdout_path);
  resp.set_stderr(p->stderr_path);
  resp.set_exit_status(p->exit_status);
  if (p->status == task::STOPPED) *resp.mutable_exited_at() = p->exited_at;
  return resp;
}

absl::Status TaskService::RequireUnfinished(const std::string& id, const std::string& exec_id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Process * p, Find(id, exec_id));
  if (p->status == task::STOPPED) return absl::NotFoundError(StrCat("process ", exec_id, " already finished"));
  return absl::OkStatus();
}

absl::Status TaskService::Kill(const task::KillRequest& req) {
  RETURN_IF_ERROR(RequireUnfinished(req.id(), req.exec_id()));
  return sandbox_->SignalProcess(req.id(), req.exec_id(), static_cast<int>(req.signal()));
}

absl::Status TaskService::Exec(const task::ExecProcessRequest& req) {
  // The spec Any holds an OCI Process as JSON.
  auto spec = oci::ParseSpecJson(StrCat(R"({"ociVersion": "1.1.0", "root": {"path": "/"}, "process": )", req.spec().value(), "}"),
                                 "exec process");
  if (!spec.ok()) return spec.status();
  auto p = std::make_unique<Process>();
  p->exec_id = req.exec_id();
  p->stdin_path = req.stdin();
  p->stdout_path = req.stdout();
  p->stderr_path = req.stderr();
  p->spec = spec->process();
  p->spec.set_terminal(req.terminal());
  p->has_spec = true;
  {
    absl::MutexLock lock(&mu_);
    auto task = tasks_.find(req.id());
    if (task == tasks_.end()) return absl::NotFoundError(StrCat("task ", req.id(), " not found"));
    if (req.exec_id().empty() || task->second.processes.contains(req.exec_id())) {
      return absl::AlreadyExistsError(StrCat("exec id \"", req.exec_id(), "\" is taken or empty"));
    }
    task->second.processes[req.exec_id()] = std::move(p);
  }
  task::TaskExecAdded event;
  event.set_container_id(req.id());
  event.set_exec_id(req.exec_id());
  (void)events_.Publish("/tasks/exec-added", StrCat(kEvent, "TaskExecAdded"), event);
  return absl::OkStatus();
}

absl::Status TaskService::CloseIO(const task::CloseIORequest& req) {
  {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(Process * p, Find(req.id(), req.exec_id()));
    if (!req.stdin()) return absl::OkStatus();
    p->stop_stdin->store(true);
  }
  return sandbox_->CloseStdin(req.id(), req.exec_id());
}

absl::StatusOr<task::PidsResponse> TaskService::Pids(const task::PidsRequest& req) {
  absl::MutexLock lock(&mu_);
  if (!tasks_.contains(req.id())) return absl::NotFoundError(StrCat("task ", req.id(), " not found"));
  task::PidsResponse resp;
  resp.add_processes()->set_pid(TaskPid());  // the guest's pids are not the host's: the VM stands for them
  return resp;
}

absl::Status TaskService::ResizePty(const task::ResizePtyRequest& req) {
  RETURN_IF_ERROR(RequireUnfinished(req.id(), req.exec_id()));
  return sandbox_->ResizeTerminal(req.id(), req.exec_id(), req.height(), req.width());
}

absl::Status TaskService::Update(const task::UpdateTaskRequest& req) {
  {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(Find(req.id(), "").status());
  }
  ASSIGN_OR_RETURN(oci::LinuxResources resources, LinuxResourcesFromAny(req.resources()));
  return sandbox_->UpdateContainer(req.id(), resources);
}

absl::StatusOr<task::StatsResponse> TaskService::Stats(const task::StatsRequest& req) {
  {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(Find(req.id(), "").status());
  }
  ASSIGN_OR_RETURN(agent::CgroupStats stats, sandbox_->StatsContainer(req.id()));
  task::StatsResponse resp;
  *resp.mutable_stats() = MetricsAny(stats);
  return resp;
}

absl::Status TaskService::Pause(const task::PauseRequest& req) { return SetPaused(req.id(), true); }
absl::Status TaskService::Resume(const task::ResumeRequest& req) { return SetPaused(req.id(), false); }

absl::Status TaskService::SetPaused(const std::string& id, bool paused) {
  {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(Process * p, Find(id, ""));
    if (p->status != (paused ? task::RUNNING : task::PAUSED)) {
      return absl::FailedPreconditionError(StrCat("task ", id, paused ? " is not running" : " is not paused"));
    }
  }
  if (id == SandboxId()) {
    // The sandbox's task stands for the VM: it stops whole, every container of the pod with it.
    RETURN_IF_ERROR(sandbox_->vm().qmp().Execute(paused ? "stop" : "cont").status());
  } else {
    RETURN_IF_ERROR(sandbox_->PauseContainer(id, paused));
  }
  {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(Process * p, Find(id, ""));
    p->status = paused ? task::PAUSED : task::RUNNING;
  }
  if (paused) {
    task::TaskPaused event;
    event.set_container_id(id);
    (void)events_.Publish("/tasks/paused", StrCat(kEvent, "TaskPaused"), event);
  } else {
    task::TaskResumed event;
    event.set_container_id(id);
    (void)events_.Publish("/tasks/resumed", StrCat(kEvent, "TaskResumed"), event);
  }
  return absl::OkStatus();
}

void TaskService::JoinThreads(Process& p) {
  for (auto& t : p.threads) {
    if (t.joinable()) t.join();
  }
  p.threads.clear();
}

absl::StatusOr<task::DeleteResponse> TaskService::Delete(const task::DeleteRequest& req) {
  std::unique_ptr<Process> p;
  {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(Process * found, Find(req.id(), req.exec_id()));
    if (found->status == task::RUNNING || found->status == task::PAUSED) {
      return absl::FailedPreconditionError(StrCat("process ", req.exec_id(), " of task ", req.id(), " is still running"));
    }
    auto& processes = tasks_[req.id()].processes;
    if (req.exec_id().empty() && processes.size() > 1) {
      return absl::FailedPreconditionError(StrCat("task ", req.id(), " still has exec processes"));
    }
    if (req.exec_id().empty() && req.id() == sandbox_id_ && tasks_.size() > 1) {
      return absl::FailedPreconditionError(StrCat("task ", req.id(), " is the sandbox of ", tasks_.size() - 1,
                                                  " more: delete them first"));
    }
    Process* doomed = processes[req.exec_id()].get();
    if (doomed->status != task::STOPPED) {
      // Never started (CREATED): it ends here, unknown exit status as containerd's runc shim
      // reports it; a Wait blocked on it returns, and it is freed only once they all have.
      doomed->status = task::STOPPED;
      doomed->exit_status = 255;
      doomed->exited_at = TimeUtil::GetCurrentTime();
    }
    mu_.Await(absl::Condition(+[](Process* q) { return q->waiters == 0; }, doomed));
    // The lock was let go meanwhile: a concurrent Delete may have taken it already.
    ASSIGN_OR_RETURN(Process * again, Find(req.id(), req.exec_id()));
    if (again != doomed) return absl::NotFoundError(StrCat("process ", req.exec_id(), " of task ", req.id(), " is deleted"));
    auto& still = tasks_[req.id()].processes;
    p = std::move(still[req.exec_id()]);
    still.erase(req.exec_id());
    if (req.exec_id().empty()) tasks_.erase(req.id());
  }
  p->stop_stdin->store(true);
  absl::Status removed;
  if (req.exec_id().empty()) removed = sandbox_->RemoveContainer(req.id());  // ends the output pumps too
  JoinThreads(*p);
  task::DeleteResponse resp;
  resp.set_pid(TaskPid());
  resp.set_exit_status(p->exit_status);
  *resp.mutable_exited_at() = p->exited_at;
  if (req.exec_id().empty()) {
    task::TaskDelete event;
    event.set_container_id(req.id());
    event.set_id(req.id());
    event.set_pid(TaskPid());
    event.set_exit_status(p->exit_status);
    *event.mutable_exited_at() = p->exited_at;
    (void)events_.Publish("/tasks/delete", StrCat(kEvent, "TaskDelete"), event);
  }
  if (!removed.ok()) kLog.Warn("container removal incomplete", {{"id", req.id()}, {"error", std::string(removed.message())}});
  return resp;
}

absl::StatusOr<task::ConnectResponse> TaskService::Connect(const task::ConnectRequest&) {
  task::ConnectResponse resp;
  resp.set_shim_pid(static_cast<uint32_t>(::getpid()));
  resp.set_task_pid(TaskPid());
  resp.set_version(KATA_VERSION);
  return resp;
}

absl::Status TaskService::Shutdown(const task::ShutdownRequest& req) {
  {
    absl::MutexLock lock(&mu_);
    // containerd asks after every task's Delete: the shim stays while the pod has containers.
    if (!req.now() && !tasks_.empty()) return absl::OkStatus();
  }
  if (sandbox_) RETURN_IF_ERROR(sandbox_->Destroy());
  // Not fatal: the shim must still exit; `delete` removes the leaf again.
  if (absl::Status s = sandbox_cgroup_.Remove(); !s.ok()) kLog.Warn("sandbox cgroup", {{"error", std::string(s.message())}});
  shutdown_.Notify();
  return absl::OkStatus();
}

}  // namespace kata::shim
