#include "guest-agent/device_cgroup/device_rules.h"

#include "libkata/base/str_cat.h"

namespace kata::guest {
namespace {

bool Matches(const DeviceRule& r, char type, int64_t major, int64_t minor) {
  return (r.type == 'a' || r.type == type) && (r.major < 0 || r.major == major) && (r.minor < 0 || r.minor == minor);
}

}  // namespace

bool DevicePolicy::Allows(char type, int64_t major, int64_t minor, uint8_t access) const {
  for (uint8_t bit : {kDevMknod, kDevRead, kDevWrite}) {
    if (!(access & bit)) continue;
    bool allowed = false;  // no rule: denied
    for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
      if ((it->access & bit) && Matches(*it, type, major, minor)) {
        allowed = it->allow;
        break;
      }
    }
    if (!allowed) return false;
  }
  return true;
}

const std::vector<DeviceRule>& DefaultAllowedDevices() {
  static const std::vector<DeviceRule> kDefaults = {
      {'c', -1, -1, kDevMknod, true},  // mknod of any char node (opening it is another matter)
      {'c', 1, 3, kDevAll, true},      // null
      {'c', 1, 8, kDevAll, true},      // random
      {'c', 1, 7, kDevAll, true},      // full
      {'c', 5, 0, kDevAll, true},      // tty
      {'c', 1, 5, kDevAll, true},      // zero
      {'c', 1, 9, kDevAll, true},      // urandom
      {'c', 136, -1, kDevAll, true},   // pts (the console is one)
      {'c', 5, 2, kDevAll, true},      // ptmx
      {'c', 10, 200, kDevAll, true},   // tun
  };
  return kDefaults;
}

absl::StatusOr<DevicePolicy> BuildDevicePolicy(const google::protobuf::RepeatedPtrField<oci::LinuxDeviceCgroup>& rules) {
  DevicePolicy policy;
  for (int i = 0; i < rules.size(); ++i) {
    const oci::LinuxDeviceCgroup& in = rules.Get(i);
    const std::string field = StrCat("linux.resources.devices[", i, "]");
    DeviceRule r;
    r.allow = in.allow();
    const std::string& type = in.type();
    if (type.empty() || type == "a") r.type = 'a';
    else if (type == "b" || type == "c") r.type = type[0];
    else return absl::InvalidArgumentError(StrCat(field, ".type: \"", type.substr(0, 16), "\" is not a, b or c"));
    for (const auto& [has, value, name, out] : {std::tuple{in.has_major(), in.major(), "major", &r.major},
                                                 std::tuple{in.has_minor(), in.minor(), "minor", &r.minor}}) {
      if (!has) continue;
      if (value < -1 || value > 0xfffff) return absl::InvalidArgumentError(StrCat(field, ".", name, ": ", value, " is not a device number"));
      *out = value;
    }
    if (!in.access().empty()) {
      r.access = 0;
      for (char c : in.access()) {
        if (c == 'r') r.access |= kDevRead;
        else if (c == 'w') r.access |= kDevWrite;
        else if (c == 'm') r.access |= kDevMknod;
        else return absl::InvalidArgumentError(StrCat(field, ".access: \"", in.access().substr(0, 16), "\" is not made of r, w and m"));
      }
    }
    policy.rules.push_back(r);
  }
  const auto& defaults = DefaultAllowedDevices();
  policy.rules.insert(policy.rules.end(), defaults.begin(), defaults.end());
  return policy;
}

}  // namespace kata::guest
