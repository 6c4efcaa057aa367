#include "host-runtime/cmd/containerd_config_command.h"

#include <cstdio>
#include <filesystem>

#include "host-runtime/install/containerd_config.h"
#include "host-runtime/snapshotter/snapshotter_defaults.h"
#include "libkata/base/file_util.h"
#include "libkata/base/str_cat.h"

namespace kata::runtime {
namespace {

constexpr char kUsage[] =
    "usage: kata-runtime containerd-config [--containerd-version V] [--kata-config FILE]\n"
    "                                      [--erofs-snapshotter [--erofs-snapshotter-address SOCKET]]\n"
    "                                      [--install [--config FILE] [--drop-in FILE]]\n"
    "  Prints containerd's configuration for the kata RuntimeClass handler (containerd 1.6/1.7:\n"
    "  config version 2; 2.x: version 3, with the EROFS snapshotter and differ). V defaults to\n"
    "  what `containerd --version` says; FILE of --kata-config to /etc/kata-cpp/configuration.yaml.\n"
    "  --erofs-snapshotter (containerd 1.6/1.7): kata-erofs-snapshotter as the proxy snapshotter\n"
    "  kata-erofs at SOCKET (default /run/kata-erofs-snapshotter/snapshotter.sock), the kata\n"
    "  handler's snapshotter on 1.7 (docs/erofs.md).\n"
    "  --install writes it as the drop-in FILE (default: conf.d/kata-cpp.toml beside the config)\n"
    "  and adds that to the imports of containerd's config FILE (default\n"
    "  /etc/containerd/config.toml), keeping the rest of it. Run again after editing the config.\n";

int Fail(std::string_view what) {
  std::fprintf(stderr, "kata-runtime containerd-config: %.*s\n", static_cast<int>(what.size()), what.data());
  return 1;
}

// What `containerd --version` prints, or "" when it cannot run.
std::string ContainerdVersionOutput() {
  FILE* p = ::popen("containerd --version 2>/dev/null", "r");
  if (p == nullptr) return "";
  std::string out;
  char buf[256];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  return ::pclose(p) == 0 ? out : "";
}

}  // namespace

int ContainerdConfigCommand(const std::vector<std::string_view>& args) {
  std::string version, kata_config = "/etc/kata-cpp/configuration.yaml", erofs_address;
  std::string config = "/etc/containerd/config.toml", drop_in;
  bool install = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const bool has_value = i + 1 < args.size();
    if (args[i] == "--containerd-version" && has_value) {
      version = args[++i];
    } else if (args[i] == "--kata-config" && has_value) {
      kata_config = args[++i];
    } else if (args[i] == "--config" && has_value) {
      config = args[++i];
    } else if (args[i] == "--drop-in" && has_value) {
      drop_in = args[++i];
    } else if (args[i] == "--erofs-snapshotter") {
      if (erofs_address.empty()) erofs_address = kata::snapshotter::kDefaultAddress;
    } else if (args[i] == "--erofs-snapshotter-address" && has_value) {
      erofs_address = args[++i];
    } else if (args[i] == "--install") {
      install = true;
    } else if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  if (!std::filesystem::path(kata_config).is_absolute()) return Fail(StrCat("--kata-config ", kata_config, ": not an absolute path"));
  auto line = version.empty() ? ContainerdLineFromVersionOutput(ContainerdVersionOutput()) : ParseContainerdVersion(version);
  if (!line.ok()) {
    return Fail(StrCat(line.status().message(), version.empty() ? " (name it with --containerd-version)" : ""));
  }
  if (!erofs_address.empty() && !std::filesystem::path(erofs_address).is_absolute()) {
    return Fail(StrCat("--erofs-snapshotter-address ", erofs_address, ": not an absolute path"));
  }
  if (!erofs_address.empty() && *line != ContainerdLine::kV1) {
    return Fail("--erofs-snapshotter is for containerd 1.6/1.7: containerd 2.x has its own EROFS snapshotter, which the 2.x tables use");
  }
  const KataTablesOptions tables{kata_config, erofs_address};
  if (!install) {
    std::fputs(ContainerdSnippet(*line, tables).c_str(), stdout);
    return 0;
  }

  if (!std::filesystem::path(config).is_absolute()) return Fail(StrCat("--config ", config, ": not an absolute path"));
  if (drop_in.empty()) drop_in = (std::filesystem::path(config).parent_path() / "conf.d" / "kata-cpp.toml").string();
  if (!std::filesystem::path(drop_in).is_absolute()) return Fail(StrCat("--drop-in ", drop_in, ": not an absolute path"));
  auto current = ReadFileToString(config, 1 << 22);
  if (!current.ok() && !absl::IsNotFound(current.status())) return Fail(ToStd(current.status().message()));
  auto plan = PlanContainerdInstall(current.ok() ? *current : "", *line, drop_in, tables);
  if (!plan.ok()) return Fail(StrCat(config, ": ", plan.status().message()));
  // What is there before, so a failure puts it back: the drop-in's old text, or no drop-in
  // and none of the directories made for it.
  const auto previous = ReadFileToString(drop_in, 1 << 22);
  if (!previous.ok() && !absl::IsNotFound(previous.status())) return Fail(ToStd(previous.status().message()));
  std::vector<std::filesystem::path> made_dirs;  // deepest first
  std::error_code ec;
  for (auto dir = std::filesystem::path(drop_in).parent_path(); dir.has_relative_path() && !std::filesystem::exists(dir, ec);
       dir = dir.parent_path()) {
    made_dirs.push_back(dir);
  }
  std::filesystem::create_directories(std::filesystem::path(drop_in).parent_path(), ec);
  auto undo = [&] {
    if (previous.ok()) {
      (void)WriteFileAtomically(drop_in, *previous, 0644);
    } else {
      std::filesystem::remove(drop_in, ec);
    }
    for (const auto& dir : made_dirs) std::filesystem::remove(dir, ec);  // only while empty
  };
  if (ec) {
    undo();
    return Fail(StrCat("create ", std::filesystem::path(drop_in).parent_path().string(), ": ", ec.message()));
  }
  // The drop-in first: the config never imports a file that is not there.
  if (absl::Status s = WriteFileAtomically(drop_in, plan->drop_in, 0644); !s.ok()) {
    undo();
    return Fail(ToStd(s.message()));
  }
  if (plan->config_changed) {
    if (absl::Status s = WriteFileAtomically(config, plan->config, 0644); !s.ok()) {
      undo();
      return Fail(StrCat(s.message(), " (the drop-in ", drop_in, " was put back as it was)"));
    }
    std::printf("wrote %s\n", drop_in.c_str());
    std::printf("added it to the imports of %s\n", config.c_str());
  } else {
    std::printf("wrote %s\n", drop_in.c_str());
    std::printf("%s imports it already\n", config.c_str());
  }
  std::printf("restart containerd to load it\n");
  return 0;
}

}  // namespace kata::runtime
