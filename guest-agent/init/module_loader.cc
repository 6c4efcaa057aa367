#include "guest-agent/init/module_loader.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/module.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "libkata/base/file_util.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unique_fd.h"

namespace kata::guest {
namespace {

bool Compressed(const std::string& name) {
  return name.ends_with(".xz") || name.ends_with(".zst") || name.ends_with(".gz");
}

absl::StatusOr<uint32_t> ParseVirtioId(std::string_view condition) {
  constexpr std::string_view kPrefix = "virtio=";
  uint32_t id = 0;
  if (!condition.starts_with(kPrefix) || !absl::SimpleHexAtoi(ToAbsl(condition.substr(kPrefix.size())), &id)) {
    return absl::InvalidArgumentError(StrCat("module condition \"", condition, "\" is not virtio=0xNNNN"));
  }
  return id;
}

}  // namespace

absl::StatusOr<std::vector<ModuleEntry>> ParseLoadOrder(const std::string& text) {
  std::vector<ModuleEntry> entries;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    std::vector<std::string> words = absl::StrSplit(raw, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (words.empty() || words[0].front() == '#') continue;
    ModuleEntry e;
    e.file = words[0];
    if (e.file.find('/') != std::string::npos || e.file == "." || e.file == "..") {
      return absl::InvalidArgumentError(StrCat("module load order names \"", e.file, "\", which is not a file name"));
    }
    if (words.size() > 2) return absl::InvalidArgumentError(StrCat("module load order line \"", raw, "\" has extra words"));
    if (words.size() == 2) {
      auto id = ParseVirtioId(words[1]);
      if (!id.ok()) return id.status();
      e.virtio_id = *id;
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

std::set<uint32_t> VirtioDeviceIds(const std::string& bus_dir) {
  std::set<uint32_t> ids;
  DIR* dir = ::opendir(bus_dir.c_str());
  if (dir == nullptr) return ids;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    auto text = ReadFileToString(StrCat(bus_dir, "/", e->d_name, "/device"), 64);
    uint32_t id = 0;
    if (text.ok() && absl::SimpleHexAtoi(absl::StripAsciiWhitespace(*text), &id)) ids.insert(id);
  }
  ::closedir(dir);
  return ids;
}

absl::StatusOr<ModuleLoadReport> LoadModules(const std::string& dir, const std::set<uint32_t>& virtio_ids) {
  ModuleLoadReport report;
  auto text = ReadFileToString(dir + "/load-order");
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) return report;
    return text.status();
  }
  auto entries = ParseLoadOrder(*text);
  if (!entries.ok()) return entries.status();
  for (const ModuleEntry& entry : *entries) {
    const std::string& name = entry.file;
    if (entry.virtio_id && !virtio_ids.contains(*entry.virtio_id)) {
      report.skipped.push_back(name);
      continue;
    }
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
