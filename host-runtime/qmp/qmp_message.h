#pragma once

// QMP's wire messages (one JSON object per line): what QEMU sends, classified. Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace kata::runtime {

struct QmpGreeting {
  nlohmann::json version;  // {"qemu": {"major": 7, ...}, "package": ...}
};

struct QmpReply {
  std::optional<uint64_t> id;           // ours, echoed; absent for an id-less command
  std::optional<nlohmann::json> value;  // "return"
  std::string error_class;              // "error".class, when it failed
  std::string error_desc;
  bool ok() const { return value.has_value(); }
};

struct QmpEvent {
  std::string name;
  nlohmann::json data;  // {} when the event has none
  double timestamp = 0;
};

using QmpMessage = std::variant<QmpGreeting, QmpReply, QmpEvent>;

// InvalidArgument for text that is not JSON, not an object, or none of the three shapes.
absl::StatusOr<QmpMessage> ParseQmpMessage(std::string_view line);

// {"execute": command, "arguments": arguments (when not null/empty), "id": id} + "\n".
std::string SerializeQmpCommand(std::string_view command, const nlohmann::json& arguments, uint64_t id);

// The absl::Status for a QMP error: DeviceNotFound -> NotFound, CommandNotFound ->
// Unimplemented, anything else -> FailedPrecondition; the message names command, class, desc.
absl::Status QmpErrorStatus(std::string_view command, const QmpReply& reply);

}  // namespace kata::runtime
