#include "guest-agent/server/agent_service.h"

#include "guest-agent/sandbox/agent_metrics.h"
#include "guest-agent/sandbox/online_cpu_mem.h"
#include "kata_version.h"
#include "libkata/log/log.h"
#include "libkata/ttrpc/unary.h"

namespace kata::guest {
namespace {

const log::Subsystem kLog("rpc");
using google::protobuf::Empty;
using ttrpc::CallContext;

// Logs failures at info with the method's name; requests themselves (specs) are never logged.
absl::Status Answer(std::string_view rpc, const absl::Status& s) {
  if (!s.ok()) kLog.Info("rpc failed", {{"rpc", rpc}, {"code", absl::StatusCodeToString(s.code())}, {"error", std::string(s.message())}});
  return s;
}

}  // namespace

void RegisterAgentApi(ttrpc::Server& server, AgentServiceImpl& service) {
#define KATA_AGENT_SERVICE_REGISTER(service_name, method, Req, Resp)                                          \
  ttrpc::RegisterUnary<Req, Resp>(server, agent_api::service_name, #method,                                   \
                                  [&service](const Req& request, Resp* response, const CallContext& context) { \
                                    return service.method(request, response, context);                         \
                                  });
  KATA_AGENT_API_METHODS(KATA_AGENT_SERVICE_REGISTER)
#undef KATA_AGENT_SERVICE_REGISTER
}

absl::Status AgentServiceImpl::CreateSandbox(const agent::CreateSandboxRequest& req, Empty*, const CallContext&) {
  return Answer("CreateSandbox", sandbox_.CreateSandbox(req));
}

absl::Status AgentServiceImpl::DestroySandbox(const agent::DestroySandboxRequest&, Empty*, const CallContext&) {
  return Answer("DestroySandbox", sandbox_.DestroySandbox());
}

absl::Status AgentServiceImpl::CreateContainer(const agent::CreateContainerRequest& req, Empty*, const CallContext&) {
  return Answer("CreateContainer", sandbox_.CreateContainer(req));
}

absl::Status AgentServiceImpl::StartContainer(const agent::StartContainerRequest& req, Empty*, const CallContext&) {
  return Answer("StartContainer", sandbox_.StartContainer(req.container_id()));
}

absl::Status AgentServiceImpl::RemoveContainer(const agent::RemoveContainerRequest& req, Empty*, const CallContext&) {
  return Answer("RemoveContainer", sandbox_.RemoveContainer(req.container_id(), absl::Seconds(req.timeout())));
}

absl::Status AgentServiceImpl::ExecProcess(const agent::ExecProcessRequest& req, Empty*, const CallContext&) {
  return Answer("ExecProcess", sandbox_.ExecProcess(req));
}

absl::Status AgentServiceImpl::WaitProcess(const agent::WaitProcessRequest& req, agent::WaitProcessResponse* resp,
                                           const CallContext&) {
  auto status = sandbox_.WaitProcess(req.container_id(), req.exec_id());
  if (status.ok()) resp->set_status(*status);
  return Answer("WaitProcess", status.status());
}

absl::Status AgentServiceImpl::SignalProcess(const agent::SignalProcessRequest& req, Empty*, const CallContext&) {
  return Answer("SignalProcess", sandbox_.SignalProcess(req.container_id(), req.exec_id(), req.signal()));
}

absl::Status AgentServiceImpl::WriteStdin(const agent::WriteStreamRequest& req, agent::WriteStreamResponse* resp,
                                          const CallContext&) {
  auto n = sandbox_.WriteStdin(req.container_id(), req.exec_id(), req.data());
  if (n.ok()) resp->set_len(static_cast<uint32_t>(*n));
  return Answer("WriteStdin", n.status());
}

// OutOfRange is the end of the stream, not a failure: not logged.
absl::Status AgentServiceImpl::ReadStdout(const agent::ReadStreamRequest& req, agent::ReadStreamResponse* resp,
                                          const CallContext& context) {
  auto data = sandbox_.ReadStdout(req.container_id(), req.exec_id(), req.len(), [&context] { return context.Cancelled(); });
  if (data.ok()) resp->set_data(std::move(*data));
  return absl::IsOutOfRange(data.status()) ? data.status() : Answer("ReadStdout", data.status());
}

absl::Status AgentServiceImpl::ReadStderr(const agent::ReadStreamRequest& req, agent::ReadStreamResponse* resp,
                                          const CallContext& context) {
  auto data = sandbox_.ReadStderr(req.container_id(), req.exec_id(), req.len(), [&context] { return context.Cancelled(); });
  if (data.ok()) resp->set_data(std::move(*data));
  return absl::IsOutOfRange(data.status()) ? data.status() : Answer("ReadStderr", data.status());
}

absl::Status AgentServiceImpl::CloseStdin(const agent::CloseStdinRequest& req, Empty*, const CallContext&) {
  return Answer("CloseStdin", sandbox_.CloseStdin(req.container_id(), req.exec_id()));
}

absl::Status AgentServiceImpl::PauseContainer(const agent::PauseContainerRequest& req, Empty*, const CallContext&) {
  return Answer("PauseContainer", sandbox_.PauseContainer(req.container_id(), true));
}

absl::Status AgentServiceImpl::ResumeContainer(const agent::ResumeContainerRequest& req, Empty*, const CallContext&) {
  return Answer("ResumeContainer", sandbox_.PauseContainer(req.container_id(), false));
}

absl::Status AgentServiceImpl::TtyWinResize(const agent::TtyWinResizeRequest& req, Empty*, const CallContext&) {
  return Answer("TtyWinResize", sandbox_.ResizeTerminal(req.container_id(), req.exec_id(), req.row(), req.column()));
}

absl::Status AgentServiceImpl::UpdateContainer(const agent::UpdateContainerRequest& req, Empty*, const CallContext&) {
  return Answer("UpdateContainer", sandbox_.UpdateContainer(req.container_id(), req.resources()));
}

absl::Status AgentServiceImpl::StatsContainer(const agent::StatsContainerRequest& req, agent::StatsContainerResponse* resp,
                                              const CallContext&) {
  auto stats = sandbox_.StatsContainer(req.container_id());
  if (stats.ok()) *resp->mutable_cgroup_stats() = *std::move(stats);
  return Answer("StatsContainer", stats.status());
}

absl::Status AgentServiceImpl::OnlineCPUMem(const agent::OnlineCPUMemRequest& req, Empty*, const CallContext&) {
  // The host asks right after it plugged memory: ACPI may still be registering what came.
  auto done = OnlineCpuMem(req, "/sys/devices/system", absl::Seconds(5));
  if (done.ok()) {
    kLog.Info("cpus and memory", {{"onlined_cpus", static_cast<int64_t>(done->cpus)},
                                  {"offlined_cpus", static_cast<int64_t>(done->offlined_cpus)},
                                  {"onlined_memory_blocks", static_cast<int64_t>(done->memory_blocks)}});
  }
  return Answer("OnlineCPUMem", done.status());
}

// Setting the guest's clock is a Kata method this agent does not have yet: said so, as an
// unknown method would be.

absl::Status AgentServiceImpl::SetGuestDateTime(const agent::SetGuestDateTimeRequest&, Empty*, const CallContext&) {
  return absl::UnimplementedError("grpc.AgentService/SetGuestDateTime is not implemented");
}

absl::Status AgentServiceImpl::GetGuestDetails(const agent::GuestDetailsRequest& req, agent::GuestDetailsResponse* resp,
                                               const CallContext&) {
  *resp = GuestDetails(req, storage_handlers_, device_handlers_);
  return absl::OkStatus();
}

absl::Status AgentServiceImpl::GetMetrics(const agent::GetMetricsRequest&, agent::Metrics* resp, const CallContext&) {
  AgentProcessStats stats = ReadAgentProcessStats();
  stats.containers = sandbox_.ContainerCount();
  resp->set_metrics(FormatAgentMetrics(stats));
  return absl::OkStatus();
}

absl::Status AgentServiceImpl::UpdateInterface(const agent::UpdateInterfaceRequest& req, agent::Interface* resp,
                                               const CallContext&) {
  auto updated = network_.UpdateInterface(req.interface());
  if (updated.ok()) *resp = *std::move(updated);
  return Answer("UpdateInterface", updated.status());
}

absl::Status AgentServiceImpl::UpdateRoutes(const agent::UpdateRoutesRequest& req, agent::Routes* resp, const CallContext&) {
  auto routes = network_.UpdateRoutes(req.routes());
  if (routes.ok()) *resp = *std::move(routes);
  return Answer("UpdateRoutes", routes.status());
}

absl::Status AgentServiceImpl::ListInterfaces(const agent::ListInterfacesRequest&, agent::Interfaces* resp,
                                              const CallContext&) {
  auto interfaces = network_.ListInterfaces();
  if (interfaces.ok()) *resp = *std::move(interfaces);
  return Answer("ListInterfaces", interfaces.status());
}

absl::Status AgentServiceImpl::ListRoutes(const agent::ListRoutesRequest&, agent::Routes* resp, const CallContext&) {
  auto routes = network_.ListRoutes();
  if (routes.ok()) *resp = *std::move(routes);
  return Answer("ListRoutes", routes.status());
}

absl::Status AgentServiceImpl::AddARPNeighbors(const agent::AddARPNeighborsRequest& req, Empty*, const CallContext&) {
  return Answer("AddARPNeighbors", network_.AddNeighbors(req.neighbors()));
}

absl::Status AgentServiceImpl::Check(const agent::CheckRequest&, agent::HealthCheckResponse* resp, const CallContext&) {
  resp->set_status(agent::HealthCheckResponse::SERVING);
  return absl::OkStatus();
}

// grpc_version is Kata's field name; what it carries is the RPC layer's name.
absl::Status AgentServiceImpl::Version(const agent::CheckRequest&, agent::VersionCheckResponse* resp, const CallContext&) {
  resp->set_agent_version(KATA_VERSION);
  resp->set_grpc_version("ttrpc");
  return absl::OkStatus();
}

}  // namespace kata::guest
