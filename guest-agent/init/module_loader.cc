#include "guest-agent/init/module_loader.h"

#include <fcntl.h>
#include <linux/module.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_split.h"
#include "libkata/base/file_util.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unique_fd.h"

namespace kata::guest {
namespace {

bool Compressed(const std::string& name) {
  return name.ends_with(".xz") || name.ends_with(".zst") || name.ends_with(".gz");
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseLoadOrder(const std::string& text) {
  std::vector<std::string> names;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    std::string line(raw.data(), raw.size());
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.pop_back();
    if (line.empty() || line.front() == '#') continue;
    if (line.find('/') != std::string::npos || line == "." || line == "..") {
      return absl::InvalidArgumentError(StrCat("module load order names \"", line, "\", which is not a file name"));
    }
    names.push_back(line);
  }
  return names;
}

absl::StatusOr<ModuleLoadReport> LoadModules(const std::string& dir) {
  ModuleLoadReport report;
  auto text = ReadFileToString(dir + "/load-order");
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) return report;
    return text.status();
  }
  auto names = ParseLoadOrder(*text);
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    const std::string path = dir + "/" + name;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      report.failures.push_back(StrCat(name, ": open: ", std::strerror(errno)));
      continue;
    }
    // Compressed modules are decompressed by the kernel (CONFIG_MODULE_DECOMPRESS).
    const int flags = Compressed(name) ? MODULE_INIT_COMPRESSED_FILE : 0;
    if (::syscall(SYS_finit_module, fd.get(), "", flags) != 0 && errno != EEXIST) {
      report.failures.push_back(StrCat(name, ": ", std::strerror(errno)));
      continue;
    }
    report.loaded.push_back(name);
  }
  return report;
}

}  // namespace kata::guest
