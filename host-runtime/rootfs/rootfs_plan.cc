#include "host-runtime/rootfs/rootfs_plan.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "host-runtime/rootfs/erofs_layers_mount.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"
#include "libkata/mount/options.h"

namespace kata::runtime {
namespace {

using nlohmann::json;

std::string Lower(std::string s) {
  absl::AsciiStrToLower(&s);
  return s;
}

bool Has(const std::vector<std::string>& options, std::string_view o) {
  return std::find(options.begin(), options.end(), o) != options.end();
}

std::vector<std::string> Without(const std::vector<std::string>& options, bool drop_device_and_kata) {
  std::vector<std::string> out;
  for (const std::string& o : options) {
    if (o == "loop") continue;
    if (drop_device_and_kata && (o.starts_with("device=") || o.starts_with("X-kata."))) continue;
    out.push_back(o);
  }
  return out;
}

bool IsOverlayType(const std::string& type) {
  return type == "overlay" || type == "format/overlay" || type == "format/mkdir/overlay";
}

// "{{ mount 3 }}" -> 3.
std::optional<size_t> MountReference(std::string_view s) {
  constexpr std::string_view kOpen = "{{ mount ", kClose = " }}";
  if (!s.starts_with(kOpen) || !s.ends_with(kClose)) return std::nullopt;
  size_t n = 0;
  if (!absl::SimpleAtoi(ToAbsl(s.substr(kOpen.size(), s.size() - kOpen.size() - kClose.size())), &n)) return std::nullopt;
  return n;
}

absl::StatusOr<MultiLayerErofsRootfs> PlanMultiLayer(const std::vector<RootfsMount>& mounts) {
  MultiLayerErofsRootfs plan;
  std::vector<size_t> uppers, erofs, read_only_ext4;
  std::optional<size_t> overlay;
  for (size_t i = 0; i < mounts.size(); ++i) {
    const std::string type = Lower(mounts[i].type);
    if (type == "ext4") {
      (Has(mounts[i].options, "rw") ? uppers : read_only_ext4).push_back(i);
    } else if (type == "erofs") {
      erofs.push_back(i);
    } else if (IsOverlayType(type)) {
      if (overlay) return absl::InvalidArgumentError("multi-layer EROFS rootfs: more than one overlay mount");
      overlay = i;
    } else {
      return absl::InvalidArgumentError(StrCat("multi-layer EROFS rootfs: mount ", i, " has type \"", mounts[i].type,
                                               "\" (want a writable ext4, EROFS and one overlay)"));
    }
  }
  if (uppers.size() != 1) {
    return absl::InvalidArgumentError(StrCat("multi-layer EROFS rootfs needs exactly one ext4 mount with \"rw\", found ",
                                             uppers.size()));
  }
  if (!read_only_ext4.empty()) {
    return absl::InvalidArgumentError(StrCat("multi-layer EROFS rootfs: ext4 mount ", read_only_ext4[0],
                                             " is not the writable layer (no \"rw\"); lower layers are EROFS"));
  }
  const RootfsMount& upper = mounts[uppers[0]];
  if (upper.source.empty()) return absl::InvalidArgumentError("multi-layer EROFS rootfs: the ext4 mount has no source");
  plan.upper_source = upper.source;
  plan.upper_options = Without(upper.options, false);

  // Lower order: overlay's lowerdir (topmost first) when it names the mounts, else mount order.
  std::vector<size_t> order = erofs;
  if (overlay) {
    for (const std::string& o : mounts[*overlay].options) {
      if (auto spec = mount::FindOptionValue({o}, "X-containerd.mkdir.path")) plan.mkdir_directives.push_back(*spec);
    }
    if (auto lowerdir = mount::FindOptionValue(mounts[*overlay].options, "lowerdir")) {
      order.clear();
      size_t start = 0;
      while (start <= lowerdir->size()) {
        const size_t colon = std::min(lowerdir->find(':', start), lowerdir->size());
        const std::string entry = lowerdir->substr(start, colon - start);
        auto ref = MountReference(entry);
        if (!ref || *ref >= mounts.size() || Lower(mounts[*ref].type) != "erofs") {
          return absl::InvalidArgumentError(StrCat("multi-layer EROFS rootfs: lowerdir entry \"", entry,
                                                   "\" does not name an EROFS mount"));
        }
        order.push_back(*ref);
        start = colon + 1;
      }
      for (size_t e : erofs) {
        if (std::find(order.begin(), order.end(), e) == order.end()) {
          return absl::InvalidArgumentError(StrCat("multi-layer EROFS rootfs: EROFS mount ", e, " is not in lowerdir"));
        }
      }
    }
  }
  for (size_t i : order) {
    const RootfsMount& m = mounts[i];
    if (m.source.empty()) return absl::InvalidArgumentError(StrCat("multi-layer EROFS rootfs: EROFS mount ", i, " has no source"));
    ErofsLower lower;
    lower.blobs.push_back(m.source);
    for (const std::string& blob : mount::FindAllOptionValues(m.options, "device")) lower.blobs.push_back(blob);
    if (Has(m.options, "device=")) {
      return absl::InvalidArgumentError(StrCat("multi-layer EROFS rootfs: EROFS mount ", i, " has an empty device= option"));
    }
    lower.options = Without(m.options, true);
    plan.lowers.push_back(std::move(lower));
  }
  if (1 + plan.lowers.size() > kMaxRootfsDevices) {
    return absl::InvalidArgumentError(StrCat("multi-layer EROFS rootfs needs ", 1 + plan.lowers.size(),
                                             " devices; at most ", kMaxRootfsDevices, " are allowed"));
  }
  return plan;
}

absl::Status CheckFile(const std::string& what, const std::string& path, bool block_device_ok) {
  struct stat st;
  if (path.empty() || path.front() != '/') return absl::InvalidArgumentError(StrCat(what, " \"", path, "\" is not an absolute path"));
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, StrCat(what, " ", path));
  if (S_ISREG(st.st_mode) || (block_device_ok && S_ISBLK(st.st_mode))) return absl::OkStatus();
  return absl::InvalidArgumentError(StrCat(what, " ", path, " is not a regular file", block_device_ok ? " or a block device" : ""));
}

agent::Storage BlkStorage(const std::string& source, const std::string& fstype, const std::vector<std::string>& options,
                          const std::string& mount_point) {
  agent::Storage s;
  s.set_driver("blk");
  s.set_source(source);
  s.set_fstype(fstype);
  s.set_mount_point(mount_point);
  for (const std::string& o : options) s.add_options(o);
  return s;
}

// kata-erofs-snapshotter's one mount: the same layout as containerd 2.2's list, its files
// named in the options (the snapshot's ext4 image already holds upper/ and work/).
absl::StatusOr<RootfsPlan> PlanErofsLayers(const RootfsMount& m) {
  auto parsed = ParseErofsLayersMount(m);
  if (!parsed.ok()) return parsed.status();
  if (parsed->upper_image.empty() || parsed->layers.empty()) {
    return absl::UnimplementedError(StrCat(kErofsLayersMountType, " rootfs needs upper= and at least one layer= (",
                                           parsed->upper_image.empty() ? "a read-only view" : "a snapshot without parents",
                                           " cannot be a VM container's rootfs)"));
  }
  MultiLayerErofsRootfs plan;
  plan.upper_source = parsed->upper_image;
  // The image is fresh and sparse: its inode tables read as zeros already, so the guest's
  // background zeroing of them (ext4lazyinit) would only take CPU from the container.
  plan.upper_options = {"rw", "noinit_itable"};
  for (const std::string& layer : parsed->layers) plan.lowers.push_back(ErofsLower{{layer}, {"ro"}});
  if (1 + plan.lowers.size() > kMaxRootfsDevices) {
    return absl::InvalidArgumentError(StrCat(kErofsLayersMountType, " rootfs of ", plan.lowers.size(),
                                             " layers needs ", 1 + plan.lowers.size(), " devices; at most ",
                                             kMaxRootfsDevices, " are allowed"));
  }
  return RootfsPlan(std::move(plan));
}

}  // namespace

