#pragma once

// A VMDK descriptor that makes several raw files one disk: QEMU reads a "twoGbMaxExtentFlat"
// descriptor's FLAT extents as a single device whose bytes are the files' concatenation.
// That is how a multi-layer EROFS image (one blob per layer) becomes one hot-plugged disk.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kata::runtime {

struct VmdkExtent {
  std::string path;     // absolute
  uint64_t size_bytes;
};

// The descriptor text (pure). A file's sectors round up (a tail that is not 512-aligned stays
// addressable); files over 2 GiB become several 2 GiB extents of the same file at rising
// offsets, as the createType says; empty files are skipped. Extents say RW: QEMU 7.2 skips
// RDONLY lines without a word; the disk is made read-only on blockdev-add instead.
// InvalidArgument when every file is empty, the disk passes 64 TiB, or a path is relative
// or has a quote or newline in it (naming it).
absl::StatusOr<std::string> BuildVmdkDescriptor(const std::vector<VmdkExtent>& extents);

// Stats `files` and writes their descriptor to `descriptor_path` atomically.
absl::Status WriteVmdkDescriptor(const std::string& descriptor_path, const std::vector<std::string>& files);

}  // namespace kata::runtime
