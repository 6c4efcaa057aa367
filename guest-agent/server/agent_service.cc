#include "guest-agent/server/agent_service.h"

#include <grpcpp/grpcpp.h>

#include "guest-agent/sandbox/agent_metrics.h"
#include "kata_version.h"
#include "libkata/log/log.h"

namespace kata::guest {
namespace {

const log::Subsystem kLog("rpc");

// Logs failures at info with the RPC's name; requests themselves (specs) are never logged.
grpc::Status Answer(std::string_view rpc, const absl::Status& s) {
  if (!s.ok()) kLog.Info("rpc failed", {{"rpc", rpc}, {"code", absl::StatusCodeToString(s.code())}, {"error", std::string(s.message())}});
  return ToGrpc(s);
}

}  // namespace

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

grpc::Status AgentServiceImpl::CreateSandbox(grpc::ServerContext*, const agent::CreateSandboxRequest* req,
                                             google::protobuf::Empty*) {
  return Answer("CreateSandbox", sandbox_.CreateSandbox(*req));
}

grpc::Status AgentServiceImpl::DestroySandbox(grpc::ServerContext*, const agent::DestroySandboxRequest*,
                                              google::protobuf::Empty*) {
  return Answer("DestroySandbox", sandbox_.DestroySandbox());
}

grpc::Status AgentServiceImpl::CreateContainer(grpc::ServerContext*, const agent::CreateContainerRequest* req,
                                               google::protobuf::Empty*) {
  return Answer("CreateContainer", sandbox_.CreateContainer(*req));
}

grpc::Status AgentServiceImpl::StartContainer(grpc::ServerContext*, const agent::StartContainerRequest* req,
                                              google::protobuf::Empty*) {
  return Answer("StartContainer", sandbox_.StartContainer(req->container_id()));
}

grpc::Status AgentServiceImpl::RemoveContainer(grpc::ServerContext*, const agent::RemoveContainerRequest* req,
                                               google::protobuf::Empty*) {
  return Answer("RemoveContainer", sandbox_.RemoveContainer(req->container_id(), absl::Seconds(req->timeout())));
}

grpc::Status AgentServiceImpl::ExecProcess(grpc::ServerContext*, const agent::ExecProcessRequest* req,
                                           google::protobuf::Empty*) {
  return Answer("ExecProcess", sandbox_.ExecProcess(*req));
}

grpc::Status AgentServiceImpl::WaitProcess(grpc::ServerContext*, const agent::WaitProcessRequest* req,
                                           agent::WaitProcessResponse* resp) {
  auto status = sandbox_.WaitProcess(req->container_id(), req->exec_id());
  if (status.ok()) resp->set_status(*status);
  return Answer("WaitProcess", status.status());
}

grpc::Status AgentServiceImpl::SignalProcess(grpc::ServerContext*, const agent::SignalProcessRequest* req,
                                             google::protobuf::Empty*) {
  return Answer("SignalProcess", sandbox_.SignalProcess(req->container_id(), req->exec_id(), req->signal()));
}

grpc::Status AgentServiceImpl::WriteStdin(grpc::ServerContext*, const agent::WriteStreamRequest* req,
                                          agent::WriteStreamResponse* resp) {
  auto n = sandbox_.WriteStdin(req->container_id(), req->exec_id(), req->data());
  if (n.ok()) resp->set_len(static_cast<uint32_t>(*n));
  return Answer("WriteStdin", n.status());
}

grpc::Status AgentServiceImpl::ReadStdout(grpc::ServerContext* ctx, const agent::ReadStreamRequest* req,
                                          agent::ReadStreamResponse* resp) {
  auto data = sandbox_.ReadStdout(req->container_id(), req->exec_id(), req->len(), [ctx] { return ctx->IsCancelled(); });
  if (data.ok()) resp->set_data(std::move(*data));
  return data.status().code() == absl::StatusCode::kOutOfRange ? ToGrpc(data.status()) : Answer("ReadStdout", data.status());
}

grpc::Status AgentServiceImpl::ReadStderr(grpc::ServerContext* ctx, const agent::ReadStreamRequest* req,
                                          agent::ReadStreamResponse* resp) {
  auto data = sandbox_.ReadStderr(req->container_id(), req->exec_id(), req->len(), [ctx] { return ctx->IsCancelled(); });
  if (data.ok()) resp->set_data(std::move(*data));
  return data.status().code() == absl::StatusCode::kOutOfRange ? ToGrpc(data.status()) : Answer("ReadStderr", data.status());
}

grpc::Status AgentServiceImpl::CloseStdin(grpc::ServerContext*, const agent::CloseStdinRequest* req,
                                          google::protobuf::Empty*) {
  return Answer("CloseStdin", sandbox_.CloseStdin(req->container_id(), req->exec_id()));
}

grpc::Status AgentServiceImpl::PauseContainer(grpc::ServerContext*, const agent::PauseContainerRequest* req,
                                              google::protobuf::Empty*) {
  return Answer("PauseContainer", sandbox_.PauseContainer(req->container_id(), true));
}

grpc::Status AgentServiceImpl::ResumeContainer(grpc::ServerContext*, const agent::ResumeContainerRequest* req,
                                               google::protobuf::Empty*) {
  return Answer("ResumeContainer", sandbox_.PauseContainer(req->container_id(), false));
}

grpc::Status AgentServiceImpl::TtyWinResize(grpc::ServerContext*, const agent::TtyWinResizeRequest* req,
                                            google::protobuf::Empty*) {
  return Answer("TtyWinResize", sandbox_.ResizeTerminal(req->container_id(), req->exec_id(), req->row(), req->column()));
}

grpc::Status AgentServiceImpl::UpdateContainer(grpc::ServerContext*, const agent::UpdateContainerRequest* req,
                                               google::protobuf::Empty*) {
  return Answer("UpdateContainer", sandbox_.UpdateContainer(req->container_id(), req->resources()));
}

grpc::Status AgentServiceImpl::StatsContainer(grpc::ServerContext*, const agent::StatsContainerRequest* req,
                                              agent::StatsContainerResponse* resp) {
  auto stats = sandbox_.StatsContainer(req->container_id());
  if (stats.ok()) *resp->mutable_cgroup_stats() = *std::move(stats);
  return Answer("StatsContainer", stats.status());
}

grpc::Status AgentServiceImpl::GetGuestDetails(grpc::ServerContext*, const agent::GuestDetailsRequest* req,
                                               agent::GuestDetailsResponse* resp) {
  *resp = GuestDetails(*req, storage_handlers_, device_handlers_);
  return grpc::Status::OK;
}

grpc::Status AgentServiceImpl::GetMetrics(grpc::ServerContext*, const agent::GetMetricsRequest*, agent::Metrics* resp) {
  AgentProcessStats stats = ReadAgentProcessStats();
  stats.containers = sandbox_.ContainerCount();
  resp->set_metrics(FormatAgentMetrics(stats));
  return grpc::Status::OK;
}

grpc::Status HealthServiceImpl::Check(grpc::ServerContext*, const agent::CheckRequest*, agent::HealthCheckResponse* resp) {
  resp->set_status(agent::HealthCheckResponse::SERVING);
  return grpc::Status::OK;
}

grpc::Status HealthServiceImpl::Version(grpc::ServerContext*, const agent::CheckRequest*,
                                        agent::VersionCheckResponse* resp) {
  resp->set_agent_version(KATA_VERSION);
  resp->set_grpc_version(grpc::Version());
  return grpc::Status::OK;
}

}  // namespace kata::guest
