#include "guest-agent/server/agent_server.h"

#include "libkata/log/log.h"

namespace kata::guest {
namespace {
const log::Subsystem kLog("server");
}

absl::StatusOr<std::unique_ptr<AgentServer>> AgentServer::Start(std::unique_ptr<ttrpc::Server> server,
                                                                std::unique_ptr<Listener> listener) {
  std::unique_ptr<AgentServer> s(new AgentServer(std::move(server), std::move(listener)));
  s->acceptor_ = std::thread([raw = s.get()] { raw->AcceptLoop(); });
  kLog.Info("serving", {{"listener", s->listener_->Describe()}});
  return s;
}

AgentServer::AgentServer(std::unique_ptr<ttrpc::Server> server, std::unique_ptr<Listener> listener)
    : server_(std::move(server)), listener_(std::move(listener)) {}

AgentServer::~AgentServer() { Shutdown(); }

void AgentServer::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  listener_->Shutdown();
  if (acceptor_.joinable()) acceptor_.join();
  server_->Shutdown();
}

void AgentServer::AcceptLoop() {
  for (;;) {
    auto conn = listener_->Accept();
    if (!conn.ok()) {
      if (!absl::IsCancelled(conn.status())) kLog.Error("accept failed", {{"error", std::string(conn.status().message())}});
      return;
    }
    server_->Serve(std::move(*conn));
  }
}

}  // namespace kata::guest
