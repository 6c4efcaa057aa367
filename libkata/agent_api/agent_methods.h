#pragma once

// The agent API's methods by name, with full-runtime message prototypes: for callers that
// build requests from their descriptors (kata-agent-ctl) and for the test that holds the list
// to the .proto files. Host side only; the guest's agent links protobuf-lite messages.

#include <string_view>
#include <vector>

#include "google/protobuf/message.h"
#include "libkata/agent_api/agent_api.h"

namespace kata::agent_api {

// One method of the list, for callers that go by name (kata-agent-ctl).
struct MethodInfo {
  std::string_view service;  // kAgentService or kHealthService
  std::string_view method;
  const google::protobuf::Message* request_prototype;
  const google::protobuf::Message* response_prototype;
};

// Every method of the list, in its order.
const std::vector<MethodInfo>& Methods();
// The method named `method` (in either service), or nullptr.
const MethodInfo* FindMethod(std::string_view method);

}  // namespace kata::agent_api
