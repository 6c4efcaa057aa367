// Times ApplyDeviceUpdates on specs of 1k, 10k and 100k devices, two cgroup rules each, every
// device remapped (host 8:i -> guest 254:i, so guest numbers collide with other hosts').
// Goals (issue 4): linear growth (100k within 15x of 10k) and 10k devices under 10 ms.
// A plain timed executable: build with the release build and run it; see bench/README.md.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "guest-agent/device/spec_device_updater.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Input {
  kata::oci::Spec spec;
  std::vector<kata::guest::DeviceUpdate> updates;
};

Input Make(int n) {
  Input in;
  auto* linux = in.spec.mutable_linux();
  for (int i = 0; i < n; ++i) {
    const std::string path = "/dev/disk" + std::to_string(i);
    auto* d = linux->add_devices();
    d->set_path(path);
    d->set_type("b");
    d->set_major(8 + (i % 2) * 246);  // half the hosts use 254: the guests' major
    d->set_minor(i);
    for (const char* access : {"rw", "m"}) {
      auto* r = linux->mutable_resources()->add_devices();
      r->set_allow(true);
      r->set_type("b");
      r->set_major(d->major());
      r->set_minor(i);
      r->set_access(access);
    }
    in.updates.push_back({path, 'b', 254 - (i % 2) * 246, i, std::nullopt});
  }
  return in;
}

// Median milliseconds of `runs` applications, each on its own copy of the spec. The copies
// are made before and freed after the timed loop, so no run pays for the allocator tidying up
// the previous run's copy.
double MedianMs(const Input& in, int runs) {
  std::vector<kata::oci::Spec> copies(static_cast<size_t>(runs), in.spec);
  std::vector<double> ms;
  for (kata::oci::Spec& spec : copies) {
    const auto t0 = Clock::now();
    const absl::Status s = kata::guest::ApplyDeviceUpdates(spec, in.updates);
    const auto t1 = Clock::now();
    if (!s.ok()) {
      std::fprintf(stderr, "ApplyDeviceUpdates failed: %s\n", std::string(s.message()).c_str());
      std::exit(2);
    }
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main() {
  std::printf("%-10s %-8s %12s %14s\n", "devices", "rules", "median ms", "ns per device");
  double t1k = 0, t10k = 0, t100k = 0;
  for (int n : {1000, 10000, 100000}) {
    const Input in = Make(n);
    const double ms = MedianMs(in, n >= 100000 ? 9 : 21);
    std::printf("%-10d %-8d %12.3f %14.1f\n", n, 2 * n, ms, ms * 1e6 / n);
    if (n == 1000) t1k = ms;
    if (n == 10000) t10k = ms;
    if (n == 100000) t100k = ms;
  }
  const double ratio = t100k / t10k;
  const bool linear = ratio <= 15.0, fast = t10k < 10.0;
  std::printf("100k / 10k = %.1fx (goal <= 15x: %s); 10k = %.3f ms (goal < 10 ms: %s)\n", ratio,
              linear ? "met" : "MISSED", t10k, fast ? "met" : "MISSED");
  std::printf("kata-bench: device_update_10k_ms=%.3f\nkata-bench: device_update_1k_ms=%.3f\nkata-bench: device_update_100k_ms=%.3f\n",
              t10k, t1k, t100k);
  return linear && fast ? 0 : 1;
}
