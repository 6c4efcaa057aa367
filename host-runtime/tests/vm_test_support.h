#pragma once

// What the end-to-end tests that boot a guest share: the guest image from
// KATA_GUEST_IMAGE_DIR (rootfs-builder's --out), a skip when it or QEMU is missing, a VM
// configuration for TCG, and small host-side helpers.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>


#include "libkata/config/config.h"
#include "libkata/testing/test_support.h"
#include "libkata/agent_api/agent_api.h"

namespace kata::runtime::testing {

inline std::string ImageDir() {
  const char* dir = std::getenv("KATA_GUEST_IMAGE_DIR");
  return dir != nullptr ? dir : "";
}

// Skips (with why) unless root, QEMU and the guest image are here.
#define KATA_REQUIRE_VM()                                                                                           \
  do {                                                                                                              \
    KATA_REQUIRE_ROOT();                                                                                            \
    if (::access("/usr/bin/qemu-system-x86_64", X_OK) != 0) KATA_SKIP("qemu-system-x86_64 is not installed");       \
    if (kata::runtime::testing::ImageDir().empty() ||                                                               \
        ::access((kata::runtime::testing::ImageDir() + "/vmlinux").c_str(), R_OK) != 0)                             \
      KATA_SKIP("no guest image: set KATA_GUEST_IMAGE_DIR to rootfs-builder/build-image's --out");                  \
  } while (0)

inline kata::config::Config VmConfig(const kata::testing::TempDir& tmp) {
  kata::config::Config c;
  c.hypervisor.kernel = ImageDir() + "/vmlinux";
  c.hypervisor.initrd = ImageDir() + "/kata-initrd.img";
  c.hypervisor.memory_mib = 512;
  c.hypervisor.hotplug_root_ports = 2;
  c.runtime.state_dir = tmp.Sub("state");
  c.agent.hotplug_timeout = absl::Seconds(10);
  return c;
}

// Runs a shell command for a fixture (mkfs and the like), quietly; it must succeed.
inline void Sh(const std::string& command) {
  INFO(command);
  REQUIRE(std::system((command + " >/dev/null 2>&1").c_str()) == 0);
}

// Has the agent wait for the block device at `pci_path` the way a container's device does:
// a CreateContainer naming it, whose rootfs does not exist, so the agent waits for the device
// (uevent by PCI path) and then fails on the rootfs with FAILED_PRECONDITION. Times the
// hot-plug path without mounting anything.
inline absl::Status WaitForDeviceInGuest(const std::shared_ptr<kata::ttrpc::Client>& client, const std::string& pci_path) {
  kata::agent::CreateContainerRequest req;
  req.set_container_id("probe");
  kata::oci::Spec* spec = req.mutable_oci();
  spec->set_oci_version("1.1.0");
  spec->mutable_root()->set_path("/run/kata-containers/probe/rootfs");  // the contract's path, not made
  spec->mutable_process()->add_args("true");
  auto* spec_dev = spec->mutable_linux()->add_devices();
  spec_dev->set_path("/dev/probe");
  spec_dev->set_type("b");
  auto* dev = req.add_devices();
  dev->set_type("blk");
  dev->set_id(pci_path);
  dev->set_container_path("/dev/probe");
  google::protobuf::Empty e;
  return kata::agent_api::AgentStub(client).CreateContainer(req, &e, absl::Seconds(60));
}

// A shell command's stdout.
using kata::testing::Capture;

inline std::string Md5(const std::string& path) { return Capture("md5sum < " + path).substr(0, 32); }

inline void WriteRandom(const std::string& path, size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  std::string data(size, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  kata::testing::WriteFile(path, data);
}

}  // namespace kata::runtime::testing
