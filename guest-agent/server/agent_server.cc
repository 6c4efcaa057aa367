#include "guest-agent/server/agent_server.h"

#include <grpcpp/server_posix.h>

#include "libkata/log/log.h"

namespace kata::guest {
namespace {
const log::Subsystem kLog("server");
}

absl::StatusOr<std::unique_ptr<AgentServer>> AgentServer::Start(const std::vector<grpc::Service*>& services,
                                                                std::unique_ptr<Listener> listener) {
  grpc::ServerBuilder builder;
  for (grpc::Service* s : services) builder.RegisterService(s);
  builder.SetMaxReceiveMessageSize(16 << 20);  // a CreateContainer with a large spec
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return absl::InternalError("gRPC server failed to start");
  std::unique_ptr<AgentServer> s(new AgentServer(std::move(server), std::move(listener)));
  s->acceptor_ = std::thread([raw = s.get()] { raw->AcceptLoop(); });
  kLog.Info("serving", {{"listener", s->listener_->Describe()}});
  return s;
}

AgentServer::AgentServer(std::unique_ptr<grpc::Server> server, std::unique_ptr<Listener> listener)
    : server_(std::move(server)), listener_(std::move(listener)) {}

AgentServer::~AgentServer() { Shutdown(); }

void AgentServer::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  listener_->Shutdown();
  if (acceptor_.joinable()) acceptor_.join();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

void AgentServer::AcceptLoop() {
  for (;;) {
    auto conn = listener_->Accept();
    if (!conn.ok()) {
      if (!absl::IsCancelled(conn.status())) kLog.Error("accept failed", {{"error", std::string(conn.status().message())}});
      return;
    }
    grpc::AddInsecureChannelFromFd(server_.get(), conn->release());
  }
}

}  // namespace kata::guest