absl::StatusOr<std::vector<RootfsMount>> ParseRootfsMountsJson(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_array()) return absl::InvalidArgumentError("rootfs mounts: want a JSON array of mounts");
  std::vector<RootfsMount> mounts;
  for (size_t i = 0; i < doc.size(); ++i) {
    const json& m = doc[i];
    if (!m.is_object()) return absl::InvalidArgumentError(StrCat("rootfs mounts[", i, "]: not an object"));
    RootfsMount out;
    for (auto [key, field] : {std::pair<const char*, std::string*>{"type", &out.type}, {"source", &out.source}, {"target", &out.target}}) {
      if (!m.contains(key)) continue;
      if (!m[key].is_string()) return absl::InvalidArgumentError(StrCat("rootfs mounts[", i, "].", key, ": not a string"));
      *field = m[key].get<std::string>();
    }
    if (m.contains("options")) {
      if (!m["options"].is_array()) return absl::InvalidArgumentError(StrCat("rootfs mounts[", i, "].options: not an array"));
      for (const json& o : m["options"]) {
        if (!o.is_string()) return absl::InvalidArgumentError(StrCat("rootfs mounts[", i, "].options: not all strings"));
        out.options.push_back(o.get<std::string>());
      }
    }
    if (out.type.empty()) return absl::InvalidArgumentError(StrCat("rootfs mounts[", i, "].type: required"));
    mounts.push_back(std::move(out));
  }
  return mounts;
}

