#pragma once

// Test helper: a real loop device, created for the test (so its uevents are real: "add" when
// created, "change" when its file is attached) and removed again when it goes.

#include <string>

#include "absl/status/statusor.h"

namespace kata::guest::testing {

class LoopDevice {
 public:
  // Reserves a loop device number that no device uses yet, without creating the device.
  static absl::StatusOr<int> FreeIndex();

  // Creates /dev/loop<index> and attaches `file` to it.
  static absl::StatusOr<LoopDevice> Attach(const std::string& file, bool read_only, int index = -1);

  LoopDevice(LoopDevice&& other) noexcept : index_(other.index_) { other.index_ = -1; }
  LoopDevice& operator=(LoopDevice&& other) noexcept;
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;
  ~LoopDevice();

  std::string path() const { return "/dev/loop" + std::to_string(index_); }
  std::string name() const { return "loop" + std::to_string(index_); }
  int index() const { return index_; }

  // Detaches the file and removes the device; true when /sys/block/loopN is gone.
  bool Remove();

 private:
  explicit LoopDevice(int index) : index_(index) {}
  int index_ = -1;
};

// True when no /sys/block/loop<index> exists.
bool LoopGone(int index);

}  // namespace kata::guest::testing
