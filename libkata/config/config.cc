#include "libkata/config/config.h"

#include <yaml-cpp/yaml.h>

#include <functional>
#include <limits>
#include <vector>

#include "absl/strings/numbers.h"
#include "libkata/base/str_cat.h"
#include "absl/strings/str_join.h"
#include "fmt/format.h"
#include "libkata/base/file_util.h"
#include "libkata/base/status_macros.h"

namespace kata::config {
namespace {

// Where a node stands, for messages: "config.yaml:12".
std::string Where(std::string_view source, const YAML::Node& node) {
  const int line = node.Mark().line;
  return line >= 0 ? StrCat(source, ":", line + 1) : std::string(source);
}

absl::Status KeyError(std::string_view source, const YAML::Node& node, std::string_view key,
                      std::string_view what) {
  return absl::InvalidArgumentError(StrCat(Where(source, node), ": ", key, ": ", what));
}

struct Reader {
  std::string_view source;

  absl::StatusOr<std::string> String(const YAML::Node& n, std::string_view key) const {
    if (!n.IsScalar()) return KeyError(source, n, key, "expected a string");
    return n.Scalar();
  }

  absl::StatusOr<std::string> AbsolutePath(const YAML::Node& n, std::string_view key) const {
    absl::StatusOr<std::string> s = String(n, key);
    if (s.ok() && !s->starts_with('/')) {
      return KeyError(source, n, key, StrCat("\"", *s, "\" is not an absolute path"));
    }
    return s;
  }

  absl::StatusOr<uint64_t> Uint(const YAML::Node& n, std::string_view key, uint64_t min,
                                uint64_t max) const {
    uint64_t v = 0;
    if (!n.IsScalar() || n.Scalar().empty() || n.Scalar().front() == '-' ||
        !absl::SimpleAtoi(n.Scalar(), &v)) {
      return KeyError(source, n, key,
                      StrCat("expected a whole number, got ", Describe(n)));
    }
    if (v < min || v > max) {
      return KeyError(source, n, key, StrCat(v, " is outside ", min, "..", max));
    }
    return v;
  }

  absl::StatusOr<absl::Duration> Duration(const YAML::Node& n, std::string_view key) const {
    absl::Duration d;
    if (!n.IsScalar() || !absl::ParseDuration(n.Scalar(), &d)) {
      return KeyError(source, n, key,
                      StrCat("expected a duration such as 3s or 500ms, got ", Describe(n)));
    }
    if (d <= absl::ZeroDuration()) return KeyError(source, n, key, "must be greater than zero");
    return d;
  }

  template <typename E>
  absl::StatusOr<E> Enum(const YAML::Node& n, std::string_view key,
                         std::initializer_list<std::pair<std::string_view, E>> values) const {
    std::vector<std::string> names;
    if (n.IsScalar()) {
      for (const auto& [name, value] : values) {
        if (n.Scalar() == name) return value;
      }
    }
    for (const auto& [name, value] : values) names.emplace_back(name);
    return KeyError(source, n, key,
                    StrCat("expected one of ", absl::StrJoin(names, ", "), ", got ", Describe(n)));
  }

