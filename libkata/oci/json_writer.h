#pragma once

#include <string>

#include "google/protobuf/message.h"

namespace kata::oci {

// Writes a message as JSON with the fields' json_name keys, the way OCI tools expect it:
// 64-bit integers as JSON numbers (protobuf's own printer quotes them, which Go's
// encoding/json rejects), only fields that are set, map keys sorted for stable output.
std::string MessageToOciJson(const google::protobuf::Message& message, bool pretty);

}  // namespace kata::oci
