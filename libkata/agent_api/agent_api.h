#pragma once

// Kata's agent API as it goes over the wire: ttrpc, with Kata's service names
// (`grpc.AgentService`, `grpc.Health`; Kata's agent.proto is `package grpc`) and method
// names, and the messages of protocols/agent.proto and health.proto (Kata's field numbers).
// One list of methods serves the typed client below, the agent's registration,
// kata-agent-ctl (by name, agent_methods.h) and a test that holds it to the .proto files.
// Only protobuf-lite is used here: the guest's agent links its messages built for the lite
// runtime (protocols/lite), which has no descriptors.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/protobuf/message_lite.h"
#include "libkata/ttrpc/client.h"
#include "protocols/agent.pb.h"  // with google.protobuf.Empty, which it imports
#include "protocols/health.pb.h"

namespace kata::agent_api {

inline constexpr char kAgentService[] = "grpc.AgentService";
inline constexpr char kHealthService[] = "grpc.Health";

// X(service constant, method, request type, response type), in agent.proto's order.
#define KATA_AGENT_API_METHODS(X)                                                                         \
  X(kAgentService, CreateContainer, ::kata::agent::CreateContainerRequest, ::google::protobuf::Empty)    \
  X(kAgentService, StartContainer, ::kata::agent::StartContainerRequest, ::google::protobuf::Empty)      \
  X(kAgentService, RemoveContainer, ::kata::agent::RemoveContainerRequest, ::google::protobuf::Empty)    \
  X(kAgentService, ExecProcess, ::kata::agent::ExecProcessRequest, ::google::protobuf::Empty)            \
  X(kAgentService, SignalProcess, ::kata::agent::SignalProcessRequest, ::google::protobuf::Empty)        \
  X(kAgentService, WaitProcess, ::kata::agent::WaitProcessRequest, ::kata::agent::WaitProcessResponse)   \
  X(kAgentService, UpdateContainer, ::kata::agent::UpdateContainerRequest, ::google::protobuf::Empty)    \
  X(kAgentService, StatsContainer, ::kata::agent::StatsContainerRequest,                                 \
    ::kata::agent::StatsContainerResponse)                                                               \
  X(kAgentService, PauseContainer, ::kata::agent::PauseContainerRequest, ::google::protobuf::Empty)      \
  X(kAgentService, ResumeContainer, ::kata::agent::ResumeContainerRequest, ::google::protobuf::Empty)    \
  X(kAgentService, WriteStdin, ::kata::agent::WriteStreamRequest, ::kata::agent::WriteStreamResponse)    \
  X(kAgentService, ReadStdout, ::kata::agent::ReadStreamRequest, ::kata::agent::ReadStreamResponse)      \
  X(kAgentService, ReadStderr, ::kata::agent::ReadStreamRequest, ::kata::agent::ReadStreamResponse)      \
  X(kAgentService, CloseStdin, ::kata::agent::CloseStdinRequest, ::google::protobuf::Empty)              \
  X(kAgentService, TtyWinResize, ::kata::agent::TtyWinResizeRequest, ::google::protobuf::Empty)          \
  X(kAgentService, CreateSandbox, ::kata::agent::CreateSandboxRequest, ::google::protobuf::Empty)        \
  X(kAgentService, DestroySandbox, ::kata::agent::DestroySandboxRequest, ::google::protobuf::Empty)      \
  X(kAgentService, OnlineCPUMem, ::kata::agent::OnlineCPUMemRequest, ::google::protobuf::Empty)          \
  X(kAgentService, GetGuestDetails, ::kata::agent::GuestDetailsRequest, ::kata::agent::GuestDetailsResponse) \
  X(kAgentService, SetGuestDateTime, ::kata::agent::SetGuestDateTimeRequest, ::google::protobuf::Empty)  \
  X(kAgentService, GetMetrics, ::kata::agent::GetMetricsRequest, ::kata::agent::Metrics)                 \
  X(kAgentService, UpdateInterface, ::kata::agent::UpdateInterfaceRequest, ::kata::agent::Interface)   \
  X(kAgentService, UpdateRoutes, ::kata::agent::UpdateRoutesRequest, ::kata::agent::Routes)              \
  X(kAgentService, ListInterfaces, ::kata::agent::ListInterfacesRequest, ::kata::agent::Interfaces)      \
  X(kAgentService, ListRoutes, ::kata::agent::ListRoutesRequest, ::kata::agent::Routes)                  \
  X(kAgentService, AddARPNeighbors, ::kata::agent::AddARPNeighborsRequest, ::google::protobuf::Empty)    \
  X(kHealthService, Check, ::kata::agent::CheckRequest, ::kata::agent::HealthCheckResponse)              \
  X(kHealthService, Version, ::kata::agent::CheckRequest, ::kata::agent::VersionCheckResponse)

// Calls `service`/`method` on `client`: the response parsed into `response` (may be null),
// or the agent's status with its code; a response that does not parse is Internal.
absl::Status CallMethod(ttrpc::Client& client, std::string_view service, std::string_view method,
                        const google::protobuf::MessageLite& request, google::protobuf::MessageLite* response,
                        absl::Duration timeout);

// The agent's methods as typed calls on one ttrpc connection, e.g.
//   stub.CreateContainer(request, &empty, absl::Seconds(30)).
// The default timeout is none: WaitProcess and ReadStdout wait for as long as the process runs.
class AgentStub {
 public:
  explicit AgentStub(std::shared_ptr<ttrpc::Client> client) : client_(std::move(client)) {}

#define KATA_AGENT_STUB_METHOD(service, method, Req, Resp)                                       \
  absl::Status method(const Req& request, Resp* response,                                       \
                      absl::Duration timeout = absl::InfiniteDuration()) const {                \
    return CallMethod(*client_, service, #method, request, response, timeout);                  \
  }
  KATA_AGENT_API_METHODS(KATA_AGENT_STUB_METHOD)
#undef KATA_AGENT_STUB_METHOD

  ttrpc::Client& client() const { return *client_; }

 private:
  std::shared_ptr<ttrpc::Client> client_;
};

}  // namespace kata::agent_api
