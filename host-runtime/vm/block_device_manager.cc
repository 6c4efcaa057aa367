#include "host-runtime/vm/block_device_manager.h"

#include <sys/stat.h>

#include <cerrno>
#include <future>

#include "fmt/format.h"
#include "host-runtime/vm/qemu_command.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"

namespace kata::runtime {
namespace {

using nlohmann::json;
const log::Subsystem kLog("block");

// What Attach and a cold plug check before QEMU sees the request; whether `path` is a block
// device node.
absl::StatusOr<bool> CheckRequest(const BlockAttachRequest& request) {
  if (request.aio != "threads" && request.aio != "native" && request.aio != "io_uring") {
    return absl::InvalidArgumentError(StrCat("block aio \"", request.aio, "\" is not threads, native or io_uring"));
  }
  if (request.aio == "native" && !request.cache_direct) {
    return absl::InvalidArgumentError(StrCat("block ", request.path, ": aio native needs cache direct"));
  }
  struct stat st;
  if (::stat(request.path.c_str(), &st) != 0) return ErrnoStatus(errno, StrCat("stat block source ", request.path));
  if (request.format == BlockFormat::kVmdk && !S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(StrCat("VMDK descriptor ", request.path, " is not a regular file"));
  }
  return S_ISBLK(st.st_mode);
}

AttachedBlock BlockOnPort(uint64_t index, uint32_t port) {
  return {StrCat("blk", index), StrCat("drive-", index), RootPortPciPath(port), port, ""};
}

}  // namespace

std::string RootPortPciPath(uint32_t root_port) { return fmt::format("{:02x}/00", RootPortSlot(root_port)); }

json BlockdevAddArguments(const BlockAttachRequest& r, const std::string& node_name, bool host_device) {
  json file = {{"driver", host_device ? "host_device" : "file"}, {"filename", r.path}};
  if (r.format == BlockFormat::kVmdk) {
    // The descriptor is only read; force-share lets several sandboxes open the same layers.
    file["read-only"] = true;
    return {{"driver", "vmdk"}, {"node-name", node_name}, {"read-only", true}, {"force-share", true}, {"file", file}};
  }
  file["aio"] = r.aio;
  file["cache"] = {{"direct", r.cache_direct}, {"no-flush", false}};
  return {{"driver", "raw"}, {"node-name", node_name}, {"read-only", r.read_only}, {"file", file}};
}

json DeviceAddArguments(const BlockAttachRequest& r, const AttachedBlock& b) {
  json args = {{"driver", "virtio-blk-pci"}, {"id", b.device_id}, {"drive", b.node_name},
               {"bus", RootPortId(b.root_port)}, {"addr", "0x0"}};
  if (!r.read_only && r.format == BlockFormat::kRaw) args["share-rw"] = true;
  if (!r.serial.empty()) args["serial"] = r.serial;
  return args;
}

absl::StatusOr<std::vector<ColdPlugDisk>> PlanColdPlug(const std::vector<BlockAttachRequest>& requests,
                                                       uint32_t hotplug_root_ports) {
  if (LaunchRootPorts(hotplug_root_ports, requests.size()) > kMaxRootPorts) {
    return absl::ResourceExhaustedError(StrCat(requests.size(), " disks to attach at boot and ", hotplug_root_ports,
                                               " root ports kept for hot-plug (hypervisor.hotplug_root_ports) pass the ",
                                               kMaxRootPorts, " root ports a VM can have"));
  }
  std::vector<ColdPlugDisk> out;
  for (size_t i = 0; i < requests.size(); ++i) {
    auto host_device = CheckRequest(requests[i]);
    if (!host_device.ok()) return host_device.status();
    ColdPlugDisk disk{BlockOnPort(i, static_cast<uint32_t>(i)), {}};
    if (requests[i].shared && requests[i].read_only) disk.block.shared_path = requests[i].path;
    disk.launch = {BlockdevAddArguments(requests[i], disk.block.node_name, *host_device),
                   DeviceAddArguments(requests[i], disk.block)};
    out.push_back(std::move(disk));
  }
  return out;
}

BlockDeviceManager::BlockDeviceManager(QmpClient& qmp, uint32_t root_ports, const std::vector<ColdPlugDisk>& cold_plugged)
    : qmp_(qmp), port_used_(root_ports, false) {
  for (const ColdPlugDisk& d : cold_plugged) {
    if (d.block.root_port < port_used_.size()) port_used_[d.block.root_port] = true;
    attached_[d.block.device_id] = d.block;
    if (!d.block.shared_path.empty()) shared_.emplace(d.block.shared_path, SharedDevice{d.block.device_id, 1});
  }
  next_index_ = cold_plugged.size();  // PlanColdPlug numbered them from 0
}

absl::StatusOr<AttachedBlock> BlockDeviceManager::Attach(const BlockAttachRequest& request) {
  auto host_device = CheckRequest(request);
  if (!host_device.ok()) return host_device.status();

  ReclaimReleased();
  const bool shared = request.shared && request.read_only;
  AttachedBlock block;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = shared ? shared_.find(request.path) : shared_.end(); it != shared_.end()) {
      ++it->second.users;
      kLog.Info("shared", {{"path", request.path}, {"device", it->second.device_id}, {"users", it->second.users}});
      return attached_.at(it->second.device_id);
    }
    uint32_t port = 0;
    while (port < port_used_.size() && port_used_[port]) ++port;
    if (port == port_used_.size()) {
      return absl::ResourceExhaustedError(
          StrCat("no free root port for ", request.path, " (all ", port_used_.size(), " in use; see hypervisor.hotplug_root_ports)"));
    }
    port_used_[port] = true;
    const uint64_t index = next_index_++;  // never reused: a deleted id may still be in flight
    block = BlockOnPort(index, port);
  }
  auto release_port = [&] {
    absl::MutexLock lock(&mu_);
    port_used_[block.root_port] = false;
  };

  if (auto added = qmp_.Execute("blockdev-add", BlockdevAddArguments(request, block.node_name, *host_device)); !added.ok()) {
    release_port();
    return absl::Status(added.status().code(), StrCat("attach ", request.path, ": ", added.status().message()));
  }
  if (auto plugged = qmp_.Execute("device_add", DeviceAddArguments(request, block)); !plugged.ok()) {
    std::string message = StrCat("attach ", request.path, ": ", plugged.status().message());
    if (auto undone = qmp_.Execute("blockdev-del", json{{"node-name", block.node_name}}); !undone.ok()) {
      message += StrCat(" (and undoing blockdev-add failed: ", undone.status().message(), ")");
    }
    release_port();
    return absl::Status(plugged.status().code(), message);
  }
  kLog.Info("attached", {{"path", request.path}, {"device", block.device_id}, {"pci_path", block.pci_path}});
  absl::MutexLock lock(&mu_);
  // Two first attaches of one path at once each made a device: the later stays unshared.
  if (shared && shared_.emplace(request.path, SharedDevice{block.device_id, 1}).second) block.shared_path = request.path;
  attached_[block.device_id] = block;
  return block;
}

