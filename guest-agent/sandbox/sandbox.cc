#include "guest-agent/sandbox/sandbox.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>

#include "guest-agent/device/spec_device_updater.h"
#include "guest-agent/network/sandbox_dns.h"
#include "guest-agent/sandbox/path_contract.h"
#include "guest-agent/seccomp/seccomp_program.h"
#include "guest-agent/setup/init_plan_builder.h"
#include "guest-agent/setup/plan_environment.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/identifiers.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"
#include "libkata/oci/validate.h"

namespace kata::guest {
namespace {

const log::Subsystem kLog("sandbox");
constexpr absl::Duration kDestroyWait = absl::Seconds(10);
// How long a waited exec whose output was not read to its end stays for a late reader.
constexpr absl::Duration kWaitedExecLinger = absl::Seconds(60);

bool IsInit(const std::string& container_id, const std::string& exec_id) {
  return exec_id.empty() || exec_id == container_id;
}

}  // namespace

Sandbox::Sandbox(SandboxOptions options, StorageManager& storages, const DeviceHandlerRegistry& devices,
                 BlockDeviceWaiter& block_devices, Reaper& reaper)
    : options_(std::move(options)), storages_(storages), devices_(devices), block_devices_(block_devices),
      reaper_(reaper) {}

Sandbox::~Sandbox() { (void)DestroySandbox(); }

absl::Status Sandbox::CreateSandbox(const agent::CreateSandboxRequest& req) {
  const std::string id = req.sandbox_id().empty() ? "sandbox" : req.sandbox_id();
  RETURN_IF_ERROR(ValidateId("sandbox id", id));
  if (req.hostname().size() > 64) return absl::InvalidArgumentError("hostname is longer than 64 characters");
  {
    absl::MutexLock lock(&mu_);
    if (created_) return absl::AlreadyExistsError("the sandbox is already created");
  }
  RETURN_IF_ERROR(CheckSandboxStorages(AgentLayout{options_.sandbox_dir}, req.storages()));
  RETURN_IF_ERROR(ResolvConfFromDns(req.dns()).status());
  ASSIGN_OR_RETURN(std::vector<std::string> held, storages_.AddStorages(id, req.storages(), options_.hotplug_timeout));
  // After the storages: a failure here undoes them; a failed storage leaves the name alone.
  if (options_.is_init && !req.hostname().empty() && ::sethostname(req.hostname().data(), req.hostname().size()) != 0) {
    const int err = errno;
    (void)storages_.RemoveStorages(held);
    return ErrnoStatus(err, StrCat("set the VM's hostname to ", req.hostname()));
  }
  if (absl::Status s = WriteSandboxDns(options_.sandbox_dir, req.dns()); !s.ok()) {
    (void)storages_.RemoveStorages(held);
    return s;
  }
  absl::MutexLock lock(&mu_);
  created_ = true;
  sandbox_id_ = id;
  hostname_ = req.hostname();
  sandbox_storages_ = std::move(held);
  kLog.Info("sandbox created", {{"sandbox_id", id}, {"storages", sandbox_storages_.size()}});
  return absl::OkStatus();
}

absl::Status Sandbox::DestroySandbox() {
  std::map<std::string, std::shared_ptr<Container>> containers;
  std::vector<std::string> sandbox_storages;
  {
    absl::MutexLock lock(&mu_);
    containers.swap(containers_);
    sandbox_storages.swap(sandbox_storages_);
    cancelled_.clear();  // their creations find their slots gone and undo themselves
    created_ = false;
  }
  absl::Status first;
  for (auto& [id, c] : containers) {
    if (c == nullptr) continue;  // being created right now: its CreateContainer cleans up after itself
    KillAll(*c);
    absl::Status s = Teardown(std::move(c), kDestroyWait);
    if (!s.ok() && first.ok()) first = s;
  }
  absl::Status s = storages_.RemoveStorages(sandbox_storages);
  if (!s.ok() && first.ok()) first = s;
  if (!containers.empty()) kLog.Info("sandbox destroyed", {{"containers", containers.size()}});
  return first;
}

absl::Status Sandbox::CreateContainer(const agent::CreateContainerRequest& req) {
  const std::string& cid = req.container_id();
  RETURN_IF_ERROR(ValidateId("container id", cid));
  if (!req.has_oci()) return absl::InvalidArgumentError(StrCat("container ", cid, ": OCI spec is missing"));
  oci::Spec spec = req.oci();
  if (absl::Status s = oci::ValidateSpec(spec); !s.ok()) {
    return absl::InvalidArgumentError(StrCat("container ", cid, ": OCI spec: ", ToStd(s.message())));
  }
  if (spec.root().path().empty() || spec.root().path().front() != '/') {
    return absl::InvalidArgumentError(StrCat("container ", cid, ": root.path \"", spec.root().path(),
                                             "\" must be an absolute path in the guest"));
  }
  auto devices = BuildDevicePolicy(spec.linux().resources().devices());
  if (!devices.ok()) return absl::InvalidArgumentError(StrCat("container ", cid, ": ", ToStd(devices.status().message())));
  auto c = std::make_unique<Container>();
  c->id = cid;
  c->rootfs = spec.root().path();
  {
    absl::MutexLock lock(&mu_);
    if (!created_) return absl::FailedPreconditionError("CreateSandbox must come before CreateContainer");
    if (containers_.count(cid)) return absl::AlreadyExistsError(StrCat("container ", cid, " already exists"));
    // Nothing the host names is used before it is checked against the layout.
    if (absl::Status s = CheckContainerPaths(AgentLayout{options_.sandbox_dir}, req, sandbox_storages_, *devices,
                                             ProbePathNoSymlinks);
        !s.ok()) {
      return absl::Status(s.code(), StrCat("container ", cid, ": ", ToStd(s.message())));
    }
    containers_[cid] = nullptr;  // reserved while it is being made
  }
  auto release = [&](absl::Status s) {
    if (c->cgroup.valid()) (void)c->cgroup.Remove();
    if (!c->storages.empty()) (void)storages_.RemoveStorages(c->storages);
    absl::MutexLock lock(&mu_);
    containers_.erase(cid);
    cancelled_.erase(cid);  // a RemoveContainer waiting for this creation is answered now
    return s;
  };

  // libseccomp takes ~10 ms on a large profile: compiled alongside the storages and devices
  // (which wait for hot-plugs), from a copy, since the spec changes meanwhile.
  oci::LinuxSeccomp seccomp_profile = spec.linux().seccomp();
  const bool wants_seccomp = WantsSeccomp(spec.linux());
  auto seccomp_compiled = std::async(std::launch::async, [this, &seccomp_profile, wants_seccomp] {
    oci::Linux linux;
    if (wants_seccomp) *linux.mutable_seccomp() = seccomp_profile;
    return seccomp_programs_.Get(linux);
  });
  // Where a container's creation goes (logged with it): bench/container-ready-bench's breakdown.
  const absl::Time began = absl::Now();
  auto held = storages_.AddStorages(cid, req.storages(), options_.hotplug_timeout);
  if (!held.ok()) return release(held.status());
  c->storages = std::move(*held);

  const absl::Time stored = absl::Now();
  DeviceContext dctx{block_devices_, options_.hotplug_timeout};
  auto updates = CollectDeviceUpdates(req.devices(), devices_, dctx);
  if (!updates.ok()) return release(updates.status());
  if (absl::Status s = ApplyDeviceUpdates(spec, *updates); !s.ok()) return release(s);

  struct stat st;
  if (::stat(c->rootfs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return release(absl::FailedPreconditionError(StrCat("container ", cid, ": rootfs ", c->rootfs, " is not a directory")));
  }
  InitPlan plan;
  if (absl::Status s = BuildInitPlan(spec, c->rootfs, ProbePlanEnvironment(c->rootfs, SandboxInitPid(cid)), plan); !s.ok()) {
    return release(absl::Status(s.code(), StrCat("container ", cid, ": ", ToStd(s.message()))));
  }
  auto seccomp = seccomp_compiled.get();
  if (!seccomp.ok()) {
    return release(absl::Status(seccomp.status().code(), StrCat("container ", cid, ": ", ToStd(seccomp.status().message()))));
  }
  plan.exec.seccomp = *seccomp;
  c->seccomp = std::move(*seccomp);
  auto cgroup = MakeCgroup(cid, spec);
  if (!cgroup.ok()) return release(cgroup.status());
  c->cgroup = std::move(*cgroup);
  UniqueFd cgroup_procs;
  if (c->cgroup.valid()) {
    auto procs = c->cgroup.OpenProcs();
    if (!procs.ok()) return release(procs.status());
    cgroup_procs = std::move(*procs);
  }
  c->init = std::make_shared<Process>(cid);
  const absl::Time planned = absl::Now();
  auto launched = LaunchInit(plan, cgroup_procs.get(), options_.launch_timeout, [this, p = c->init](pid_t pid, bool is_init) {
    if (!is_init) {  // the middle process that joined the sandbox's namespaces: collected quietly
      reaper_.Watch(pid, [](int) {});
      return;
    }
    // Watched before the pid is set: an exit the reaper already saw marks the process
    // exited before anyone can signal that pid (by now perhaps another process's).
    reaper_.Watch(pid, [p](int status) { p->SetExited(status); });
    p->set_pid(pid);
  });
  if (!launched.ok()) {
    return release(absl::Status(launched.status().code(), StrCat("container ", cid, ": ", ToStd(launched.status().message()))));
  }
  c->init->AttachStdio(std::move(launched->stdin_w), std::move(launched->stdout_r), std::move(launched->stderr_r),
                       launched->terminal);
  c->launched = std::move(*launched);
  if (absl::Status s = ApplyInitDeviceRules(cid, c->cgroup, spec); !s.ok()) {
    KillAll(*c);
    (void)Teardown(std::move(c), options_.launch_timeout);
    absl::MutexLock lock(&mu_);
    containers_.erase(cid);
    cancelled_.erase(cid);
    return s;
  }
  kLog.Info("container created", {{"container_id", cid}, {"process_pid", c->init->pid()}, {"storages", c->storages.size()},
                                  {"devices", req.devices_size()},
                                  {"storages_ms", absl::ToDoubleMilliseconds(stored - began)},
                                  {"plan_ms", absl::ToDoubleMilliseconds(planned - stored)},
                                  {"launch_ms", absl::ToDoubleMilliseconds(absl::Now() - planned)}});
  {
    absl::MutexLock lock(&mu_);
    auto slot = containers_.find(cid);
    if (slot != containers_.end() && !cancelled_.contains(cid)) {
      slot->second = std::move(c);
      return absl::OkStatus();
    }
  }
  // DestroySandbox ran meanwhile, or the host removed the container (its CreateContainer
  // gave up): it must not outlive that.
  KillAll(*c);
  (void)Teardown(std::move(c), options_.launch_timeout);
  bool removed;
  {
    absl::MutexLock lock(&mu_);
    removed = cancelled_.erase(cid) > 0;
    if (removed) containers_.erase(cid);  // still our reservation: DestroySandbox clears the marks
  }
  return absl::AbortedError(StrCat("container ", cid, removed ? ": removed while it was being created"
                                                              : ": the sandbox was destroyed while it was being created"));
}

pid_t Sandbox::SandboxInitPid(const std::string& container_id) {
  absl::MutexLock lock(&mu_);
  if (container_id == sandbox_id_) return 0;
  auto it = containers_.find(sandbox_id_);
  if (it == containers_.end() || it->second == nullptr || !it->second->init || !it->second->init->running()) return 0;
  return it->second->init->pid();
}

absl::Status Sandbox::StartContainer(const std::string& container_id) {
  RETURN_IF_ERROR(ValidateId("container id", container_id));
  absl::MutexLock lock(&mu_);
  auto it = containers_.find(container_id);
  if (it == containers_.end() || it->second == nullptr) {
    return absl::NotFoundError(StrCat("container ", container_id, " does not exist"));
  }
  Container& c = *it->second;
  if (c.started) return absl::FailedPreconditionError(StrCat("container ", container_id, " is already started"));
  if (!c.init->running()) return absl::FailedPreconditionError(StrCat("container ", container_id, " has exited"));
  RETURN_IF_ERROR(StartInit(c.launched, options_.launch_timeout));
  c.started = true;
  kLog.Info("container started", {{"container_id", container_id}});
  return absl::OkStatus();
}

std::vector<std::shared_ptr<Process>> Sandbox::ProcessesOf(const Container& c) {
  absl::MutexLock lock(&mu_);  // an exec being launched may come or go meanwhile
  std::vector<std::shared_ptr<Process>> all;
  if (c.init) all.push_back(c.init);
  for (const auto& [id, p] : c.execs) all.push_back(p);
  return all;
}

void Sandbox::KillAll(const Container& c) {
  // The init is PID 1 of the container's PID namespace: its death takes every process in
  // it along. Execs are in that namespace too; signal them as well in case the init is gone.
  for (auto& p : ProcessesOf(c)) (void)p->Signal(SIGKILL);
}

absl::Status Sandbox::Teardown(std::shared_ptr<Container> c, absl::Duration wait) {
  absl::Status first;
  const std::vector<std::shared_ptr<Process>> all = ProcessesOf(*c);
  for (auto& p : all) {
    if (p->pid() <= 0) continue;
    auto s = p->Wait(wait);
    if (!s.ok() && first.ok()) first = s.status();
  }
  for (auto& p : all) p->CloseAll();
  // The cgroup before the storages: what is still in it (a process that left the PID
  // namespace's reach) is killed and cannot hold the rootfs busy.
  if (absl::Status removed = c->cgroup.Remove(); !removed.ok() && first.ok()) first = removed;
  absl::Status s = storages_.RemoveStorages(c->storages);
  if (!s.ok() && first.ok()) first = s;
  kLog.Info("container removed", {{"container_id", c->id}});
  return first;
}

absl::Status Sandbox::RemoveContainer(const std::string& container_id, absl::Duration timeout) {
  RETURN_IF_ERROR(ValidateId("container id", container_id));
  std::shared_ptr<Container> c;
  {
    absl::MutexLock lock(&mu_);
    auto it = containers_.find(container_id);
    if (it == containers_.end()) return absl::NotFoundError(StrCat("container ", container_id, " does not exist"));
    if (it->second == nullptr) {
      // Still being made (the host's CreateContainer gave up on it): its creation undoes
      // itself when it ends. Answered once that is done, so the host unplugs no disk that is
      // still being mounted; Unavailable (not NotFound) if it does not end in time.
      cancelled_.insert(container_id);
      auto creation_ended = [this, &container_id]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !containers_.contains(container_id);
      };
      if (!mu_.AwaitWithTimeout(absl::Condition(&creation_ended), timeout == absl::ZeroDuration() ? kDestroyWait : timeout)) {
        return absl::UnavailableError(
            StrCat("container ", container_id, " is still being created; it is removed when that ends"));
      }
      kLog.Info("container removed while it was being created", {{"container_id", container_id}});
      return absl::OkStatus();
    }
    bool running = it->second->started && it->second->init->running();
    for (auto& [id, p] : it->second->execs) running = running || p->running();
    if (running && timeout == absl::ZeroDuration()) {
      return absl::FailedPreconditionError(
          StrCat("container ", container_id, " is running: signal it first, or remove it with a timeout to kill it"));
    }
    c = std::move(it->second);
    containers_.erase(it);
  }
  KillAll(*c);  // what is left: a created-but-never-started init, or what a timeout allows to kill
  return Teardown(std::move(c), timeout == absl::ZeroDuration() ? kDestroyWait : timeout);
}

absl::Status Sandbox::ExecProcess(const agent::ExecProcessRequest& req) {
  const std::string& cid = req.container_id();
  RETURN_IF_ERROR(ValidateId("container id", cid));
  RETURN_IF_ERROR(ValidateId("exec id", req.exec_id()));
  if (req.exec_id() == cid) return absl::InvalidArgumentError(StrCat("exec id ", req.exec_id(), " is the container's own"));
  if (!req.has_process()) return absl::InvalidArgumentError(StrCat("exec ", req.exec_id(), ": process is missing"));
  std::shared_ptr<Container> c;
  auto plan = std::make_unique<ExecPlan>();
  auto process = std::make_shared<Process>(req.exec_id());
  UniqueFd cgroup_procs;
  pid_t init_pid = -1;
  {
    absl::MutexLock lock(&mu_);
    auto it = containers_.find(cid);
    if (it == containers_.end() || it->second == nullptr) return absl::NotFoundError(StrCat("container ", cid, " does not exist"));
    c = it->second;
    const std::string home = HomeFromPasswd(ReadImagePasswd(c->rootfs), req.process().user().uid());
    if (absl::Status s = BuildExecPlan(req.process(), *plan, home); !s.ok()) {
      return absl::InvalidArgumentError(StrCat("exec ", req.exec_id(), ": ", ToStd(s.message())));
    }
    plan->seccomp = c->seccomp;
    if (!c->started || !c->init->running()) return absl::FailedPreconditionError(StrCat("container ", cid, " is not running"));
    // As runc: a frozen container runs nothing new (the exec would freeze on joining it).
    if (c->paused) return absl::FailedPreconditionError(StrCat("container ", cid, " is paused: resume it before exec"));
    // Execs whose exit was reported long ago but whose output nobody read to the end: the
    // host is done with them (an exec every few seconds, as a liveness probe, must not pile up).
    std::erase_if(c->execs, [now = absl::Now()](const auto& e) {
      const auto waited = e.second->waited_at();
      return waited && now - *waited > kWaitedExecLinger;
    });
    if (c->execs.count(req.exec_id())) {
      return absl::AlreadyExistsError(StrCat("exec ", req.exec_id(), " already exists in container ", cid));
    }
    if (c->cgroup.valid()) {
      auto procs = c->cgroup.OpenProcs();
      if (!procs.ok()) return procs.status();
      cgroup_procs = std::move(*procs);
    }
    init_pid = c->init->pid();
    c->execs[req.exec_id()] = process;  // the id is taken; the process runs once launched
  }
  // Launched without the sandbox's lock: a slow or stuck launch holds up no other call.
  auto launched = LaunchExec(init_pid, *plan, cgroup_procs.get(), options_.launch_timeout,
                             [this, process](pid_t pid, bool is_process) {
    if (!is_process) {
      reaper_.Watch(pid, [](int) {});
      return;
    }
    reaper_.Watch(pid, [process](int status) { process->SetExited(status); });  // first: see LaunchInit's
    process->set_pid(pid);
  });
  absl::MutexLock lock(&mu_);
  auto still = containers_.find(cid);
  const bool container_stays = still != containers_.end() && still->second == c;
  if (!launched.ok() || !container_stays) {
    if (launched.ok()) (void)process->Signal(SIGKILL);  // its container went meanwhile
    if (!process->exit_status() && process->pid() <= 0) process->SetExited(255);  // never ran: no waiter hangs
    c->execs.erase(req.exec_id());
    if (!container_stays) return absl::AbortedError(StrCat("exec ", req.exec_id(), ": container ", cid, " was removed meanwhile"));
    return absl::Status(launched.status().code(), StrCat("exec ", req.exec_id(), ": ", ToStd(launched.status().message())));
  }
  process->AttachStdio(std::move(launched->stdin_w), std::move(launched->stdout_r), std::move(launched->stderr_r),
                       launched->terminal);
  kLog.Info("exec started", {{"container_id", cid}, {"exec_id", req.exec_id()}, {"process_pid", process->pid()}});
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Process>> Sandbox::FindProcess(const std::string& container_id, const std::string& exec_id) {
  RETURN_IF_ERROR(ValidateId("container id", container_id));
  if (!exec_id.empty()) RETURN_IF_ERROR(ValidateId("exec id", exec_id));
  absl::MutexLock lock(&mu_);
  auto it = containers_.find(container_id);
  if (it == containers_.end() || it->second == nullptr) {
    return absl::NotFoundError(StrCat("container ", container_id, " does not exist"));
  }
  if (IsInit(container_id, exec_id)) return it->second->init;
  auto e = it->second->execs.find(exec_id);
  if (e == it->second->execs.end()) {
    return absl::NotFoundError(StrCat("exec ", exec_id, " does not exist in container ", container_id));
  }
  return e->second;
}

absl::StatusOr<int> Sandbox::WaitProcess(const std::string& container_id, const std::string& exec_id) {
  ASSIGN_OR_RETURN(std::shared_ptr<Process> p, FindProcess(container_id, exec_id));
  ASSIGN_OR_RETURN(int status, p->Wait());
  if (!IsInit(container_id, exec_id)) {
    p->MarkWaited();
    ReleaseIfFinished(container_id, p);
  }
  return status;
}

void Sandbox::ReleaseIfFinished(const std::string& container_id, const std::shared_ptr<Process>& p) {
  if (!p->Finished()) return;
  absl::MutexLock lock(&mu_);
  auto it = containers_.find(container_id);
  if (it == containers_.end() || it->second == nullptr) return;
  auto e = it->second->execs.find(p->exec_id());
  if (e != it->second->execs.end() && e->second == p) it->second->execs.erase(e);  // its pipes close with the last reference
}

absl::Status Sandbox::SignalProcess(const std::string& container_id, const std::string& exec_id, uint32_t signal) {
  if (signal == 0 || signal > static_cast<uint32_t>(SIGRTMAX)) {
    return absl::InvalidArgumentError(StrCat("signal ", signal, " is not a signal number"));
  }
  if (!exec_id.empty()) {
    ASSIGN_OR_RETURN(std::shared_ptr<Process> p, FindProcess(container_id, exec_id));
    return p->Signal(static_cast<int>(signal));
  }
  // No exec id: every process of the container.
  ASSIGN_OR_RETURN(std::shared_ptr<Process> init, FindProcess(container_id, ""));
  absl::Status first = init->Signal(static_cast<int>(signal));
  absl::MutexLock lock(&mu_);
  auto it = containers_.find(container_id);
  if (it != containers_.end() && it->second) {
    for (auto& [id, p] : it->second->execs) {
      if (p->running()) (void)p->Signal(static_cast<int>(signal));
    }
  }
  return first;
}

absl::StatusOr<size_t> Sandbox::WriteStdin(const std::string& container_id, const std::string& exec_id,
                                           const std::string& data) {
  ASSIGN_OR_RETURN(std::shared_ptr<Process> p, FindProcess(container_id, exec_id));
  return p->WriteStdin(data);
}

absl::StatusOr<std::string> Sandbox::ReadStdout(const std::string& container_id, const std::string& exec_id, uint32_t len,
                                                const Process::CancelCheck& cancelled) {
  ASSIGN_OR_RETURN(std::shared_ptr<Process> p, FindProcess(container_id, exec_id));
  auto data = p->ReadStdout(len, cancelled);
  if (!IsInit(container_id, exec_id)) ReleaseIfFinished(container_id, p);
  return data;
}

absl::StatusOr<std::string> Sandbox::ReadStderr(const std::string& container_id, const std::string& exec_id, uint32_t len,
                                                const Process::CancelCheck& cancelled) {
  ASSIGN_OR_RETURN(std::shared_ptr<Process> p, FindProcess(container_id, exec_id));
  auto data = p->ReadStderr(len, cancelled);
  if (!IsInit(container_id, exec_id)) ReleaseIfFinished(container_id, p);
  return data;
}

absl::Status Sandbox::CloseStdin(const std::string& container_id, const std::string& exec_id) {
  ASSIGN_OR_RETURN(std::shared_ptr<Process> p, FindProcess(container_id, exec_id));
  return p->CloseStdin();
}

size_t Sandbox::ContainerCount() const {
  absl::MutexLock lock(&mu_);
  return containers_.size();
}

}  // namespace kata::guest
