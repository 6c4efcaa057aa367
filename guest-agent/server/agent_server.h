#pragma once

#include <memory>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "guest-agent/server/listener.h"

namespace kata::guest {

// A gRPC server with no ports of its own: every connection the listener accepts is handed
// to it with AddInsecureChannelFromFd, so any stream socket (unix, vsock, a virtio-serial
// bridge) serves the same services.
class AgentServer {
 public:
  static absl::StatusOr<std::unique_ptr<AgentServer>> Start(const std::vector<grpc::Service*>& services,
                                                            std::unique_ptr<Listener> listener);
  ~AgentServer();
  void Shutdown();

 private:
  AgentServer(std::unique_ptr<grpc::Server> server, std::unique_ptr<Listener> listener);
  void AcceptLoop();

  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Listener> listener_;
  std::thread acceptor_;
  bool shut_down_ = false;
};

}  // namespace kata::guest