std::vector<absl::StatusOr<AttachedBlock>> BlockDeviceManager::AttachAll(const std::vector<BlockAttachRequest>& requests) {
  std::vector<std::future<absl::StatusOr<AttachedBlock>>> pending;
  for (const BlockAttachRequest& r : requests) {
    pending.push_back(std::async(std::launch::async, [this, &r] { return Attach(r); }));
  }
  std::vector<absl::StatusOr<AttachedBlock>> results;
  for (auto& p : pending) results.push_back(p.get());
  return results;
}

void BlockDeviceManager::ReclaimReleased() {
  std::vector<AttachedBlock> lingering;
  {
    absl::MutexLock lock(&mu_);
    for (const std::string& id : lingering_) {
      if (auto it = attached_.find(id); it != attached_.end()) lingering.push_back(it->second);
    }
  }
  for (const AttachedBlock& block : lingering) {
    // Asked, not heard: the DEVICE_DELETED event came (or not) while nobody was listening.
    auto still = qmp_.Execute("qom-list", json{{"path", StrCat("/machine/peripheral/", block.device_id)}});
    if (!absl::IsNotFound(still.status())) continue;  // still the guest's, or QEMU did not answer
    (void)qmp_.Execute("blockdev-del", json{{"node-name", block.node_name}});
    absl::MutexLock lock(&mu_);
    lingering_.erase(block.device_id);
    attached_.erase(block.device_id);
    port_used_[block.root_port] = false;
    kLog.Info("detached late", {{"device", block.device_id}});
  }
}

