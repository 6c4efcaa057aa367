#include "guest-agent/storage/virtio_9p_handler.h"

#include <algorithm>
#include <cctype>

#include "guest-agent/storage/mount_steps.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {

absl::Status Virtio9pStorageHandler::Validate(const agent::Storage& storage) const {
  const std::string& tag = storage.source();
  // QEMU's mount_tag: at most 31 bytes; keep to the characters a tag is made of.
  if (tag.empty() || tag.size() > 31 ||
      !std::all_of(tag.begin(), tag.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; })) {
    return absl::InvalidArgumentError(StrCat("9p storage for ", storage.mount_point(), ": mount tag \"", tag, "\" is not valid"));
  }
  return absl::OkStatus();
}

absl::Status Virtio9pStorageHandler::Add(const agent::Storage& storage, StorageContext& ctx) {
  std::vector<std::string> options = OptionsOf(storage);
  if (std::none_of(options.begin(), options.end(), [](const std::string& o) { return o.starts_with("trans="); })) {
    options.push_back("trans=virtio");
  }
  return MountOnNewTarget(storage.source(), storage.mount_point(), "9p", options, 0, ctx);
}

}  // namespace kata::guest
