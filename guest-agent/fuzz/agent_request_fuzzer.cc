// What the agent decides from a request before it touches anything: the host (the untrusted
// side, docs/agent-contract.md) sends protobuf bytes. The first input byte picks the request,
// the rest is its wire encoding:
//   0: CreateContainerRequest: container id, OCI spec, device policy, the paths contract,
//      the storages (mount points, drivers, the multi-layer group and its mkdir directives),
//      the device batch update, the init's plan;
//   1: CreateSandboxRequest: its storages;
//   2: ExecProcessRequest: the process's plan.
// The file system is replaced by answers derived from the path (so the fuzzer controls them
// through the request): whether a path exists, is a directory or a device node.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "guest-agent/device/spec_device_updater.h"
#include "guest-agent/device_cgroup/device_rules.h"
#include "guest-agent/process/launch_plan.h"
#include "guest-agent/sandbox/path_contract.h"
#include "guest-agent/setup/init_plan_builder.h"
#include "guest-agent/storage/builtin_handlers.h"
#include "guest-agent/storage/storage_validation.h"
#include "libkata/base/identifiers.h"
#include "libkata/oci/validate.h"
#include "libkata/testing/fuzz_check.h"
#include "protocols/agent.pb.h"

namespace {

using namespace kata::guest;

constexpr char kSandboxDir[] = "/run/kata-containers";

size_t PathHash(const std::string& path) { return std::hash<std::string>{}(path); }

// KATA_FUZZ_VERBOSE=1: which check stopped a request (to see how deep a seed reaches).
bool Passed(const char* stage, const absl::Status& s) {
  static const bool verbose = std::getenv("KATA_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "%s: %s\n", stage, s.ok() ? "ok" : std::string(s.message()).c_str());
  return s.ok();
}

// A node under /dev is a device (type and numbers by the path's hash); any other path is
// mostly a directory, sometimes missing or behind a symlink.
absl::StatusOr<PathFacts> Probe(const std::string& path) {
  const size_t h = PathHash(path);
  if (path.starts_with("/dev/")) {
    const dev_t rdev = makedev((h >> 8) % 300, (h >> 16) % 300);
    return PathFacts{static_cast<mode_t>((h % 2 ? S_IFCHR : S_IFBLK) | 0660), rdev};
  }
  switch (h % 8) {
    case 0: return absl::NotFoundError(path);
    case 1: return absl::InvalidArgumentError(path + " crosses a symlink");
    default: return PathFacts{S_IFDIR | 0755, 0};
  }
}

struct Handlers {
  StorageHandlerRegistry registry;
  MultiLayerErofsHandler multi_layer;
  Handlers() { KATA_FUZZ_CHECK(RegisterBuiltinStorageHandlers(registry, multi_layer).ok(), "the agent's storage drivers"); }
};

void CreateContainer(const kata::agent::CreateContainerRequest& req, const Handlers& handlers) {
  if (!Passed("container id", kata::ValidateId("container id", req.container_id()))) return;
  kata::oci::Spec spec = req.oci();
  if (!Passed("spec", kata::oci::ValidateSpec(spec))) return;
  auto devices = BuildDevicePolicy(spec.linux().resources().devices());
  if (!Passed("device policy", devices.status())) return;
  if (!Passed("paths", CheckContainerPaths(AgentLayout{kSandboxDir}, req, {std::string(kSandboxDir) + "/sandbox/shm"},
                                           *devices, Probe))) {
    return;
  }
  auto plan = ValidateStorages(req.container_id(), req.storages(), handlers.registry, {kSandboxDir});
  if (!Passed("storages", plan.status())) return;

  // The batch update: block handlers find block nodes; numbers derived from the device's id.
  std::vector<DeviceUpdate> updates;
  for (const kata::agent::Device& d : req.devices()) {
    const size_t h = PathHash(d.id());
    const char type = d.type().starts_with("blk") || d.type().starts_with("virtio-blk") ? 'b' : 'c';
    DeviceUpdate u{d.container_path(), type, static_cast<int64_t>((h >> 4) % 512),
                   static_cast<int64_t>((h >> 12) % 512), std::nullopt};
    if (h % 3 == 0) u.final_path = d.vm_path();
    updates.push_back(std::move(u));
  }
  const std::string before = spec.SerializeAsString();
  if (!Passed("device updates", ApplyDeviceUpdates(spec, updates))) {
    // Documented: on error the spec is left untouched.
    KATA_FUZZ_CHECK(spec.SerializeAsString() == before, "a failed device update changed the spec");
    return;
  }

  PlanEnvironment env;
  env.rootfs_mount = spec.root().path();
  env.proc_kcore = PathHash(spec.hostname()) % 2;
  env.sandbox_init_pid = PathHash(req.container_id()) % 2 ? 1 : 0;
  env.source_is_dir = [](const std::string& path) -> absl::StatusOr<bool> {
    const size_t h = PathHash(path);
    if (h % 3 == 0) return absl::NotFoundError(path);
    return h % 3 == 1;
  };
  env.vm_node = [](char type, int64_t major, int64_t minor) -> std::string {
    if ((major + minor) % 2) return "";
    return std::string("/dev/") + (type == 'b' ? "vd" : "tty") + std::to_string(minor);
  };
  InitPlan init;
  (void)Passed("init plan", BuildInitPlan(spec, spec.root().path(), env, init));
}

void ExecProcess(const kata::agent::ExecProcessRequest& req) {
  if (!kata::ValidateId("container id", req.container_id()).ok()) return;
  if (!kata::ValidateId("exec id", req.exec_id()).ok()) return;
  ExecPlan plan;
  if (Passed("exec plan", BuildExecPlan(req.process(), plan, "/root"))) {
    // The child reads these NULL-terminated arrays after fork, with no way to check them.
    KATA_FUZZ_CHECK(!plan.argv.empty() && plan.argv.back() == nullptr, "argv not NULL-terminated");
    KATA_FUZZ_CHECK(!plan.envp.empty() && plan.envp.back() == nullptr, "envp not NULL-terminated");
    KATA_FUZZ_CHECK(!plan.candidates.empty() && plan.candidates.back() == nullptr, "candidates not NULL-terminated");
    KATA_FUZZ_CHECK(plan.argv.size() == plan.argv_storage.size() + 1, "argv views differ from their storage");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Handlers* handlers = new Handlers;
  if (size == 0) return 0;
  const void* wire = data + 1;
  const int wire_size = static_cast<int>(size - 1);
  switch (data[0] % 3) {
    case 0: {
      kata::agent::CreateContainerRequest req;
      if (req.ParseFromArray(wire, wire_size)) CreateContainer(req, *handlers);
      break;
    }
    case 1: {
      kata::agent::CreateSandboxRequest req;
      if (req.ParseFromArray(wire, wire_size)) {
        (void)Passed("sandbox storages", CheckSandboxStorages(AgentLayout{kSandboxDir}, req.storages()));
      }
      break;
    }
    default: {
      kata::agent::ExecProcessRequest req;
      if (req.ParseFromArray(wire, wire_size)) ExecProcess(req);
      break;
    }
  }
  return 0;
}