absl::Status BlockDeviceManager::Detach(const std::string& device_id, absl::Duration timeout) {
  AttachedBlock block;
  {
    absl::MutexLock lock(&mu_);
    auto it = attached_.find(device_id);
    if (it == attached_.end() || detaching_.contains(device_id)) {
      return absl::NotFoundError(StrCat("block device ", device_id, " is not attached (or is being detached)"));
    }
    block = it->second;
    if (auto s = block.shared_path.empty() ? shared_.end() : shared_.find(block.shared_path); s != shared_.end()) {
      if (--s->second.users > 0) {
        kLog.Info("unshared", {{"device", device_id}, {"users", s->second.users}});
        return absl::OkStatus();
      }
      shared_.erase(s);
    }
    detaching_.insert(device_id);
  }
  auto done_detaching = [&] {
    absl::MutexLock lock(&mu_);
    detaching_.erase(device_id);
  };
  // Registered before device_del: QEMU may report the deletion before its reply.
  auto deleted = qmp_.ExpectEvent("DEVICE_DELETED", [&](const json& d) { return d.value("device", "") == device_id; });
  if (auto del = qmp_.Execute("device_del", json{{"id", device_id}}); !del.ok()) {
    done_detaching();
    return absl::Status(del.status().code(), StrCat("detach ", device_id, ": ", del.status().message()));
  }
  if (auto event = deleted->Wait(timeout); !event.ok()) {
    {
      absl::MutexLock lock(&mu_);
      detaching_.erase(device_id);
      lingering_.insert(device_id);  // the guest may let go later: ReclaimReleased
    }
    return absl::Status(event.status().code(),
                        StrCat("detach ", device_id, ": the guest did not release it: ", event.status().message()));
  }
  absl::Status result = absl::OkStatus();
  if (auto del = qmp_.Execute("blockdev-del", json{{"node-name", block.node_name}}); !del.ok()) {
    // The device is gone from the guest; the node lingers in QEMU until the VM stops.
    result = absl::Status(del.status().code(), StrCat("detach ", device_id, ": ", del.status().message()));
  }
  absl::MutexLock lock(&mu_);
  detaching_.erase(device_id);
  attached_.erase(device_id);
  port_used_[block.root_port] = false;
  kLog.Info("detached", {{"device", device_id}});
  return result;
}

std::vector<absl::Status> BlockDeviceManager::DetachAll(const std::vector<std::string>& device_ids) {
  std::vector<std::future<absl::Status>> pending;
  for (const std::string& id : device_ids) {
    pending.push_back(std::async(std::launch::async, [this, &id] { return Detach(id); }));
  }
  std::vector<absl::Status> results;
  for (auto& p : pending) results.push_back(p.get());
  return results;
}

std::vector<AttachedBlock> BlockDeviceManager::Attached() const {
  absl::MutexLock lock(&mu_);
  std::vector<AttachedBlock> out;
  for (const auto& [id, b] : attached_) out.push_back(b);
  return out;
}

}  // namespace kata::runtime
