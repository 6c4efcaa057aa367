// kata-runtime: the runtime's command line: the version, the effective configuration,
// bundle validation, and `check` (can this host run sandboxes).

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "host-runtime/cmd/containerd_config_command.h"
#include "host-runtime/cmd/host_check.h"
#include "host-runtime/cmd/run_command.h"
#include "kata_version.h"
#include "libkata/config/config.h"
#include "libkata/log/log.h"
#include "libkata/oci/spec.h"

namespace {

constexpr const char* kDefaultConfig = "/etc/kata-cpp/configuration.yaml";

void Usage(FILE* out) {
  std::fprintf(out,
               "Usage: kata-runtime [--config FILE] [--log-level LEVEL] COMMAND\n"
               "\n"
               "Commands:\n"
               "  check                  can this host run sandboxes? (yes/no per item, with why)\n"
               "  config                 print the effective configuration (defaults + FILE)\n"
               "  validate --bundle DIR  load and validate DIR/config.json\n"
               "  run --bundle DIR [--rootfs-mounts MOUNTS.json] ID\n"
               "                         run the bundle's container in a new VM (like runc run);\n"
               "                         MOUNTS.json: containerd-shaped rootfs Mounts\n"
               "  containerd-config [--install] ...\n"
               "                         containerd's configuration for the kata handler, printed or\n"
               "                         installed as a drop-in (containerd-config --help)\n"
               "  --version              print the version\n"
               "\n"
               "FILE defaults to $KATA_CONF_FILE, else %s when it exists.\n"
               "Logs are JSON lines on stderr; `run` shows warnings and errors unless --log-level.\n",
               kDefaultConfig);
}

int Fail(std::string_view what) {
  std::fprintf(stderr, "kata-runtime: %.*s\n", static_cast<int>(what.size()), what.data());
  return 1;
}

absl::StatusOr<kata::config::Config> LoadEffectiveConfig(std::string path) {
  if (path.empty()) {
    if (const char* env = std::getenv("KATA_CONF_FILE"); env && *env) path = env;
  }
  if (path.empty()) {
    auto loaded = kata::config::LoadConfig(kDefaultConfig);
    if (absl::IsNotFound(loaded.status())) return kata::config::Config{};
    return loaded;
  }
  return kata::config::LoadConfig(path);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  std::string config_path;
  std::string log_level;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) {
      config_path = args[++i];
    } else if (args[i] == "--log-level" && i + 1 < args.size()) {
      log_level = args[++i];
    } else {
      break;
    }
  }
  if (!log_level.empty()) {
    auto level = kata::log::ParseLevel(log_level);
    if (!level.ok()) return Fail(std::string(level.status().message()));
    kata::log::Logger::Global().SetLevel(*level);
  }
  if (i == args.size()) {
    Usage(stderr);
    return 2;
  }
  const std::string_view cmd = args[i];
  if (cmd == "--version" || cmd == "version") {
    std::printf("kata-runtime %s\n", KATA_VERSION);
    return 0;
  }
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    Usage(stdout);
    return 0;
  }
  if (cmd == "config") {
    auto config = LoadEffectiveConfig(config_path);
    if (!config.ok()) return Fail(std::string(config.status().message()));
    std::fputs(kata::config::ConfigToYaml(*config).c_str(), stdout);
    return 0;
  }
  if (cmd == "containerd-config") {
    return kata::runtime::ContainerdConfigCommand(std::vector<std::string_view>(args.begin() + i + 1, args.end()));
  }
  if (cmd == "check") {
    auto config = LoadEffectiveConfig(config_path);
    if (!config.ok()) return Fail(std::string(config.status().message()));
    bool all_required = true;
    for (const auto& item : kata::runtime::CheckHost(*config)) {
      std::printf("%-4s %-28s %s%s\n", item.ok ? "yes" : "no", item.what.c_str(), item.why.c_str(),
                  item.ok || item.required ? "" : " (optional)");
      all_required = all_required && (item.ok || !item.required);
    }
    std::printf(all_required ? "this host can run sandboxes\n" : "this host cannot run sandboxes\n");
    return all_required ? 0 : 1;
  }
  if (cmd == "run") {
    kata::runtime::RunOptions run;
    for (size_t j = i + 1; j < args.size(); ++j) {
      if (args[j] == "--bundle" && j + 1 < args.size()) {
        run.bundle = args[++j];
      } else if (args[j] == "--rootfs-mounts" && j + 1 < args.size()) {
        run.rootfs_mounts = args[++j];
      } else if (run.id.empty() && !args[j].starts_with("-")) {
        run.id = args[j];
      } else {
        Usage(stderr);
        return 2;
      }
    }
    if (run.bundle.empty() || run.id.empty()) {
      Usage(stderr);
      return 2;
    }
    auto config = LoadEffectiveConfig(config_path);
    if (!config.ok()) return Fail(std::string(config.status().message()));
    // The container's own stderr shares the terminal: only what goes wrong, unless asked.
    if (log_level.empty()) kata::log::Logger::Global().SetLevel(kata::log::Level::kWarn);
    return kata::runtime::RunContainer(*config, run);
  }
  if (cmd == "validate") {
    if (i + 2 >= args.size() || args[i + 1] != "--bundle") {
      Usage(stderr);
      return 2;
    }
    auto spec = kata::oci::LoadBundleSpec(std::string(args[i + 2]));
    if (!spec.ok()) return Fail(std::string(spec.status().message()));
    std::printf("%.*s/config.json: valid (ociVersion %s, %d mounts)\n",
                static_cast<int>(args[i + 2].size()), args[i + 2].data(),
                spec->oci_version().c_str(), spec->mounts_size());
    return 0;
  }
  Usage(stderr);
  return Fail(std::string("unknown command ") + std::string(cmd));
}