  static std::string Describe(const YAML::Node& n) {
    switch (n.Type()) {
      case YAML::NodeType::Scalar: return StrCat("\"", n.Scalar(), "\"");
      case YAML::NodeType::Sequence: return "a list";
      case YAML::NodeType::Map: return "a map";
      case YAML::NodeType::Null: return "nothing";
      default: return "an undefined value";
    }
  }
};

using Setter = std::function<absl::Status(const Reader&, const YAML::Node&, const std::string&, Config&)>;

struct Key {
  std::string_view name;
  Setter set;
};

struct Section {
  std::string_view name;
  std::vector<Key> keys;
};

// Builders for the common key kinds; `field` picks the member to set.
template <typename Field>
Key StringKey(std::string_view name, Field field) {
  return {name, [field](const Reader& r, const YAML::Node& n, const std::string& k, Config& c) -> absl::Status {
            ASSIGN_OR_RETURN(field(c), r.String(n, k));
            return absl::OkStatus();
          }};
}
template <typename Field>
Key PathKey(std::string_view name, Field field) {
  return {name, [field](const Reader& r, const YAML::Node& n, const std::string& k, Config& c) -> absl::Status {
            ASSIGN_OR_RETURN(field(c), r.AbsolutePath(n, k));
            return absl::OkStatus();
          }};
}
template <typename Field>
Key UintKey(std::string_view name, uint64_t min, uint64_t max, Field field) {
  return {name, [=](const Reader& r, const YAML::Node& n, const std::string& k, Config& c) -> absl::Status {
            ASSIGN_OR_RETURN(uint64_t v, r.Uint(n, k, min, max));
            field(c) = static_cast<std::remove_reference_t<decltype(field(c))>>(v);
            return absl::OkStatus();
          }};
}
template <typename Field>
Key DurationKey(std::string_view name, Field field) {
  return {name, [field](const Reader& r, const YAML::Node& n, const std::string& k, Config& c) -> absl::Status {
            ASSIGN_OR_RETURN(field(c), r.Duration(n, k));
            return absl::OkStatus();
          }};
}

const std::vector<Section>& Schema() {
  static const auto* schema = new std::vector<Section>{
      {"hypervisor",
       {
           PathKey("path", [](Config& c) -> auto& { return c.hypervisor.path; }),
           PathKey("kernel", [](Config& c) -> auto& { return c.hypervisor.kernel; }),
           PathKey("initrd", [](Config& c) -> auto& { return c.hypervisor.initrd; }),
           StringKey("firmware", [](Config& c) -> auto& { return c.hypervisor.firmware; }),
           StringKey("machine_type", [](Config& c) -> auto& { return c.hypervisor.machine_type; }),
           UintKey("memory_mib", 64, 1u << 20, [](Config& c) -> auto& { return c.hypervisor.memory_mib; }),
           UintKey("vcpus", 1, 512, [](Config& c) -> auto& { return c.hypervisor.vcpus; }),
           UintKey("max_vcpus", 0, 512, [](Config& c) -> auto& { return c.hypervisor.max_vcpus; }),
           UintKey("max_memory_mib", 0, 1u << 20, [](Config& c) -> auto& { return c.hypervisor.max_memory_mib; }),
           UintKey("memory_slots", 0, 256, [](Config& c) -> auto& { return c.hypervisor.memory_slots; }),
           {"accel",
            [](const Reader& r, const YAML::Node& n, const std::string& k, Config& c) -> absl::Status {
              ASSIGN_OR_RETURN(c.hypervisor.accel,
                               r.Enum<Accel>(n, k, {{"auto", Accel::kAuto}, {"kvm", Accel::kKvm}, {"tcg", Accel::kTcg}}));
              return absl::OkStatus();
            }},
           StringKey("kernel_params", [](Config& c) -> auto& { return c.hypervisor.kernel_params; }),
           {"block_driver",
            [](const Reader& r, const YAML::Node& n, const std::string& k, Config& c) -> absl::Status {
              ASSIGN_OR_RETURN(c.hypervisor.block_driver,
                               r.Enum<std::string>(n, k, {{"virtio-blk-pci", "virtio-blk-pci"}}));
              return absl::OkStatus();
            }},
           {"shared_fs",
            [](const Reader& r, const YAML::Node& n, const std::string& k, Config& c) -> absl::Status {
              ASSIGN_OR_RETURN(c.hypervisor.shared_fs, r.Enum<std::string>(n, k, {{"virtio-9p", "virtio-9p"}, {"none", "none"}}));
              return absl::OkStatus();
            }},
           UintKey("hotplug_root_ports", 0, 32, [](Config& c) -> auto& { return c.hypervisor.hotplug_root_ports; }),
           DurationKey("boot_timeout", [](Config& c) -> auto& { return c.hypervisor.boot_timeout; }),
       }},
      {"agent",
       {
           {"channel",
            [](const Reader& r, const YAML::Node& n, const std::string& k, Config& c) -> absl::Status {
              ASSIGN_OR_RETURN(c.agent.channel,
                               r.Enum<AgentChannel>(n, k, {{"auto", AgentChannel::kAuto},
                                                           {"vsock", AgentChannel::kVsock},
                                                           {"serial", AgentChannel::kSerial},
                                                           {"unix", AgentChannel::kUnix}}));
              return absl::OkStatus();
            }},
           DurationKey("hotplug_timeout", [](Config& c) -> auto& { return c.agent.hotplug_timeout; }),
           DurationKey("dial_timeout", [](Config& c) -> auto& { return c.agent.dial_timeout; }),
           DurationKey("create_container_timeout", [](Config& c) -> auto& { return c.agent.create_container_timeout; }),
           {"disable_guest_seccomp",
            [](const Reader& r, const YAML::Node& n, const std::string& k, Config& c) -> absl::Status {
              ASSIGN_OR_RETURN(c.agent.disable_guest_seccomp, r.Enum<bool>(n, k, {{"true", true}, {"false", false}}));
              return absl::OkStatus();
            }},
       }},
      {"runtime",
       {
           {"log_level",
            [](const Reader& r, const YAML::Node& n, const std::string& k, Config& c) -> absl::Status {
              ASSIGN_OR_RETURN(std::string s, r.String(n, k));
              auto level = log::ParseLevel(s);
              if (!level.ok()) return KeyError(r.source, n, k, ToStd(level.status().message()));
              c.runtime.log_level = *level;
              return absl::OkStatus();
            }},
           PathKey("state_dir", [](Config& c) -> auto& { return c.runtime.state_dir; }),
       }},
  };
  return *schema;
}

absl::Status ApplySection(const Reader& r, const Section& section, const YAML::Node& node,
                          Config& config) {
  if (node.IsNull()) return absl::OkStatus();  // "hypervisor:" with nothing under it
  if (!node.IsMap()) return KeyError(r.source, node, section.name, "expected a map of keys");
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key_node = it->first;
    const std::string name = key_node.IsScalar() ? key_node.Scalar() : "?";
    const std::string dotted = StrCat(section.name, ".", name);
    const Key* key = nullptr;
    for (const Key& k : section.keys) {
      if (k.name == name) key = &k;
    }
    if (key == nullptr) return KeyError(r.source, key_node, dotted, "unknown key");
    RETURN_IF_ERROR(key->set(r, it->second, dotted, config));
  }
  return absl::OkStatus();
}

absl::StatusOr<Config> ParseDocument(const YAML::Node& root, std::string_view source, Arch arch) {
  Config config;
  const Reader r{source};
  if (!root.IsNull() && root.IsDefined()) {
    if (!root.IsMap()) return KeyError(source, root, "(top level)", "expected a map of sections");
    for (auto it = root.begin(); it != root.end(); ++it) {
      const std::string name = it->first.IsScalar() ? it->first.Scalar() : "?";
      const Section* section = nullptr;
      for (const Section& s : Schema()) {
        if (s.name == name) section = &s;
      }
      if (section == nullptr) return KeyError(source, it->first, name, "unknown section");
      RETURN_IF_ERROR(ApplySection(r, *section, it->second, config));
    }
  }
  config.hypervisor.memory_mib = AlignMemoryMiB(config.hypervisor.memory_mib, arch);
  if (config.hypervisor.max_memory_mib != 0) {
    config.hypervisor.max_memory_mib = AlignMemoryMiB(config.hypervisor.max_memory_mib, arch);
  }
  return config;
}

}  // namespace

