#include "libkata/testing/netns.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <sys/wait.h>

#include "catch2/catch.hpp"
#include "libkata/testing/test_support.h"

namespace kata::testing {
namespace {

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

TestNetns::TestNetns() {
  static std::atomic<int> counter{0};
  name_ = "kata-t" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  REQUIRE(std::system(("ip netns add " + name_).c_str()) == 0);
}

TestNetns::~TestNetns() {
  // Links made inside go with the namespace (veth peers outside too).
  (void)!std::system(("ip netns del " + name_ + " 2>/dev/null").c_str());
}

int TestNetns::Try(const std::string& command) const {
  const int rc = std::system(("ip netns exec " + name_ + " sh -c " + Quote(command)).c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

void TestNetns::Exec(const std::string& command) const {
  INFO("in netns " << name_ << ": " << command);
  REQUIRE(Try(command) == 0);
}

std::string TestNetns::Capture(const std::string& command) const {
  return kata::testing::Capture("ip netns exec " + name_ + " sh -c " + Quote(command));
}

}  // namespace kata::testing
