#include "host-runtime/rootfs/erofs_layers_mount.h"

#include "libkata/base/str_cat.h"

namespace kata::runtime {
namespace {

constexpr std::string_view kUpper = "upper=", kLayer = "layer=";

absl::Status CheckPath(std::string_view option, std::string_view path) {
  if (path.empty() || path.front() != '/' || path.find_first_of(",:") != std::string_view::npos ||
      path.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError(StrCat(kErofsLayersMountType, " option \"", option,
                                             "\": want an absolute path without ',' or ':'"));
  }
  return absl::OkStatus();
}

}  // namespace

RootfsMount ToRootfsMount(const ErofsLayersMount& m) {
  RootfsMount out{kErofsLayersMountType, "kata-erofs", "", {}};
  if (!m.upper_image.empty()) out.options.push_back(StrCat(kUpper, m.upper_image));
  for (const std::string& layer : m.layers) out.options.push_back(StrCat(kLayer, layer));
  for (const std::string& o : m.other_options) out.options.push_back(o);
  return out;
}

bool IsErofsLayersMount(const RootfsMount& m) { return m.type == kErofsLayersMountType; }

absl::StatusOr<ErofsLayersMount> ParseErofsLayersMount(const RootfsMount& m) {
  if (!IsErofsLayersMount(m)) {
    return absl::InvalidArgumentError(StrCat("mount type \"", m.type, "\" is not ", kErofsLayersMountType));
  }
  ErofsLayersMount out;
  for (const std::string& o : m.options) {
    const std::string_view option(o);
    if (option.find(',') != std::string_view::npos) {
      return absl::InvalidArgumentError(StrCat(kErofsLayersMountType, " option \"", option, "\" holds a comma"));
    }
    if (option.starts_with(kUpper)) {
      if (!out.upper_image.empty()) return absl::InvalidArgumentError(StrCat(kErofsLayersMountType, ": two upper= options"));
      if (absl::Status s = CheckPath(option, option.substr(kUpper.size())); !s.ok()) return s;
      out.upper_image = std::string(option.substr(kUpper.size()));
    } else if (option.starts_with(kLayer)) {
      if (absl::Status s = CheckPath(option, option.substr(kLayer.size())); !s.ok()) return s;
      out.layers.emplace_back(option.substr(kLayer.size()));
    } else if (!option.empty()) {
      out.other_options.push_back(o);
    }
  }
  if (out.upper_image.empty() && out.layers.empty()) {
    return absl::InvalidArgumentError(StrCat(kErofsLayersMountType, ": no upper= and no layer= option"));
  }
  return out;
}

}  // namespace kata::runtime