std::string_view AccelName(Accel a) {
  switch (a) {
    case Accel::kAuto: return "auto";
    case Accel::kKvm: return "kvm";
    case Accel::kTcg: return "tcg";
  }
  return "auto";
}

std::string_view AgentChannelName(AgentChannel c) {
  switch (c) {
    case AgentChannel::kAuto: return "auto";
    case AgentChannel::kVsock: return "vsock";
    case AgentChannel::kSerial: return "serial";
    case AgentChannel::kUnix: return "unix";
  }
  return "auto";
}

absl::StatusOr<Config> ParseConfigYaml(std::string_view text, std::string_view source, Arch arch) {
  // yaml-cpp reports errors by exception; none leaves this module.
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    return ParseDocument(root, source, arch);
  } catch (const YAML::Exception& e) {
    const std::string where =
        e.mark.line >= 0 ? StrCat(source, ":", e.mark.line + 1) : std::string(source);
    return absl::InvalidArgumentError(StrCat(where, ": malformed YAML: ", e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(StrCat(source, ": ", e.what()));
  }
}

absl::StatusOr<Config> LoadConfig(const std::string& path, Arch arch) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, 1u << 20));
  return ParseConfigYaml(text, path, arch);
}

std::string ConfigToYaml(const Config& c) {
  auto quote = [](const std::string& s) {
    // Double-quoted YAML scalar. Control characters are escaped too: a raw line break
    // inside the quotes would read back folded into a space.
    std::string out = "\"";
    for (char ch : s) {
      const auto byte = static_cast<unsigned char>(ch);
      if (ch == '"' || ch == '\\') {
        out.push_back('\\');
        out.push_back(ch);
      } else if (byte < 0x20 || byte == 0x7f) {
        out += fmt::format("\\x{:02x}", byte);
      } else {
        out.push_back(ch);
      }
    }
    return out + "\"";
  };
  return fmt::format(
      "hypervisor:\n"
      "  path: {}\n  kernel: {}\n  initrd: {}\n  firmware: {}\n  machine_type: {}\n  memory_mib: {}\n"
      "  vcpus: {}\n  max_vcpus: {}\n  max_memory_mib: {}\n  memory_slots: {}\n  accel: {}\n  kernel_params: {}\n  block_driver: {}\n  shared_fs: {}\n"
      "  hotplug_root_ports: {}\n  boot_timeout: {}\n"
      "agent:\n"
      "  channel: {}\n  hotplug_timeout: {}\n  dial_timeout: {}\n  create_container_timeout: {}\n"
      "  disable_guest_seccomp: {}\n"
      "runtime:\n"
      "  log_level: {}\n  state_dir: {}\n",
      quote(c.hypervisor.path), quote(c.hypervisor.kernel), quote(c.hypervisor.initrd),
      quote(c.hypervisor.firmware), quote(c.hypervisor.machine_type), c.hypervisor.memory_mib, c.hypervisor.vcpus,
      c.hypervisor.max_vcpus, c.hypervisor.max_memory_mib, c.hypervisor.memory_slots,
      AccelName(c.hypervisor.accel), quote(c.hypervisor.kernel_params),
      c.hypervisor.block_driver, c.hypervisor.shared_fs, c.hypervisor.hotplug_root_ports, absl::FormatDuration(c.hypervisor.boot_timeout),
      AgentChannelName(c.agent.channel), absl::FormatDuration(c.agent.hotplug_timeout),
      absl::FormatDuration(c.agent.dial_timeout), absl::FormatDuration(c.agent.create_container_timeout),
      c.agent.disable_guest_seccomp ? "true" : "false",
      log::LevelName(c.runtime.log_level),
      quote(c.runtime.state_dir));
}

}  // namespace kata::config
