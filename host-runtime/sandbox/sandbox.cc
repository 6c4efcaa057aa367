#include "host-runtime/sandbox/sandbox.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <future>
#include <optional>
#include <thread>

#include "host-runtime/devices/host_block_device.h"
#include "host-runtime/hooks/oci_hooks.h"
#include "host-runtime/rootfs/shared_rootfs.h"
#include "host-runtime/sandbox/guest_spec.h"
#include "host-runtime/vm/qemu_command.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/identifiers.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"

namespace kata::runtime {
namespace {

const log::Subsystem kLog("sandbox");
// How long the guest may take to kill and reap a container's processes when it is removed.
constexpr absl::Duration kGuestRemoveTimeout = absl::Seconds(10);

// The agent's status with the RPC's name in front.
absl::Status Named(std::string_view what, const absl::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(s.code(), StrCat(what, ": ", s.message()));
}

using agent_api::AgentStub;

// One agent RPC within Sandbox::kRpcTimeout; a failure is named after `what` (the RPC).
template <typename Req, typename Resp>
absl::Status CallAgent(const AgentStub& stub, std::string_view what,
                       absl::Status (AgentStub::*method)(const Req&, Resp*, absl::Duration) const, const Req& req,
                       Resp& resp) {
  return Named(what, (stub.*method)(req, &resp, Sandbox::kRpcTimeout));
}

// The same for the RPCs that answer google.protobuf.Empty.
template <typename Req>
absl::Status CallAgent(const AgentStub& stub, std::string_view what,
                       absl::Status (AgentStub::*method)(const Req&, google::protobuf::Empty*, absl::Duration) const,
                       const Req& req) {
  google::protobuf::Empty e;
  return CallAgent(stub, what, method, req, e);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Sandbox>> Sandbox::Boot(const std::string& id, const config::Config& config,
                                                       const std::optional<BootRootfs>& boot_rootfs,
                                                       std::unique_ptr<PodNetwork> network) {
  const std::vector<VmNic> nics = network ? network->nics() : std::vector<VmNic>{};
  auto adopt = [&](std::unique_ptr<Sandbox> sandbox) {
    if (network) network->CloseFds();  // QEMU has them
    sandbox->network_ = std::move(network);
    return sandbox;
  };
  std::optional<RootfsPlan> plan;
  if (boot_rootfs) {
    RETURN_IF_ERROR(ValidateId("container id", boot_rootfs->container_id));
    ASSIGN_OR_RETURN(plan, ClassifyRootfs(boot_rootfs->mounts));
    if (std::holds_alternative<SharedRootfs>(*plan)) plan.reset();  // no disks: CreateContainer mounts it
  }
  if (!plan) {
    ASSIGN_OR_RETURN(std::unique_ptr<SandboxVm> vm, SandboxVm::Start(id, config, {}, nics));
    return adopt(std::unique_ptr<Sandbox>(new Sandbox(id, std::move(vm), config.agent)));
  }
  // The container's state directory (its VMDK descriptors) is made inside the VM's, before QEMU.
  std::string work_dir;
  RootfsDisks disks;
  BootDisks boot;
  boot.prepare = [&](const std::string& state_dir) -> absl::StatusOr<std::vector<BlockAttachRequest>> {
    const std::string dir = StrCat(state_dir, "/", boot_rootfs->container_id);
    if (::mkdir(dir.c_str(), 0700) != 0) return ErrnoStatus(errno, StrCat("mkdir ", dir));
    work_dir = dir;
    ASSIGN_OR_RETURN(disks, PrepareRootfsDisks(*plan, work_dir));
    return disks.requests;
  };
  boot.undo = [&] {
    for (const std::string& d : disks.descriptors) ::unlink(d.c_str());
    if (!work_dir.empty()) ::rmdir(work_dir.c_str());
  };
  ASSIGN_OR_RETURN(std::unique_ptr<SandboxVm> vm, SandboxVm::Start(id, config, boot, nics));
  auto attached = BootAttachedRootfs(*plan, std::move(disks), vm->boot_disks(), GuestRootfsPath(boot_rootfs->container_id));
  if (!attached.ok()) {
    ::rmdir(work_dir.c_str());  // its descriptors are gone; then the VM and its directory
    return attached.status();
  }
  std::unique_ptr<Sandbox> sandbox = adopt(std::unique_ptr<Sandbox>(new Sandbox(id, std::move(vm), config.agent)));
  absl::MutexLock lock(&sandbox->mu_);
  sandbox->boot_rootfs_ = BootAttached{*boot_rootfs, work_dir, std::move(*attached)};
  return sandbox;
}

absl::StatusOr<std::unique_ptr<Sandbox>> Sandbox::Create(const std::string& id, const config::Config& config,
                                                         const std::optional<BootRootfs>& boot_rootfs,
                                                         const SandboxNetworkSpec& network) {
  std::unique_ptr<PodNetwork> pod_network;
  if (!network.netns_path.empty()) {
    ASSIGN_OR_RETURN(pod_network, PodNetwork::Attach(network.netns_path));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Sandbox> sandbox, Boot(id, config, boot_rootfs, std::move(pod_network)));
  // The NICs are set up before the sandbox, as Kata orders it: CreateSandbox's DNS and the
  // containers after it find the pod's network in place.
  if (sandbox->network_) {
    if (absl::Status s = sandbox->network_->ConfigureGuest(sandbox->Agent(), kRpcTimeout); !s.ok()) {
      sandbox->ForgetBootRootfs();
      sandbox->vm_->Stop();
      return s;
    }
  }
  agent::CreateSandboxRequest req;
  req.set_sandbox_id(id);
  req.set_hostname(id.substr(0, 63));
  for (const std::string& line : network.dns) req.add_dns(line);
  sandbox->sandbox_dns_ = !network.dns.empty();
  if (!sandbox->vm_->shared_dir().empty()) {
    // The shared directory, once per sandbox: directory rootfs are found below it.
    agent::Storage* share = req.add_storages();
    share->set_driver("9p");
    share->set_source(kSharedFsTag);
    share->set_fstype("9p");
    share->set_mount_point(kGuestSharedDir);
    for (const char* o : {"trans=virtio", "version=9p2000.L", "cache=mmap", "msize=262144", "nodev"}) share->add_options(o);
  }
  if (absl::Status s = CallAgent(sandbox->Agent(), "CreateSandbox", &AgentStub::CreateSandbox, req); !s.ok()) {
    sandbox->ForgetBootRootfs();
    sandbox->vm_->Stop();
    return s;
  }
  return sandbox;
}

Sandbox::~Sandbox() { (void)Destroy(); }

void Sandbox::ForgetBootRootfs() {
  absl::MutexLock lock(&mu_);
  if (!boot_rootfs_) return;
  // Never used by its container: the disks go with the VM; their files go now.
  RemoveDescriptors(boot_rootfs_->attached);
  ::rmdir(boot_rootfs_->work_dir.c_str());
  boot_rootfs_.reset();
}

agent_api::AgentStub Sandbox::Agent() { return agent_api::AgentStub(vm_->agent_client()); }

absl::Status Sandbox::CreateContainer(const std::string& cid, const oci::Spec& spec, const std::vector<RootfsMount>& rootfs,
                                      const std::string& bundle) {
  RETURN_IF_ERROR(ValidateId("container id", cid));
  RETURN_IF_ERROR(CheckHooksSupported(spec));
  ASSIGN_OR_RETURN(RootfsPlan plan, ClassifyRootfs(rootfs));
  const bool shared = std::holds_alternative<SharedRootfs>(plan);
  if (shared && vm_->shared_dir().empty()) {
    return absl::FailedPreconditionError(StrCat("container ", cid, ": a directory rootfs needs hypervisor.shared_fs virtio-9p"));
  }
  const std::string guest_rootfs = shared ? GuestSharedRootfsPath(cid) : GuestRootfsPath(cid);
  ASSIGN_OR_RETURN(GuestSpecPlan guest, GuestSpec(spec, guest_rootfs, cid, !vm_->shared_dir().empty(), sandbox_dns_));
  // Before anything is attached: a device the VM cannot be given fails here, leaving nothing.
  ASSIGN_OR_RETURN(DevicePlan devices, PlanContainerDevices(spec, [](int64_t major, int64_t minor) {
                     return FindHostBlockDevice(major, minor);
                   }));
  if (devices.withheld_host_devices > 0) {
    guest.spec.mutable_linux()->clear_devices();
    kLog.Warn("privileged container: the host's devices are not given to the VM; it sees the guest's own",
              {{"container", cid}, {"devices", static_cast<int64_t>(devices.withheld_host_devices)}});
  }
  if (disable_guest_seccomp_) guest.spec.mutable_linux()->clear_seccomp();  // Kata's default; not ours
  std::optional<BootAttached> booted;
  {
    absl::MutexLock lock(&mu_);
    if (destroyed_) return absl::FailedPreconditionError(StrCat("sandbox ", id_, " is destroyed"));
    if (containers_.contains(cid)) return absl::AlreadyExistsError(StrCat("container ", cid, " already exists"));
    if (boot_rootfs_ && boot_rootfs_->rootfs.container_id == cid) {
      if (boot_rootfs_->rootfs.mounts != rootfs) {
        return absl::InvalidArgumentError(
            StrCat("container ", cid, ": its rootfs mounts differ from those sandbox ", id_, " was booted with"));
      }
      booted = std::move(boot_rootfs_);
      boot_rootfs_.reset();
    }
    containers_[cid].limits = spec.linux().resources();  // reserved; the VM's size counts it from here
  }
  Container c;
  c.work_dir = StrCat(vm_->state_dir(), "/", cid);  // a booted rootfs's is there already
  c.bundle = bundle;
  c.hook_spec.set_oci_version(spec.oci_version());
  *c.hook_spec.mutable_annotations() = spec.annotations();
  *c.hook_spec.mutable_hooks() = spec.hooks();
  c.limits = spec.linux().resources();
  auto fail = [&](absl::Status s) {
    (void)Undo(cid, c);
    {
      absl::MutexLock lock(&mu_);
      containers_.erase(cid);
    }
    ResizeVmAfter("failed create", cid);
    return s;
  };
  if (!booted && ::mkdir(c.work_dir.c_str(), 0700) != 0) return fail(ErrnoStatus(errno, StrCat("mkdir ", c.work_dir)));

  absl::Time t = absl::Now();
  // linux.devices' disks are hot-plugged while the rootfs is: each waits on QEMU and the guest.
  std::future<absl::StatusOr<AttachedDevices>> devices_attaching;
  if (!devices.block.empty()) {
    devices_attaching = std::async(std::launch::async, [this, &devices] { return AttachDevices(vm_->block_devices(), devices); });
  }
  const absl::Status rootfs_ready = [&]() -> absl::Status {
    if (shared) {
      c.shared_rootfs = StrCat(vm_->shared_dir(), "/", cid, "/rootfs");
      return MountSharedRootfs(std::get<SharedRootfs>(plan), c.shared_rootfs);
    }
    if (booted) {
      c.rootfs = std::move(booted->attached);  // on QEMU's command line: the guest has had them since boot
      c.timings.cold_plugged = true;
      return absl::OkStatus();
    }
    auto attached = AttachRootfs(vm_->block_devices(), plan, c.work_dir, guest_rootfs);
    if (!attached.ok()) return attached.status();
    c.rootfs = std::move(*attached);
    return absl::OkStatus();
  }();
  absl::Status devices_ready;
  if (devices_attaching.valid()) {
    auto attached = devices_attaching.get();  // also when the rootfs failed: Undo detaches them
    if (attached.ok()) {
      c.devices = std::move(*attached);
    } else {
      devices_ready = attached.status();
    }
  }
  if (!rootfs_ready.ok()) return fail(rootfs_ready);
  if (!devices_ready.ok()) return fail(devices_ready);
  if (absl::Status s = MountSharedBinds(guest.binds, vm_->shared_dir(), c.shared_binds); !s.ok()) return fail(s);
  c.timings.attach = absl::Now() - t;
  c.timings.devices = c.rootfs.devices.size() + c.devices.blocks.size();

  // The VM is up and the container not yet made in it: where Kata runs these.
  const std::string creating = HookState(spec, cid, "creating", vm_->qemu_pid(), bundle);
  for (const auto& [list, name] : {std::pair{&spec.hooks().prestart(), "prestart"},
                                   {&spec.hooks().create_runtime(), "createRuntime"},
                                   {&spec.hooks().create_container(), "createContainer"}}) {
    if (absl::Status s = RunHooks(*list, name, creating, true); !s.ok()) return fail(s);
  }
  // Before the container exists in the guest: its limits find the vCPUs and memory there.
  if (absl::Status s = ResizeVm(); !s.ok()) return fail(Named(StrCat("container ", cid, ": resize the VM"), s));
  agent::CreateContainerRequest req;
  req.set_container_id(cid);
  *req.mutable_oci() = std::move(guest.spec);
  for (const agent::Storage& s : c.rootfs.storages) *req.add_storages() = s;
  for (const agent::Device& d : c.devices.agent_devices) *req.add_devices() = d;
  t = absl::Now();
  bool guest_let_go = true;
  if (absl::Status s = CreateInGuest(req, guest_let_go); !s.ok()) {
    (void)Undo(cid, c, guest_let_go ? Disks::kDetach : Disks::kKeepAttached);
    {
      absl::MutexLock lock(&mu_);
      containers_.erase(cid);
    }
    ResizeVmAfter("failed create", cid);
    return s;
  }
  c.timings.create = absl::Now() - t;
  kLog.Info("container created", {{"container", cid}, {"devices", static_cast<int64_t>(c.timings.devices)},
                                  {"attach_ms", absl::ToInt64Milliseconds(c.timings.attach)},
                                  {"create_ms", absl::ToInt64Milliseconds(c.timings.create)}});
  absl::MutexLock lock(&mu_);
  containers_[cid] = std::move(c);
  return absl::OkStatus();
}

absl::Status Sandbox::StartContainer(const std::string& cid) {
  agent::StartContainerRequest req;
  req.set_container_id(cid);
  const absl::Time t = absl::Now();
  RETURN_IF_ERROR(CallAgent(Agent(), "StartContainer", &AgentStub::StartContainer, req));
  oci::Spec hook_spec;
  std::string bundle;
  {
    absl::MutexLock lock(&mu_);
    auto it = containers_.find(cid);
    if (it == containers_.end()) return absl::OkStatus();
    it->second.timings.start = absl::Now() - t;
    hook_spec = it->second.hook_spec;
    bundle = it->second.bundle;
  }
  // Failures are logged and the container keeps running (runtime-spec: poststart). The state
  // says "created", as runc 1.1's does at this point.
  return RunHooks(hook_spec.hooks().poststart(), "poststart", HookState(hook_spec, cid, "created", vm_->qemu_pid(), bundle),
                  false);
}

absl::Status Sandbox::ExecProcess(const std::string& cid, const std::string& exec_id, const oci::Process& process) {
  RETURN_IF_ERROR(ValidateId("exec id", exec_id));
  agent::ExecProcessRequest req;
  req.set_container_id(cid);
  req.set_exec_id(exec_id);
  *req.mutable_process() = process;
  return CallAgent(Agent(), "ExecProcess", &AgentStub::ExecProcess, req);
}

absl::StatusOr<int> Sandbox::WaitProcess(const std::string& cid, const std::string& exec_id) {
  agent::WaitProcessRequest req;
  req.set_container_id(cid);
  req.set_exec_id(exec_id);
  agent::WaitProcessResponse resp;
  // No timeout: a container may run for as long as it likes.
  RETURN_IF_ERROR(Named("WaitProcess", Agent().WaitProcess(req, &resp)));
  return resp.status();
}

absl::Status Sandbox::SignalProcess(const std::string& cid, const std::string& exec_id, int signal) {
  agent::SignalProcessRequest req;
  req.set_container_id(cid);
  req.set_exec_id(exec_id);
  req.set_signal(static_cast<uint32_t>(signal));
  return CallAgent(Agent(), "SignalProcess", &AgentStub::SignalProcess, req);
}

absl::StatusOr<std::string> Sandbox::ReadOutput(const std::string& cid, const std::string& exec_id, bool stderr_stream) {
  agent::ReadStreamRequest req;
  req.set_container_id(cid);
  req.set_exec_id(exec_id);
  req.set_len(64 * 1024);
  agent::ReadStreamResponse resp;
  // No timeout: blocks until output or its end.
  const AgentStub agent = Agent();
  const absl::Status s = stderr_stream ? agent.ReadStderr(req, &resp) : agent.ReadStdout(req, &resp);
  RETURN_IF_ERROR(Named(stderr_stream ? "ReadStderr" : "ReadStdout", s));
  return std::move(*resp.mutable_data());
}

absl::Status Sandbox::WriteStdin(const std::string& cid, const std::string& exec_id, std::string_view data) {
  agent::WriteStreamRequest req;
  req.set_container_id(cid);
  req.set_exec_id(exec_id);
  req.set_data(std::string(data));
  agent::WriteStreamResponse resp;
  return CallAgent(Agent(), "WriteStdin", &AgentStub::WriteStdin, req, resp);
}

absl::Status Sandbox::CloseStdin(const std::string& cid, const std::string& exec_id) {
  agent::CloseStdinRequest req;
  req.set_container_id(cid);
  req.set_exec_id(exec_id);
  return CallAgent(Agent(), "CloseStdin", &AgentStub::CloseStdin, req);
}

absl::Status Sandbox::ResizeTerminal(const std::string& cid, const std::string& exec_id, uint32_t rows, uint32_t columns) {
  agent::TtyWinResizeRequest req;
  req.set_container_id(cid);
  req.set_exec_id(exec_id);
  req.set_row(rows);
  req.set_column(columns);
  return CallAgent(Agent(), "TtyWinResize", &AgentStub::TtyWinResize, req);
}

absl::Status Sandbox::PauseContainer(const std::string& cid, bool paused) {
  if (paused) {
    agent::PauseContainerRequest req;
    req.set_container_id(cid);
    return CallAgent(Agent(), "PauseContainer", &AgentStub::PauseContainer, req);
  }
  agent::ResumeContainerRequest req;
  req.set_container_id(cid);
  return CallAgent(Agent(), "ResumeContainer", &AgentStub::ResumeContainer, req);
}

absl::StatusOr<agent::CgroupStats> Sandbox::StatsContainer(const std::string& cid) {
  agent::StatsContainerRequest req;
  req.set_container_id(cid);
  agent::StatsContainerResponse resp;
  RETURN_IF_ERROR(CallAgent(Agent(), "StatsContainer", &AgentStub::StatsContainer, req, resp));
  return resp.cgroup_stats();
}

absl::Status Sandbox::Undo(const std::string& cid, Container& c, Disks disks) {
  absl::Status first;
  if (disks == Disks::kDetach) {
    first = DetachRootfs(vm_->block_devices(), c.rootfs);
    if (absl::Status s = DetachDevices(vm_->block_devices(), c.devices); !s.ok() && first.ok()) first = s;
  } else if (disks == Disks::kLeaveToVmStop) {
    RemoveDescriptors(c.rootfs);  // QEMU opened them long ago; the container's directory can go
  }
  if (absl::Status s = UnmountSharedBinds(c.shared_binds); !s.ok() && first.ok()) first = s;
  if (!c.shared_rootfs.empty()) {
    if (absl::Status s = UnmountSharedRootfs(c.shared_rootfs); !s.ok() && first.ok()) first = s;
    c.shared_rootfs.clear();
  }
  if (!vm_->shared_dir().empty()) ::rmdir(StrCat(vm_->shared_dir(), "/", cid).c_str());
  if (!c.work_dir.empty() && ::rmdir(c.work_dir.c_str()) != 0 && errno != ENOENT && first.ok()) {
    first = ErrnoStatus(errno, StrCat("remove the state of container ", cid, " at ", c.work_dir));
  }
  return first;
}

absl::Status Sandbox::CreateInGuest(const agent::CreateContainerRequest& req, bool& guest_let_go) {
  // The call has no ttrpc deadline of its own: when the host stops waiting, the agent's late
  // answer is what says the guest is done with the container.
  struct Call {
    absl::Mutex mu;
    std::optional<absl::Status> result ABSL_GUARDED_BY(mu);
  };
  auto call = std::make_shared<Call>();
  std::thread([call, stub = Agent(), req] {
    google::protobuf::Empty created;
    absl::Status s = stub.CreateContainer(req, &created);
    absl::MutexLock lock(&call->mu);
    call->result = std::move(s);
  }).detach();  // ends with the answer, or when the connection closes (Destroy, a dead VM)
  auto answer = [&](absl::Duration within) -> std::optional<absl::Status> {
    absl::MutexLock lock(&call->mu);
    call->mu.AwaitWithTimeout(absl::Condition(
                                  +[](Call* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c->mu) { return c->result.has_value(); }, call.get()),
                              within);
    return call->result;
  };
  guest_let_go = true;
  std::optional<absl::Status> first = answer(create_container_timeout_);
  if (first && first->ok()) return absl::OkStatus();
  const absl::Status failed =
      first ? Named("CreateContainer", *first)
            : absl::DeadlineExceededError(StrCat("CreateContainer: grpc.AgentService/CreateContainer: no response within ",
                                                 absl::FormatDuration(create_container_timeout_)));
  // The agent may be making it still (the call timed out), or have made it (the channel broke):
  // it is removed there before its disks are unplugged. The agent serves requests on threads
  // of their own, so the removal can overtake a create it has not begun yet (NotFound): then
  // only the create's own answer (made, or aborted by the removal) says the guest let go.
  absl::Status removed = RemoveInGuest(req.container_id());
  if (!first) {
    std::optional<absl::Status> late = answer(kGuestRemoveTimeout);
    if (!late) {
      guest_let_go = !vm_->health().ok();
      kLog.Warn("the guest never answered a timed-out CreateContainer", {{"container", req.container_id()}});
      return failed;
    }
    if (late->ok()) removed = RemoveInGuest(req.container_id());  // made after all: removed now
  }
  guest_let_go = GuestLetGo(removed);
  return failed;
}

absl::Status Sandbox::RemoveInGuest(const std::string& cid) {
  agent::RemoveContainerRequest req;
  req.set_container_id(cid);
  // Whatever still runs is killed and awaited, then its storages are unmounted (flushing a
  // writable layer): a running container on Destroy included.
  req.set_timeout(static_cast<uint32_t>(absl::ToInt64Seconds(kGuestRemoveTimeout)));
  return CallAgent(Agent(), "RemoveContainer", &AgentStub::RemoveContainer, req);
}

bool Sandbox::GuestLetGo(const absl::Status& removed) {
  return removed.ok() || absl::IsNotFound(removed) || !vm_->health().ok();
}

absl::Status Sandbox::RemoveContainer(const std::string& cid) {
  Container c;
  bool destroying = false, vm_stops_next = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = containers_.find(cid);
    if (it == containers_.end()) return absl::NotFoundError(StrCat("container ", cid, " does not exist"));
    c = std::move(it->second);
    containers_.erase(it);
    destroying = destroyed_;
    // The sandbox's own container (ctr's task, a pod's pause) going last: Shutdown follows.
    vm_stops_next = destroying || (cid == id_ && containers_.empty());
  }
  absl::Status first = RemoveInGuest(cid);
  // A disk is unplugged only once the guest let go of it: a writable layer still mounted there
  // (the agent could not unmount it) would lose what the page cache has not written yet.
  // Such a disk stays attached until the VM stops; the host's own mounts go either way.
  const bool guest_let_go = GuestLetGo(first);
  if (!guest_let_go) {
    kLog.Warn("disks stay attached: the guest did not remove the container",
              {{"container", cid}, {"error", std::string(first.message())}});
  }
  const Disks disks = !guest_let_go ? Disks::kKeepAttached : vm_stops_next ? Disks::kLeaveToVmStop : Disks::kDetach;
  if (absl::Status s = Undo(cid, c, disks); !s.ok() && first.ok()) first = s;
  (void)RunHooks(c.hook_spec.hooks().poststop(), "poststop",
                 HookState(c.hook_spec, cid, "stopped", vm_->qemu_pid(), c.bundle), false);
  if (!destroying) ResizeVmAfter("remove", cid);  // its vCPUs go back
  return first;
}

ContainerTimings Sandbox::timings(const std::string& cid) const {
  absl::MutexLock lock(&mu_);
  auto it = containers_.find(cid);
  return it == containers_.end() ? ContainerTimings{} : it->second.timings;
}

absl::Status Sandbox::Destroy() {
  std::vector<std::string> ids;
  {
    absl::MutexLock lock(&mu_);
    if (destroyed_) return absl::OkStatus();
    destroyed_ = true;
    for (const auto& [id, c] : containers_) ids.push_back(id);
  }
  absl::Status first;
  for (const std::string& id : ids) {
    if (absl::Status s = RemoveContainer(id); !s.ok() && first.ok()) first = s;
  }
  ForgetBootRootfs();
  if (vm_->health().ok()) {
    agent::DestroySandboxRequest req;
    if (absl::Status s = CallAgent(Agent(), "DestroySandbox", &AgentStub::DestroySandbox, req); !s.ok() && first.ok()) {
      first = s;
    }
  }
  vm_->Stop();
  if (network_) {
    if (absl::Status s = network_->Detach(); !s.ok() && first.ok()) first = s;
  }
  return first;
}

}  // namespace kata::runtime
