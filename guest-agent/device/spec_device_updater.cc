#include "guest-agent/device/spec_device_updater.h"

#include <optional>
#include <string_view>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {
namespace {

// A device's identity in cgroup rules: (type, major, minor).
using DeviceKey = std::tuple<char, int64_t, int64_t>;

// The same identity packed into one word when the numbers fit (Linux majors have 12 bits and
// minors 20; anything up to 2^30 fits), so the 100k-device case hashes integers, not tuples.
// Numbers that do not fit go to a tuple-keyed map instead.
std::optional<uint64_t> PackedKey(char type, int64_t major, int64_t minor) {
  constexpr int64_t kLimit = int64_t{1} << 30;
  if (major < 0 || minor < 0 || major >= kLimit || minor >= kLimit) return std::nullopt;
  return (static_cast<uint64_t>(type == 'b') << 60) | (static_cast<uint64_t>(major) << 30) |
         static_cast<uint64_t>(minor);
}

// Host identity -> guest numbers. Keys and values are packed into words where they fit,
// which halves the table the rule pass probes at random (the 100k-device case).
class GuestNumbers {
 public:
  explicit GuestNumbers(size_t n) { packed_.reserve(n); }
  // False when the host identity is already mapped to other guest numbers.
  bool Add(const DeviceKey& host, std::pair<int64_t, int64_t> guest) {
    const auto key = PackedKey(std::get<0>(host), std::get<1>(host), std::get<2>(host));
    const auto value = PackedKey('c', guest.first, guest.second);
    // A host identity lives in exactly one of the two maps, so a conflict is always seen.
    if (key && value) {
      if (!wide_.empty()) {
        if (auto w = wide_.find(host); w != wide_.end()) return w->second == guest;
      }
      auto [it, inserted] = packed_.emplace(*key, *value);
      return inserted || it->second == *value;
    }
    if (key) {
      if (auto p = packed_.find(*key); p != packed_.end()) return false;  // its guest packs, this one does not
    }
    auto [it, inserted] = wide_.emplace(host, guest);
    return inserted || it->second == guest;
  }
  std::optional<std::pair<int64_t, int64_t>> Find(char type, int64_t major, int64_t minor) const {
    if (const auto key = PackedKey(type, major, minor)) {
      auto it = packed_.find(*key);
      if (it != packed_.end()) {
        return std::make_pair(static_cast<int64_t>((it->second >> 30) & kMask), static_cast<int64_t>(it->second & kMask));
      }
    }
    if (wide_.empty()) return std::nullopt;
    auto it = wide_.find(DeviceKey{type, major, minor});
    if (it == wide_.end()) return std::nullopt;
    return it->second;
  }
  bool empty() const { return packed_.empty() && wide_.empty(); }

 private:
  static constexpr uint64_t kMask = (uint64_t{1} << 30) - 1;
  absl::flat_hash_map<uint64_t, uint64_t> packed_;  // packed host key -> packed guest numbers
  absl::flat_hash_map<DeviceKey, std::pair<int64_t, int64_t>> wide_;
};

// linux.devices types: 'u' is an unbuffered character device.
char NormalType(std::string_view t) { return t == "u" ? 'c' : (t.empty() ? '?' : t.front()); }

std::string KeyText(const DeviceKey& k) {
  return StrCat(std::string(1, std::get<0>(k)), " ", std::get<1>(k), ":", std::get<2>(k));
}

}  // namespace

absl::StatusOr<std::vector<DeviceUpdate>> CollectDeviceUpdates(
    const google::protobuf::RepeatedPtrField<agent::Device>& devices,
    const DeviceHandlerRegistry& registry, DeviceContext& ctx) {
  std::vector<DeviceUpdate> updates;
  updates.reserve(static_cast<size_t>(devices.size()));
  for (const agent::Device& d : devices) {
    DeviceHandler* handler = registry.Find(d.type());
    if (handler == nullptr) {
      return absl::InvalidArgumentError(StrCat("unknown device type \"", d.type().substr(0, 64), "\" for ", d.id()));
    }
    ASSIGN_OR_RETURN(DeviceUpdate u, handler->Update(d, ctx));
    updates.push_back(std::move(u));
  }
  return updates;
}

absl::Status ApplyDeviceUpdates(oci::Spec& spec, const std::vector<DeviceUpdate>& updates,
                                const std::vector<oci::LinuxDeviceCgroup>& agent_rules) {
  // 1. Index the batch by container path (the updates are few and contiguous; the spec may
  //    hold 100k devices whose strings live all over the heap).
  absl::flat_hash_map<std::string_view, size_t> by_path;
  by_path.reserve(updates.size());
  for (size_t i = 0; i < updates.size(); ++i) {
    if (!by_path.emplace(updates[i].container_path, i).second) {
      return absl::InvalidArgumentError(StrCat("conflicting device updates for ", updates[i].container_path));
    }
  }

  // 2. Walk the ORIGINAL spec once, in order, planning every change; nothing is touched
  //    until the whole batch is known to be good.
  const auto& devices = spec.linux().devices();
  std::vector<int> device_of_update(updates.size(), -1);
  GuestNumbers guest_of_host(updates.size());
  for (int i = 0; i < devices.size() && !by_path.empty(); ++i) {
    const oci::LinuxDevice& d = devices.Get(i);
    auto it = by_path.find(d.path());
    if (it == by_path.end()) continue;
    const DeviceUpdate& u = updates[it->second];
    if (device_of_update[it->second] >= 0) {
      return absl::InvalidArgumentError(StrCat("linux.devices names ", u.container_path, " more than once"));
    }
    device_of_update[it->second] = i;
    const DeviceKey host{NormalType(d.type()), d.major(), d.minor()};
    if (std::get<0>(host) != u.type) {
      return absl::InvalidArgumentError(StrCat("device ", u.container_path, " is type ", d.type(),
                                               " in the spec but ", std::string(1, u.type), " in the guest"));
    }
    if (!guest_of_host.Add(host, {u.major, u.minor})) {
      return absl::InvalidArgumentError(StrCat("conflicting resource updates for ", KeyText(host)));
    }
  }
  for (size_t k = 0; k < updates.size(); ++k) {
    if (device_of_update[k] < 0) {
      return absl::NotFoundError(StrCat("missing device in OCI spec: ", updates[k].container_path));
    }
  }

  // 3. Apply: each device and each rule is visited once, matched on its ORIGINAL numbers.
  auto* linux = spec.mutable_linux();
  for (size_t k = 0; k < updates.size(); ++k) {
    const DeviceUpdate& u = updates[k];
    oci::LinuxDevice* d = linux->mutable_devices(device_of_update[k]);
    d->set_major(u.major);
    d->set_minor(u.minor);
    if (u.final_path) d->set_path(*u.final_path);
  }
  if (linux->has_resources() && !guest_of_host.empty()) {
    for (oci::LinuxDeviceCgroup& rule : *linux->mutable_resources()->mutable_devices()) {
      if (!rule.has_major() || !rule.has_minor()) continue;  // wildcards name no one device
      if (rule.type() != "b" && rule.type() != "c") continue;
      const auto g = guest_of_host.Find(rule.type().front(), rule.major(), rule.minor());
      if (!g) continue;
      rule.set_major(g->first);
      rule.set_minor(g->second);
    }
  }
  // 4. The agent's own rules are guest-numbered already: after the batch, never before.
  for (const auto& r : agent_rules) *linux->mutable_resources()->add_devices() = r;
  return absl::OkStatus();
}

}  // namespace kata::guest
