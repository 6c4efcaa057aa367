#include <algorithm>

#include "absl/strings/match.h"
#include "host-runtime/vm/qemu_command.h"
#include "libkata/testing/test_support.h"

using kata::config::Accel;
using kata::config::AgentChannel;
using kata::runtime::BuildQemuCommand;
using kata::runtime::VmLaunch;

namespace {

VmLaunch Launch() {
  VmLaunch l;
  l.sandbox_id = "sb1";
  l.hypervisor.kernel = "/var/lib/kata/vmlinux";
  l.hypervisor.initrd = "/var/lib/kata/initrd.img";
  l.hypervisor.memory_mib = 512;
  l.hypervisor.vcpus = 2;
  l.hypervisor.hotplug_root_ports = 3;
  l.hypervisor.kernel_params = "agent.log=debug";
  l.accel = Accel::kTcg;
  l.channel = AgentChannel::kSerial;
  l.hypervisor.firmware = "/usr/share/qemu/qboot.rom";
  l.qmp_socket = "/run/kata-cpp/sb1/qmp.sock";
  l.console_log = "/run/kata-cpp/sb1/console.log";
  l.agent_socket = "/run/kata-cpp/sb1/agent.sock";
  l.shared_dir = "/run/kata-cpp/sb1/shared";
  return l;
}

// The value after `flag`, for flags given once.
std::string After(const std::vector<std::string>& argv, const std::string& flag) {
  auto it = std::find(argv.begin(), argv.end(), flag);
  return it == argv.end() || it + 1 == argv.end() ? "" : *(it + 1);
}

std::vector<std::string> AllAfter(const std::vector<std::string>& argv, const std::string& flag) {
  std::vector<std::string> out;
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == flag) out.push_back(argv[i + 1]);
  }
  return out;
}

}  // namespace

TEST_CASE("qemu command: room to grow: offline vCPUs and DIMM slots, only above the boot size", "[qemu]") {
  VmLaunch l = Launch();
  l.max_vcpus = 4;
  l.max_memory_mib = 512 + 1024;
  l.memory_slots = 10;
  auto argv = BuildQemuCommand(l);
  REQUIRE(argv.ok());
  CHECK(After(*argv, "-smp") == "4");  // all present; the guest brings up 2 (the user's params still last)
  CHECK(absl::StrContains(After(*argv, "-append"), " maxcpus=2 agent.log=debug"));
  CHECK(After(*argv, "-m") == "512M,slots=10,maxmem=1536M");

  l.max_vcpus = 2;          // no room above the boot vCPUs
  l.memory_slots = 0;       // no DIMM slots: no maxmem either
  argv = BuildQemuCommand(l);
  REQUIRE(argv.ok());
  CHECK(After(*argv, "-smp") == "2");
  CHECK_FALSE(absl::StrContains(After(*argv, "-append"), "maxcpus"));
  CHECK(After(*argv, "-m") == "512M");
  l.memory_slots = 4;
  l.max_memory_mib = 512;   // slots but no room
  argv = BuildQemuCommand(l);
  REQUIRE(argv.ok());
  CHECK(After(*argv, "-m") == "512M");
}

