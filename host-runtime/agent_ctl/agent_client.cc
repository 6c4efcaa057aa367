#include "host-runtime/agent_ctl/agent_client.h"

#include <map>

#include "host-runtime/channel/agent_dialer.h"
#include "libkata/base/str_cat.h"
#include "protocols/agent.grpc.pb.h"
#include "protocols/health.grpc.pb.h"

namespace kata::agentctl {
namespace {

using google::protobuf::Message;

// One RPC: how to make its request and how to call it.
struct Rpc {
  std::function<std::unique_ptr<Message>()> new_request;
  std::function<grpc::Status(grpc::ClientContext*, const Message&, std::unique_ptr<Message>&)> call;
};

template <typename Stub, typename Req, typename Resp>
Rpc MakeRpc(Stub* stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*)) {
  return Rpc{[] { return std::make_unique<Req>(); },
             [stub, method](grpc::ClientContext* ctx, const Message& req, std::unique_ptr<Message>& out) {
               auto resp = std::make_unique<Resp>();
               const grpc::Status s = (stub->*method)(ctx, static_cast<const Req&>(req), resp.get());
               out = std::move(resp);
               return s;
             }};
}

}  // namespace

struct AgentClient::Stubs {
  std::unique_ptr<agent::AgentService::Stub> agent;
  std::unique_ptr<agent::Health::Stub> health;
  std::map<std::string, Rpc> rpcs;
};

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const std::string& address) {
  auto parsed = runtime::ParseAgentAddress(address);
  if (!parsed.ok()) return parsed.status();
  auto conn = runtime::ConnectAgent(*parsed);
  if (!conn.ok()) return conn.status();
  return conn->channel;  // the dup closes here; the connection lives as long as the channel
}

AgentClient::AgentClient(std::shared_ptr<grpc::Channel> channel) : stubs_(std::make_unique<Stubs>()) {
  stubs_->agent = agent::AgentService::NewStub(channel);
  stubs_->health = agent::Health::NewStub(channel);
  using A = agent::AgentService::Stub;
  using H = agent::Health::Stub;
  A* a = stubs_->agent.get();
  H* h = stubs_->health.get();
  auto& r = stubs_->rpcs;
  r["Check"] = MakeRpc(h, &H::Check);
  r["Version"] = MakeRpc(h, &H::Version);
  r["CreateSandbox"] = MakeRpc(a, &A::CreateSandbox);
  r["DestroySandbox"] = MakeRpc(a, &A::DestroySandbox);
  r["CreateContainer"] = MakeRpc(a, &A::CreateContainer);
  r["StartContainer"] = MakeRpc(a, &A::StartContainer);
  r["RemoveContainer"] = MakeRpc(a, &A::RemoveContainer);
  r["ExecProcess"] = MakeRpc(a, &A::ExecProcess);
  r["WaitProcess"] = MakeRpc(a, &A::WaitProcess);
  r["SignalProcess"] = MakeRpc(a, &A::SignalProcess);
  r["WriteStdin"] = MakeRpc(a, &A::WriteStdin);
  r["ReadStdout"] = MakeRpc(a, &A::ReadStdout);
  r["ReadStderr"] = MakeRpc(a, &A::ReadStderr);
  r["CloseStdin"] = MakeRpc(a, &A::CloseStdin);
  r["GetGuestDetails"] = MakeRpc(a, &A::GetGuestDetails);
  r["GetMetrics"] = MakeRpc(a, &A::GetMetrics);
}

AgentClient::~AgentClient() = default;

std::vector<std::string> AgentClient::Commands() {
  return {"Check", "Version", "CreateSandbox", "DestroySandbox", "CreateContainer", "StartContainer",
          "RemoveContainer", "ExecProcess", "WaitProcess", "SignalProcess", "WriteStdin", "ReadStdout",
          "ReadStderr", "CloseStdin", "GetGuestDetails", "GetMetrics"};
}

absl::StatusOr<std::unique_ptr<Message>> AgentClient::NewRequest(const std::string& command) const {
  auto it = stubs_->rpcs.find(command);
  if (it == stubs_->rpcs.end()) return absl::NotFoundError(StrCat("unknown command \"", command, "\""));
  return it->second.new_request();
}

absl::StatusOr<std::unique_ptr<Message>> AgentClient::Call(const std::string& command, const Message& request,
                                                           absl::Duration timeout) {
  auto it = stubs_->rpcs.find(command);
  if (it == stubs_->rpcs.end()) return absl::NotFoundError(StrCat("unknown command \"", command, "\""));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  std::unique_ptr<Message> reply;
  const grpc::Status s = it->second.call(&ctx, request, reply);
  if (!s.ok()) return absl::Status(static_cast<absl::StatusCode>(s.error_code()), StrCat(command, ": ", s.error_message()));
  return reply;
}

}  // namespace kata::agentctl
