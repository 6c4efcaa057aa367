#pragma once

// The gRPC face of the sandbox: AgentService and Health, each RPC a call into Sandbox with
// its absl::Status mapped onto the gRPC status of the same code.

#include <string>
#include <vector>

#include "guest-agent/sandbox/sandbox.h"
#include "protocols/agent.grpc.pb.h"
#include "protocols/health.grpc.pb.h"

namespace kata::guest {

class AgentServiceImpl final : public agent::AgentService::Service {
 public:
  AgentServiceImpl(Sandbox& sandbox, std::vector<std::string> storage_handlers, std::vector<std::string> device_handlers)
      : sandbox_(sandbox), storage_handlers_(std::move(storage_handlers)), device_handlers_(std::move(device_handlers)) {}

  grpc::Status CreateSandbox(grpc::ServerContext*, const agent::CreateSandboxRequest*, google::protobuf::Empty*) override;
  grpc::Status DestroySandbox(grpc::ServerContext*, const agent::DestroySandboxRequest*, google::protobuf::Empty*) override;
  grpc::Status CreateContainer(grpc::ServerContext*, const agent::CreateContainerRequest*, google::protobuf::Empty*) override;
  grpc::Status StartContainer(grpc::ServerContext*, const agent::StartContainerRequest*, google::protobuf::Empty*) override;
  grpc::Status RemoveContainer(grpc::ServerContext*, const agent::RemoveContainerRequest*, google::protobuf::Empty*) override;
  grpc::Status ExecProcess(grpc::ServerContext*, const agent::ExecProcessRequest*, google::protobuf::Empty*) override;
  grpc::Status WaitProcess(grpc::ServerContext*, const agent::WaitProcessRequest*, agent::WaitProcessResponse*) override;
  grpc::Status SignalProcess(grpc::ServerContext*, const agent::SignalProcessRequest*, google::protobuf::Empty*) override;
  grpc::Status WriteStdin(grpc::ServerContext*, const agent::WriteStreamRequest*, agent::WriteStreamResponse*) override;
  grpc::Status ReadStdout(grpc::ServerContext*, const agent::ReadStreamRequest*, agent::ReadStreamResponse*) override;
  grpc::Status ReadStderr(grpc::ServerContext*, const agent::ReadStreamRequest*, agent::ReadStreamResponse*) override;
  grpc::Status CloseStdin(grpc::ServerContext*, const agent::CloseStdinRequest*, google::protobuf::Empty*) override;
  grpc::Status PauseContainer(grpc::ServerContext*, const agent::PauseContainerRequest*, google::protobuf::Empty*) override;
  grpc::Status ResumeContainer(grpc::ServerContext*, const agent::ResumeContainerRequest*, google::protobuf::Empty*) override;
  grpc::Status TtyWinResize(grpc::ServerContext*, const agent::TtyWinResizeRequest*, google::protobuf::Empty*) override;
  grpc::Status UpdateContainer(grpc::ServerContext*, const agent::UpdateContainerRequest*, google::protobuf::Empty*) override;
  grpc::Status StatsContainer(grpc::ServerContext*, const agent::StatsContainerRequest*,
                              agent::StatsContainerResponse*) override;
  grpc::Status GetGuestDetails(grpc::ServerContext*, const agent::GuestDetailsRequest*, agent::GuestDetailsResponse*) override;
  grpc::Status GetMetrics(grpc::ServerContext*, const agent::GetMetricsRequest*, agent::Metrics*) override;

 private:
  Sandbox& sandbox_;
  const std::vector<std::string> storage_handlers_;
  const std::vector<std::string> device_handlers_;
};

class HealthServiceImpl final : public agent::Health::Service {
 public:
  grpc::Status Check(grpc::ServerContext*, const agent::CheckRequest*, agent::HealthCheckResponse*) override;
  grpc::Status Version(grpc::ServerContext*, const agent::CheckRequest*, agent::VersionCheckResponse*) override;
};

grpc::Status ToGrpc(const absl::Status& s);

}  // namespace kata::guest
