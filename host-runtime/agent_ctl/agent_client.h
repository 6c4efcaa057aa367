#pragma once

// kata-agent-ctl's side of the wire: connect to an agent and call any grpc.AgentService or
// grpc.Health method by name (libkata/agent_api's list).

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "libkata/ttrpc/client.h"

namespace kata::agentctl {

// "unix://PATH" (or "unix:PATH"), "vsock://CID:PORT", "serial://PATH" (the host end of a
// virtio-serial port, a unix socket that carries the agent's stream).
absl::StatusOr<std::shared_ptr<ttrpc::Client>> Connect(const std::string& address);

class AgentClient {
 public:
  explicit AgentClient(std::shared_ptr<ttrpc::Client> client) : client_(std::move(client)) {}

  // Every method's name, in agent.proto's order, then Health's.
  static std::vector<std::string> Commands();
  // A fresh request message for `command`; NotFound for an unknown command.
  static absl::StatusOr<std::unique_ptr<google::protobuf::Message>> NewRequest(const std::string& command);
  // Calls `command`; the reply, or the agent's error as a Status of the same code.
  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> Call(const std::string& command,
                                                                 const google::protobuf::Message& request,
                                                                 absl::Duration timeout);

 private:
  std::shared_ptr<ttrpc::Client> client_;
};

}  // namespace kata::agentctl
