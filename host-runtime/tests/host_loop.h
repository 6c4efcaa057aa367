#pragma once

// A host loop device for tests that hand host devices to containers.

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdlib>
#include <string>

#include "host-runtime/tests/vm_test_support.h"
#include "libkata/testing/test_support.h"

namespace kata::runtime::testing {

// A host loop device over a 1 MiB file that starts with `content`; detached when it goes.
class HostLoop {
 public:
  HostLoop(const kata::testing::TempDir& tmp, const std::string& name, const std::string& content)
      : file_(tmp.Sub(name + ".img")) {
    kata::testing::WriteFile(file_, content + std::string((1 << 20) - content.size(), '\0'));
    const std::string out = kata::testing::Capture("losetup --find --show " + file_);
    REQUIRE(out.starts_with("/dev/loop"));
    node_ = out.substr(0, out.find('\n'));
    struct stat st;
    REQUIRE(::stat(node_.c_str(), &st) == 0);
    major_ = major(st.st_rdev);
    minor_ = minor(st.st_rdev);
  }
  ~HostLoop() { (void)std::system(("losetup -d " + node_ + " 2>/dev/null").c_str()); }
  HostLoop(const HostLoop&) = delete;
  HostLoop& operator=(const HostLoop&) = delete;

  const std::string& file() const { return file_; }
  const std::string& node() const { return node_; }
  // A linux.devices entry at `path`, by this device's host numbers (as ctr and CRI write it).
  std::string Entry(const std::string& path, const char* type = "b") const {
    return "{\"path\": \"" + path + "\", \"type\": \"" + type + "\", \"major\": " + std::to_string(major_) +
           ", \"minor\": " + std::to_string(minor_) + ", \"fileMode\": 432, \"uid\": 0, \"gid\": 0}";
  }
  std::string Allow(const std::string& access) const {
    return "{\"allow\": true, \"type\": \"b\", \"major\": " + std::to_string(major_) + ", \"minor\": " +
           std::to_string(minor_) + ", \"access\": \"" + access + "\"}";
  }

 private:
  std::string file_, node_;
  unsigned major_ = 0, minor_ = 0;
};

}  // namespace kata::runtime::testing