TEST_CASE("qemu command: a TCG sandbox on q35 with qboot, root ports and the serial channel", "[qemu]") {
  auto argv = BuildQemuCommand(Launch());
  INFO(argv.status());
  REQUIRE(argv.ok());
  CHECK(argv->front() == "/usr/bin/qemu-system-x86_64");
  CHECK(After(*argv, "-machine") == "q35,accel=tcg");
  CHECK(After(*argv, "-cpu") == "max");
  CHECK(After(*argv, "-m") == "512M");
  CHECK(After(*argv, "-smp") == "2");
  CHECK(After(*argv, "-bios") == "/usr/share/qemu/qboot.rom");
  CHECK(After(*argv, "-kernel") == "/var/lib/kata/vmlinux");
  CHECK(After(*argv, "-qmp") == "unix:/run/kata-cpp/sb1/qmp.sock,server=on,wait=off");
  CHECK(After(*argv, "-serial") == "file:/run/kata-cpp/sb1/console.log");
  for (const char* flag : {"-nodefaults", "-no-reboot", "-no-user-config"}) {
    CHECK(std::count(argv->begin(), argv->end(), flag) == 1);
  }
  const auto devices = AllAfter(*argv, "-device");
  REQUIRE(devices.size() == 3 + 1 + 2);
  CHECK(devices[0] == "pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=0,addr=0x2");
  CHECK(devices[2] == "pcie-root-port,id=rp2,bus=pcie.0,chassis=3,slot=2,addr=0x4");
  CHECK(devices[3] == "virtio-9p-pci,fsdev=sharedfs,mount_tag=kataShared");
  CHECK(After(*argv, "-fsdev") == "local,id=sharedfs,path=/run/kata-cpp/sb1/shared,security_model=none,multidevs=remap");
  CHECK(devices[4] == "virtio-serial-pci,id=vser0");
  CHECK(devices[5] == "virtserialport,bus=vser0.0,chardev=agentch,name=agent.channel.0");
  CHECK(After(*argv, "-chardev") == "socket,id=agentch,path=/run/kata-cpp/sb1/agent.sock,server=on,wait=off");
  // Kata's boot parameters, then the user's, last.
  const std::string append = After(*argv, "-append");
  CHECK(append.rfind("console=ttyS0 quiet panic=1 ", 0) == 0);
  CHECK(append.find("initcall_blacklist=jent_mod_init") != std::string::npos);
  CHECK(append.find(" agent.channel=serial agent.log=info agent.hotplug_timeout=3000ms ") != std::string::npos);
  CHECK(append.size() - append.rfind("agent.log=debug") == std::string("agent.log=debug").size());
  CHECK(kata::runtime::RootPortSlot(0) == 2);
}

TEST_CASE("qemu command: KVM with vsock and QEMU's own firmware", "[qemu]") {
  VmLaunch l = Launch();
  l.accel = Accel::kKvm;
  l.channel = AgentChannel::kVsock;
  l.guest_cid = 42;
  l.hypervisor.firmware.clear();
  l.hypervisor.hotplug_root_ports = 0;
  l.hypervisor.shared_fs = "none";
  l.shared_dir.clear();
  auto argv = BuildQemuCommand(l);
  REQUIRE(argv.ok());
  CHECK(After(*argv, "-machine") == "q35,accel=kvm");
  CHECK(After(*argv, "-cpu") == "host");
  CHECK(std::find(argv->begin(), argv->end(), "-bios") == argv->end());
  CHECK(AllAfter(*argv, "-device") == std::vector<std::string>{"vhost-vsock-pci,id=vsock0,guest-cid=42"});
  CHECK(std::find(argv->begin(), argv->end(), "-chardev") == argv->end());
  CHECK(std::find(argv->begin(), argv->end(), "-fsdev") == argv->end());
}

TEST_CASE("qemu command: the kernel is quiet unless the agent logs at debug", "[qemu]") {
  VmLaunch l = Launch();
  CHECK(kata::runtime::GuestKernelCommandLine(l).find(" quiet ") != std::string::npos);
  l.agent_log_level = kata::log::Level::kDebug;
  const std::string debug = kata::runtime::GuestKernelCommandLine(l);
  CHECK(debug.find("quiet") == std::string::npos);
  CHECK(debug.find(" agent.log=debug ") != std::string::npos);
}

TEST_CASE("qemu command: cold-plugged disks are -blockdev and -device JSON, after their root ports", "[qemu]") {
  VmLaunch l = Launch();
  const nlohmann::json blockdev = {{"driver", "raw"}, {"node-name", "drive-0"},
                                   {"file", {{"driver", "file"}, {"filename", "/img/a,b.ext4"}}}};
  const nlohmann::json device = {{"driver", "virtio-blk-pci"}, {"id", "blk0"}, {"drive", "drive-0"}, {"bus", "rp0"}};
  l.disks.push_back({blockdev, device});
  l.disks.push_back({blockdev, {{"driver", "virtio-blk-pci"}, {"id", "blk1"}, {"bus", "rp2"}}});
  auto argv = BuildQemuCommand(l);
  INFO(argv.status());
  REQUIRE(argv.ok());
  const auto blockdevs = AllAfter(*argv, "-blockdev");
  REQUIRE(blockdevs.size() == 2);
  // JSON: a comma in a path needs no escaping from QEMU's option syntax.
  CHECK(nlohmann::json::parse(blockdevs[0]) == blockdev);
  const auto devices = AllAfter(*argv, "-device");
  const size_t disk = std::find(devices.begin(), devices.end(), device.dump()) - devices.begin();
  REQUIRE(disk < devices.size());
  size_t last_port = 0;
  for (size_t i = 0; i < devices.size(); ++i) {
    if (devices[i].rfind("pcie-root-port", 0) == 0) last_port = i;
  }
  CHECK(disk > last_port);  // QEMU wants a bus to exist before a device names it
  // The disks' own ports come on top of the hotplug_root_ports kept free for hot-plug.
  CHECK(std::count_if(devices.begin(), devices.end(), [](const std::string& d) { return d.rfind("pcie-root-port", 0) == 0; }) ==
        l.hypervisor.hotplug_root_ports + 2);
}

