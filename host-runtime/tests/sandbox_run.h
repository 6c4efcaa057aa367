#pragma once

// A container of a Sandbox started and run to its end, for end-to-end tests: its output
// (stdout) and its exit status.

#include <string>

#include "host-runtime/sandbox/sandbox.h"
#include "libkata/testing/test_support.h"

namespace kata::runtime::testing {

struct Ran {
  std::string out;
  int status = -1;
};

inline Ran RunToEnd(Sandbox& sb, const std::string& cid) {
  Ran r;
  const absl::Status started = sb.StartContainer(cid);
  INFO(started);
  REQUIRE(started.ok());
  for (;;) {
    auto chunk = sb.ReadOutput(cid, "", false);
    if (!chunk.ok()) break;
    r.out += *chunk;
  }
  auto status = sb.WaitProcess(cid);
  REQUIRE(status.ok());
  r.status = *status;
  return r;
}

}  // namespace kata::runtime::testing
