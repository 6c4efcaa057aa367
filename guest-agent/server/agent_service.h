#pragma once

// The agent API's face of the sandbox: every method of grpc.AgentService and grpc.Health
// (libkata/agent_api), each a call into Sandbox whose absl::Status goes back with its code.

#include <string>
#include <vector>

#include "guest-agent/network/guest_network.h"
#include "guest-agent/sandbox/sandbox.h"
#include "libkata/agent_api/agent_api.h"
#include "libkata/ttrpc/server.h"

namespace kata::guest {

class AgentServiceImpl {
 public:
  AgentServiceImpl(Sandbox& sandbox, GuestNetwork& network, std::vector<std::string> storage_handlers,
                   std::vector<std::string> device_handlers)
      : sandbox_(sandbox), network_(network), storage_handlers_(std::move(storage_handlers)),
        device_handlers_(std::move(device_handlers)) {}

  // One method per entry of KATA_AGENT_API_METHODS, with its types.
#define KATA_AGENT_SERVICE_DECLARE(service, method, Req, Resp) \
  absl::Status method(const Req& request, Resp* response, const ttrpc::CallContext& context);
  KATA_AGENT_API_METHODS(KATA_AGENT_SERVICE_DECLARE)
#undef KATA_AGENT_SERVICE_DECLARE

 private:
  Sandbox& sandbox_;
  GuestNetwork& network_;
  const std::vector<std::string> storage_handlers_;
  const std::vector<std::string> device_handlers_;
};

// Registers every method of the list on `server`, served by `service`.
void RegisterAgentApi(ttrpc::Server& server, AgentServiceImpl& service);

}  // namespace kata::guest
