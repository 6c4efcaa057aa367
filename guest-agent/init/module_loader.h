#pragma once

// Loads the kernel modules the guest image carries, in the order rootfs-builder wrote to
// lib/modules/load-order (dependencies first), with finit_module(2): no modprobe, no udev.

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kata::guest {

struct ModuleLoadReport {
  std::vector<std::string> loaded;    // names, in load order (already loaded ones count)
  std::vector<std::string> failures;  // "erofs.ko: ..." for each that failed
};

// The module file names listed in a load-order file's text (pure): one per line, blank lines
// and '#' comments skipped; a name with a '/' or ".." is InvalidArgument (modules are looked
// up in one directory).
absl::StatusOr<std::vector<std::string>> ParseLoadOrder(const std::string& text);

// Loads every module listed in `dir`/load-order from `dir`. A module that fails is reported
// and the rest still load (the agent serves, and the storage that needs it fails by name).
// A missing load-order file means an image without modules: an empty report.
absl::StatusOr<ModuleLoadReport> LoadModules(const std::string& dir);

}  // namespace kata::guest
