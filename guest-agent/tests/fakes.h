#pragma once

// Test doubles for the storage logic's unit tests. The real Mounter and waiter are tested
// for real (storage_real_test.cc); these let the planning and undo logic run unprivileged.

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "guest-agent/device/block_device_waiter.h"
#include "guest-agent/storage/mounter.h"

namespace kata::guest::testing {

// Records every action as a line ("mount ext4 /dev/vda /mp", "mkdir /mp", "umount /mp",
// "rmdir /mp"); fails the mount whose target contains `fail_mount_target`.
class FakeMounter : public Mounter {
 public:
  absl::Status Mount(const std::string& source, const std::string& target, const std::string& fstype,
                     unsigned long flags, const std::string& data) override {
    std::lock_guard<std::mutex> l(mu);
    if (!fail_mount_target.empty() && target.find(fail_mount_target) != std::string::npos) {
      ops.push_back("FAILED mount " + target);
      return absl::InvalidArgumentError("injected mount failure on " + target);
    }
    ops.push_back("mount " + fstype + " " + source + " " + target);
    flags_of[target] = flags;
    data_of[target] = data;
    mounted.insert(target);
    return absl::OkStatus();
  }
  absl::Status Unmount(const std::string& target) override {
    std::lock_guard<std::mutex> l(mu);
    ops.push_back("umount " + target);
    if (!mounted.erase(target)) return absl::NotFoundError("not mounted: " + target);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> MkdirAll(const std::string& root, const std::string& path, mode_t,
                                       std::vector<std::string>* created) override {
    std::lock_guard<std::mutex> l(mu);
    std::string cur = root == "/" ? "" : root;
    for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
      cur += "/" + std::string(part);
      if (dirs.insert(cur).second) {
        ops.push_back("mkdir " + cur);
        if (created) created->push_back(cur);
      }
    }
    return cur.empty() ? "/" : cur;
  }
  absl::Status Chown(const std::string& path, uid_t uid, gid_t gid) override {
    std::lock_guard<std::mutex> l(mu);
    ops.push_back("chown " + path + " " + std::to_string(uid) + ":" + std::to_string(gid));
    return absl::OkStatus();
  }
  absl::Status Chmod(const std::string& path, mode_t mode) override {
    std::lock_guard<std::mutex> l(mu);
    ops.push_back("chmod " + path + " " + std::to_string(mode));
    return absl::OkStatus();
  }
  absl::Status RemoveDir(const std::string& path) override {
    std::lock_guard<std::mutex> l(mu);
    ops.push_back("rmdir " + path);
    dirs.erase(path);
    return absl::OkStatus();
  }

  std::mutex mu;
  std::vector<std::string> ops;
  std::set<std::string> dirs;
  std::set<std::string> mounted;
  std::map<std::string, unsigned long> flags_of;
  std::map<std::string, std::string> data_of;
  std::string fail_mount_target;
};

// Devices by source; each wait takes `delay`; unknown sources time out.
class FakeDeviceWaiter : public BlockDeviceWaiter {
 public:
  absl::StatusOr<std::string> WaitForBlockDevice(const std::string& source, absl::Duration timeout) override {
    const int now = ++in_flight;
    int seen = max_in_flight.load();
    while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {}
    auto it = devices.find(source);
    absl::SleepFor(it == devices.end() ? timeout : delay);
    --in_flight;
    if (it == devices.end()) return absl::DeadlineExceededError("no device for " + source);
    return it->second;
  }

  std::map<std::string, std::string> devices;
  absl::Duration delay = absl::ZeroDuration();
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
};

}  // namespace kata::guest::testing
