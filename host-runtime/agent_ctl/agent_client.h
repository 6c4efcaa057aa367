#pragma once

// kata-agent-ctl's side of the wire: connect to an agent and call any AgentService or
// Health RPC by name.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"

namespace kata::agentctl {

// "unix://PATH" (or "unix:PATH"), "vsock://CID:PORT", "serial://PATH" (the host end of a
// virtio-serial port, a unix socket that carries the agent's stream).
absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const std::string& address);

class AgentClient {
 public:
  explicit AgentClient(std::shared_ptr<grpc::Channel> channel);
  ~AgentClient();

  static std::vector<std::string> Commands();
  // A fresh request message for `command`; NotFound for an unknown command.
  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> NewRequest(const std::string& command) const;
  // Calls `command`; the reply, or the gRPC error as a Status of the same code.
  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> Call(const std::string& command,
                                                                 const google::protobuf::Message& request,
                                                                 absl::Duration timeout);

 private:
  struct Stubs;
  std::unique_ptr<Stubs> stubs_;
};

}  // namespace kata::agentctl
