#include "libkata/config/config.h"
#include "libkata/testing/test_support.h"

using kata::config::Accel;
using kata::config::AgentChannel;
using kata::config::Arch;
using kata::config::Config;
using kata::config::ParseConfigYaml;

namespace {
const std::string kTestdata = KATA_TESTDATA_DIR;

std::string ErrorOf(std::string_view yaml) {
  auto c = ParseConfigYaml(yaml, "c.yaml", Arch::kX86_64);
  if (c.ok()) return "OK";
  CHECK(c.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(c.status().message());
}
}  // namespace

TEST_CASE("config: an empty document gives every default", "[config]") {
  for (const char* doc : {"", "# only a comment\n", "hypervisor:\n", "~"}) {
    auto c = ParseConfigYaml(doc, "empty.yaml", Arch::kX86_64);
    INFO(doc);
    REQUIRE(c.ok());
    CHECK(c->hypervisor.path == "/usr/bin/qemu-system-x86_64");
    CHECK(c->hypervisor.memory_mib == 2048);
    CHECK(c->hypervisor.vcpus == 1);
    CHECK(c->hypervisor.max_vcpus == 0);
    CHECK(c->hypervisor.max_memory_mib == 0);
    CHECK(c->hypervisor.memory_slots == 10);
    CHECK(c->hypervisor.accel == Accel::kAuto);
    CHECK(c->hypervisor.machine_type == "q35");
    CHECK(c->hypervisor.hotplug_root_ports == 4);
    CHECK(c->agent.channel == AgentChannel::kAuto);
    CHECK(c->agent.hotplug_timeout == absl::Seconds(3));
    CHECK(c->agent.dial_timeout == absl::Seconds(3));
    CHECK(c->agent.create_container_timeout == absl::Seconds(60));
    CHECK(c->runtime.log_level == kata::log::Level::kInfo);
    CHECK(c->runtime.state_dir == "/run/kata-cpp");
  }
}

TEST_CASE("config: every key is read", "[config]") {
  auto c = kata::config::LoadConfig(kTestdata + "/full-config.yaml", Arch::kX86_64);
  INFO(c.status());
  REQUIRE(c.ok());
  CHECK(c->hypervisor.path == "/opt/qemu/bin/qemu-system-x86_64");
  CHECK(c->hypervisor.kernel == "/var/lib/kata/vmlinux");
  CHECK(c->hypervisor.initrd == "/var/lib/kata/initrd.img");
  CHECK(c->hypervisor.memory_mib == 1000);
  CHECK(c->hypervisor.vcpus == 2);
  CHECK(c->hypervisor.max_vcpus == 4);
  CHECK(c->hypervisor.max_memory_mib == 3002);  // aligned up, as memory_mib is
  CHECK(c->hypervisor.memory_slots == 3);
  CHECK(c->hypervisor.accel == Accel::kTcg);
  CHECK(c->hypervisor.kernel_params == "quiet console=ttyS0");
  CHECK(c->hypervisor.hotplug_root_ports == 8);
  CHECK(c->agent.channel == AgentChannel::kSerial);
  CHECK(c->agent.hotplug_timeout == absl::Seconds(5));
  CHECK(c->agent.dial_timeout == absl::Milliseconds(1500));
  CHECK(c->runtime.log_level == kata::log::Level::kDebug);
  CHECK(c->runtime.state_dir == "/var/run/kata-test");
}

TEST_CASE("config: unknown keys and sections name the key and line", "[config]") {
  CHECK(ErrorOf("hypervisor:\n  vcpus: 2\n  memroy_mib: 512\n") ==
        "c.yaml:3: hypervisor.memroy_mib: unknown key");
  CHECK(ErrorOf("agent: {}\nhypervisr:\n  vcpus: 1\n") == "c.yaml:2: hypervisr: unknown section");
}

TEST_CASE("config: wrong types name the key, line and what was found", "[config]") {
  CHECK(ErrorOf("hypervisor:\n  vcpus: many\n") ==
        "c.yaml:2: hypervisor.vcpus: expected a whole number, got \"many\"");
  CHECK(ErrorOf("hypervisor:\n  vcpus: [1, 2]\n") ==
        "c.yaml:2: hypervisor.vcpus: expected a whole number, got a list");
  CHECK(ErrorOf("hypervisor:\n  memory_mib: -512\n").find("hypervisor.memory_mib") != std::string::npos);
  CHECK(ErrorOf("hypervisor:\n  kernel: {a: 1}\n") == "c.yaml:2: hypervisor.kernel: expected a string");
  CHECK(ErrorOf("hypervisor: 3\n") == "c.yaml:1: hypervisor: expected a map of keys");
  CHECK(ErrorOf("- a\n- b\n") == "c.yaml:1: (top level): expected a map of sections");
}

TEST_CASE("config: values out of range or of the wrong set", "[config]") {
  CHECK(ErrorOf("hypervisor:\n  vcpus: 0\n") == "c.yaml:2: hypervisor.vcpus: 0 is outside 1..512");
  CHECK(ErrorOf("hypervisor:\n  memory_mib: 16\n").find("outside 64..") != std::string::npos);
  CHECK(ErrorOf("hypervisor:\n  hotplug_root_ports: 33\n").find("outside 0..32") != std::string::npos);
  CHECK(ErrorOf("hypervisor:\n  vcpus: 99999999999999999999999\n").find("hypervisor.vcpus") != std::string::npos);
  CHECK(ErrorOf("hypervisor:\n  accel: hvf\n") ==
        "c.yaml:2: hypervisor.accel: expected one of auto, kvm, tcg, got \"hvf\"");
  CHECK(ErrorOf("agent:\n  channel: tcp\n") ==
        "c.yaml:2: agent.channel: expected one of auto, vsock, serial, unix, got \"tcp\"");
  CHECK(ErrorOf("hypervisor:\n  block_driver: virtio-scsi\n").find("hypervisor.block_driver") != std::string::npos);
  CHECK(ErrorOf("runtime:\n  log_level: loud\n").rfind("c.yaml:2: runtime.log_level: unknown log level", 0) == 0);
  CHECK(ErrorOf("runtime:\n  state_dir: run/kata\n") ==
        "c.yaml:2: runtime.state_dir: \"run/kata\" is not an absolute path");
}

TEST_CASE("config: durations", "[config]") {
  auto c = ParseConfigYaml("agent:\n  hotplug_timeout: 250ms\n  dial_timeout: 1m\n  create_container_timeout: 2s\n", "d",
                           Arch::kX86_64);
  REQUIRE(c.ok());
  CHECK(c->agent.hotplug_timeout == absl::Milliseconds(250));
  CHECK(c->agent.dial_timeout == absl::Minutes(1));
  CHECK(c->agent.create_container_timeout == absl::Seconds(2));
  CHECK(ErrorOf("agent:\n  hotplug_timeout: 3\n") ==
        "c.yaml:2: agent.hotplug_timeout: expected a duration such as 3s or 500ms, got \"3\"");
  CHECK(ErrorOf("agent:\n  dial_timeout: -1s\n") == "c.yaml:2: agent.dial_timeout: must be greater than zero");
}

TEST_CASE("config: guest seccomp is on unless disable_guest_seccomp says otherwise", "[config]") {
  auto c = ParseConfigYaml("", "d", Arch::kX86_64);
  REQUIRE(c.ok());
  CHECK_FALSE(c->agent.disable_guest_seccomp);  // Kata's default is true; ours applies the profile
  c = ParseConfigYaml("agent:\n  disable_guest_seccomp: true\n", "d", Arch::kX86_64);
  REQUIRE(c.ok());
  CHECK(c->agent.disable_guest_seccomp);
  CHECK(kata::config::ConfigToYaml(*c).find("disable_guest_seccomp: true") != std::string::npos);
  CHECK(ErrorOf("agent:\n  disable_guest_seccomp: maybe\n").starts_with("c.yaml:2: agent.disable_guest_seccomp:"));
}

TEST_CASE("config: malformed YAML names the line", "[config]") {
  const std::string e = ErrorOf("hypervisor:\n  vcpus: 1\n   memory_mib: [\n");
  CHECK(e.rfind("c.yaml:", 0) == 0);
  CHECK(e.find("malformed YAML") != std::string::npos);
  CHECK(ErrorOf("a: b: c\n").find("malformed YAML") != std::string::npos);
  CHECK(ErrorOf("hypervisor: {vcpus: 1\n").find("malformed YAML") != std::string::npos);
  CHECK(ErrorOf("\t- x").find("c.yaml") == 0);
}

TEST_CASE("config: memory is aligned to the architecture's block", "[config]") {
  using kata::config::AlignMemoryMiB;
  CHECK(AlignMemoryMiB(2048, Arch::kX86_64) == 2048);
  CHECK(AlignMemoryMiB(2047, Arch::kX86_64) == 2048);
  CHECK(AlignMemoryMiB(1001, Arch::kX86_64) == 1002);
  CHECK(AlignMemoryMiB(0, Arch::kX86_64) == 2);
  CHECK(AlignMemoryMiB(2048, Arch::kPpc64le) == 2048);
  CHECK(AlignMemoryMiB(2000, Arch::kPpc64le) == 2048);
  CHECK(AlignMemoryMiB(300, Arch::kPpc64le) == 512);
  CHECK(AlignMemoryMiB(256, Arch::kPpc64le) == 256);
  auto ppc = ParseConfigYaml("hypervisor:\n  memory_mib: 1000\n", "p", Arch::kPpc64le);
  REQUIRE(ppc.ok());
  CHECK(ppc->hypervisor.memory_mib == 1024);
  auto x86 = ParseConfigYaml("hypervisor:\n  memory_mib: 1000\n", "x", Arch::kX86_64);
  CHECK(x86->hypervisor.memory_mib == 1000);
  CHECK(*kata::config::ArchFromName("ppc64el") == Arch::kPpc64le);
  CHECK(*kata::config::ArchFromName("amd64") == Arch::kX86_64);
  CHECK_FALSE(kata::config::ArchFromName("mips").ok());
}

TEST_CASE("config: the effective configuration reads back the same", "[config]") {
  auto c = kata::config::LoadConfig(kTestdata + "/full-config.yaml", Arch::kX86_64);
  REQUIRE(c.ok());
  // Quotes, backslashes and control characters (a raw line break in the quotes would fold
  // into a space on the way back: found by config_yaml_fuzzer).
  c->hypervisor.kernel_params = "say \"hi\" \\ back\nnext\tline\x01\x7f";
  c->runtime.state_dir = "/run/kata\r\n";
  const std::string yaml = kata::config::ConfigToYaml(*c);
  auto again = ParseConfigYaml(yaml, "effective", Arch::kX86_64);
  INFO(yaml);
  REQUIRE(again.ok());
  CHECK(kata::config::ConfigToYaml(*again) == yaml);
  CHECK(again->hypervisor.kernel_params == c->hypervisor.kernel_params);
  CHECK(again->runtime.state_dir == c->runtime.state_dir);
  CHECK(again->agent.dial_timeout == absl::Milliseconds(1500));
}

TEST_CASE("config: a missing or unreadable file is named", "[config]") {
  auto missing = kata::config::LoadConfig("/nonexistent/kata.yaml");
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(std::string(missing.status().message()).find("/nonexistent/kata.yaml") != std::string::npos);
  auto dir = kata::config::LoadConfig("/tmp");
  CHECK(dir.status().code() == absl::StatusCode::kInvalidArgument);
}