absl::StatusOr<RootfsPlan> ClassifyRootfs(const std::vector<RootfsMount>& mounts) {
  if (mounts.size() == 1 && IsErofsLayersMount(mounts[0])) return PlanErofsLayers(mounts[0]);
  const bool any_erofs = std::any_of(mounts.begin(), mounts.end(), [](const RootfsMount& m) { return Lower(m.type) == "erofs"; });
  if (mounts.size() >= 2 && any_erofs) {
    auto plan = PlanMultiLayer(mounts);
    if (!plan.ok()) return plan.status();
    return RootfsPlan(std::move(*plan));
  }
  if (mounts.size() == 1) {
    const std::string type = Lower(mounts[0].type);
    const bool bind = type == "bind" || Has(mounts[0].options, "bind") || Has(mounts[0].options, "rbind");
    if (type == "overlay" || bind) {
      if (mounts[0].source.empty()) return absl::InvalidArgumentError(StrCat(type, " rootfs: the mount has no source"));
      for (const std::string& o : mounts[0].options) {
        if (o.find("{{") != std::string::npos) {
          return absl::InvalidArgumentError(StrCat("shared rootfs: option \"", o, "\" names another mount"));
        }
      }
      return RootfsPlan(SharedRootfs{mounts[0]});
    }
    if (type == "ext4" || type == "xfs" || type == "erofs") {
      if (mounts[0].source.empty()) return absl::InvalidArgumentError("block rootfs: the mount has no source");
      BlockRootfs b{mounts[0].source, type, Without(mounts[0].options, false), Has(mounts[0].options, "ro") || type == "erofs"};
      return RootfsPlan(std::move(b));
    }
  }
  return absl::UnimplementedError(
      mounts.empty() ? "no rootfs mounts: hand a rootfs directory over as a bind mount"
                     : StrCat("a rootfs of ", mounts.size(), " mount(s) starting with type \"", mounts[0].type,
                              "\" is none of multi-layer EROFS, a block image, an overlay or a bind mount"));
}

absl::Status CheckRootfsFiles(const RootfsPlan& plan) {
  if (const auto* block = std::get_if<BlockRootfs>(&plan)) return CheckFile("rootfs image", block->source, true);
  if (std::holds_alternative<SharedRootfs>(plan)) return absl::OkStatus();  // mount(2) names what is missing
  const auto& ml = std::get<MultiLayerErofsRootfs>(plan);
  if (absl::Status s = CheckFile("writable layer", ml.upper_source, true); !s.ok()) return s;
  for (const ErofsLower& lower : ml.lowers) {
    for (const std::string& blob : lower.blobs) {
      if (absl::Status s = CheckFile("EROFS blob", blob, false); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<agent::Storage>> RootfsStorages(const RootfsPlan& plan, const std::vector<std::string>& sources,
                                                           const std::string& guest_rootfs) {
  if (std::holds_alternative<SharedRootfs>(plan)) {
    if (!sources.empty()) return absl::InvalidArgumentError("a shared rootfs has no devices");
    return std::vector<agent::Storage>{};
  }
  if (const auto* block = std::get_if<BlockRootfs>(&plan)) {
    if (sources.size() != 1) return absl::InvalidArgumentError("a block rootfs has one device");
    return std::vector<agent::Storage>{BlkStorage(sources[0], block->fstype, block->options, guest_rootfs)};
  }
  const auto& ml = std::get<MultiLayerErofsRootfs>(plan);
  if (sources.size() != 1 + ml.lowers.size()) {
    return absl::InvalidArgumentError(StrCat("multi-layer rootfs: ", sources.size(), " device sources for ", 1 + ml.lowers.size(), " devices"));
  }
  std::vector<agent::Storage> out;
  std::vector<std::string> upper = ml.upper_options;
  upper.push_back("X-kata.overlay-upper");
  upper.push_back("X-kata.multi-layer=true");
  for (const std::string& spec : ml.mkdir_directives) upper.push_back(StrCat("X-kata.mkdir.path=", spec));
  out.push_back(BlkStorage(sources[0], "ext4", upper, guest_rootfs));
  for (size_t i = 0; i < ml.lowers.size(); ++i) {
    std::vector<std::string> options = ml.lowers[i].options;
    options.push_back("X-kata.overlay-lower");
    options.push_back("X-kata.multi-layer=true");
    out.push_back(BlkStorage(sources[1 + i], "erofs", options, guest_rootfs));
  }
  return out;
}

RootfsMount BundleRootfsMount(const std::string& bundle, const std::string& root_path) {
  const std::string root = root_path.starts_with("/") ? root_path : bundle + "/" + root_path;
  return {"bind", root, "", {"rbind", "rw"}};
}

}  // namespace kata::runtime
