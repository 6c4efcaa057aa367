#include "host-runtime/agent_ctl/agent_client.h"

#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include <grpcpp/create_channel_posix.h>

#include "absl/strings/numbers.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unique_fd.h"
#include "protocols/agent.grpc.pb.h"
#include "protocols/health.grpc.pb.h"

namespace kata::agentctl {
namespace {

using google::protobuf::Message;

absl::StatusOr<std::shared_ptr<grpc::Channel>> ChannelOnFd(UniqueFd fd, const std::string& address) {
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0) return ErrnoStatus(errno, StrCat("fcntl ", address));
  return grpc::CreateInsecureChannelFromFd(address, fd.release());
}

absl::StatusOr<UniqueFd> ConnectUnix(const std::string& path) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) return absl::InvalidArgumentError(StrCat("bad socket path \"", path, "\""));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid() || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoStatus(errno, StrCat("connect to ", path));
  }
  return fd;
}

absl::StatusOr<UniqueFd> ConnectVsock(const std::string& cid_port) {
  const size_t colon = cid_port.find(':');
  uint32_t cid = 0, port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(cid_port.substr(0, colon), &cid) ||
      !absl::SimpleAtoi(cid_port.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(StrCat("vsock address \"", cid_port, "\" is not CID:PORT"));
  }
  sockaddr_vm addr = {};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = cid;
  addr.svm_port = port;
  UniqueFd fd(::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid() || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoStatus(errno, StrCat("connect to vsock ", cid_port));
  }
  return fd;
}

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
  if (address.starts_with("unix://")) return grpc::CreateChannel("unix:" + address.substr(7), grpc::InsecureChannelCredentials());
  if (address.starts_with("unix:")) return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  if (address.starts_with("vsock://")) {
    auto fd = ConnectVsock(address.substr(8));
    if (!fd.ok()) return fd.status();
    return ChannelOnFd(std::move(*fd), address);
  }
  if (address.starts_with("serial://")) {
    auto fd = ConnectUnix(address.substr(9));
    if (!fd.ok()) return fd.status();
    return ChannelOnFd(std::move(*fd), address);
  }
  return absl::InvalidArgumentError(StrCat("server address \"", address, "\" is not unix://, vsock:// or serial://"));
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
}

AgentClient::~AgentClient() = default;

std::vector<std::string> AgentClient::Commands() {
  return {"Check", "Version", "CreateSandbox", "DestroySandbox", "CreateContainer", "StartContainer",
          "RemoveContainer", "ExecProcess", "WaitProcess", "SignalProcess", "WriteStdin", "ReadStdout",
          "ReadStderr", "CloseStdin", "GetGuestDetails"};
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
