#pragma once

// A named network namespace for a test (`ip netns add`), deleted with what is in it when it
// goes, and commands run inside it.

#include <string>

namespace kata::testing {

class TestNetns {
 public:
  TestNetns();  // REQUIREs success
  ~TestNetns();
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;

  const std::string& name() const { return name_; }
  std::string path() const { return "/run/netns/" + name_; }
  // `ip netns exec NAME sh -c COMMAND`: REQUIREs exit status 0 (Exec) or returns it (Try).
  void Exec(const std::string& command) const;
  int Try(const std::string& command) const;
  // What COMMAND prints on stdout in the namespace.
  std::string Capture(const std::string& command) const;

 private:
  std::string name_;
};

}  // namespace kata::testing
