// The main of every test binary: Catch2's session, then a machine-readable summary line
// (ci/test adds them up) and the list of skipped tests with their reasons.
#define CATCH_CONFIG_RUNNER
#include "libkata/testing/test_support.h"

#include <cstdio>

namespace kata::testing {
std::vector<std::pair<std::string, std::string>> TakeSkips();
}

namespace {

// Counts test cases as they end, so the summary can tell passed from failed.
struct CaseCounter : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  static inline int passed = 0;
  static inline int failed = 0;
  void testCaseEnded(const Catch::TestCaseStats& stats) override {
    (stats.totals.assertions.failed > 0 ? failed : passed)++;
  }
};
CATCH_REGISTER_LISTENER(CaseCounter)

}  // namespace

int main(int argc, char** argv) {
  Catch::Session session;
  const int rc = session.run(argc, argv);
  const auto skips = kata::testing::TakeSkips();
  for (const auto& [name, reason] : skips) {
    std::printf("SKIPPED: %s: %s\n", name.c_str(), reason.c_str());
  }
  const int skipped = static_cast<int>(skips.size());
  std::printf("kata-test-summary: passed=%d failed=%d skipped=%d\n",
              CaseCounter::passed - skipped, CaseCounter::failed, skipped);
  return rc;
}
