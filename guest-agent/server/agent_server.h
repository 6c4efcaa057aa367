#pragma once

#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "guest-agent/server/listener.h"
#include "libkata/ttrpc/server.h"

namespace kata::guest {

// The agent's ttrpc server with no socket of its own: every connection the listener accepts
// (unix, vsock, a virtio-serial session) is handed to it, so each transport serves the same
// methods.
class AgentServer {
 public:
  // `server` has its methods registered; it is served from now on.
  static absl::StatusOr<std::unique_ptr<AgentServer>> Start(std::unique_ptr<ttrpc::Server> server,
                                                            std::unique_ptr<Listener> listener);
  ~AgentServer();
  // Stops accepting, cancels the calls still running, waits for their handlers.
  void Shutdown();

 private:
  AgentServer(std::unique_ptr<ttrpc::Server> server, std::unique_ptr<Listener> listener);
  void AcceptLoop();

  std::unique_ptr<ttrpc::Server> server_;
  std::unique_ptr<Listener> listener_;
  std::thread acceptor_;
  bool shut_down_ = false;
};

}  // namespace kata::guest