TEST_CASE("qemu command: a pod network's NICs: inherited tap (and vhost) fds, virtio-net with the link's MAC", "[qemu]") {
  VmLaunch l = Launch();
  l.nics.push_back({"net0", "0a:58:0a:4d:00:02", 7, -1});
  l.nics.push_back({"net1", "02:00:00:00:00:09", 9, 10});
  auto argv = BuildQemuCommand(l);
  INFO(argv.status());
  REQUIRE(argv.ok());
  CHECK(AllAfter(*argv, "-netdev") == std::vector<std::string>{"tap,id=net0,fd=7", "tap,id=net1,fd=9,vhost=on,vhostfd=10"});
  const auto devices = AllAfter(*argv, "-device");
  CHECK(std::count(devices.begin(), devices.end(), "virtio-net-pci,netdev=net0,mac=0a:58:0a:4d:00:02,romfile=") == 1);
  CHECK(std::count(devices.begin(), devices.end(), "virtio-net-pci,netdev=net1,mac=02:00:00:00:00:09,romfile=") == 1);
}

TEST_CASE("qemu command: bad launches are refused naming the field", "[qemu]") {
  struct Case {
    std::function<void(VmLaunch&)> mutate;
    std::string want;
  };
  const std::vector<Case> cases = {
      {[](VmLaunch& l) { l.sandbox_id = "../x"; }, "sandbox id"},
      {[](VmLaunch& l) { l.hypervisor.kernel = "vmlinux"; }, "hypervisor.kernel"},
      {[](VmLaunch& l) { l.qmp_socket = "/run/a,server=off"; }, "QMP socket"},
      {[](VmLaunch& l) { l.accel = Accel::kAuto; }, "resolved"},
      {[](VmLaunch& l) { l.channel = AgentChannel::kAuto; }, "agent channel auto"},
      {[](VmLaunch& l) { l.channel = AgentChannel::kUnix; }, "agent channel unix"},
      {[](VmLaunch& l) { l.agent_socket = ""; }, "agent socket"},
      {[](VmLaunch& l) { l.shared_dir = "shared"; }, "shared directory"},
      {[](VmLaunch& l) { l.channel = AgentChannel::kVsock; l.guest_cid = 2; }, "guest CID 2"},
      {[](VmLaunch& l) { l.hypervisor.hotplug_root_ports = 33; }, "above 32"},
      {[](VmLaunch& l) { l.hypervisor.firmware = "qboot.rom"; }, "firmware"},
      // A cold-plugged disk must sit on a root port: on pcie.0 it could never be unplugged.
      {[](VmLaunch& l) { l.disks.push_back({{{"driver", "raw"}}, {{"driver", "virtio-blk-pci"}, {"bus", "pcie.0"}}}); },
       "disk 0: bus \"pcie.0\""},
      {[](VmLaunch& l) { l.disks.push_back({{{"driver", "raw"}}, {{"driver", "virtio-blk-pci"}, {"bus", "rp4"}}}); },
       "disk 0: bus \"rp4\" is not one of the 4 root ports"},  // 3 for hot-plug, 1 for the disk
      {[](VmLaunch& l) { l.disks.push_back({{{"driver", "raw"}}, "rp0"}); }, "disk 0"},
      {[](VmLaunch& l) { l.nics.push_back({"net0,script=/x", "02:00:00:00:00:01", 7, -1}); }, "nic 0: id"},
      {[](VmLaunch& l) { l.nics.push_back({"net0", "02:00:00:00:00:01,x=y", 7, -1}); }, "nic 0: mac"},
      {[](VmLaunch& l) { l.nics.push_back({"net0", "02:00:00:00:00:01", 2, -1}); }, "nic 0: tap fd 2"},
  };
  for (const Case& c : cases) {
    VmLaunch l = Launch();
    c.mutate(l);
    auto argv = BuildQemuCommand(l);
    INFO(c.want << " -> " << argv.status());
    REQUIRE_FALSE(argv.ok());
    CHECK(argv.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(argv.status().message()).find(c.want) != std::string::npos);
  }
}
