#pragma once

// An invariant a fuzz target checks beyond "no sanitizer report": a violation prints what
// broke and aborts, which libFuzzer records as a crash with the input that caused it.

#include <cstdio>
#include <cstdlib>

#define KATA_FUZZ_CHECK(cond, what)                                               \
  do {                                                                            \
    if (!(cond)) {                                                                \
      std::fprintf(stderr, "fuzz invariant broken at %s:%d: %s (%s)\n", __FILE__, \
                   __LINE__, what, #cond);                                        \
      std::abort();                                                               \
    }                                                                             \
  } while (0)
