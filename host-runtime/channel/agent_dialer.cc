#include "host-runtime/channel/agent_dialer.h"

#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <grpcpp/create_channel_posix.h>

#include "absl/strings/numbers.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unique_fd.h"
#include "libkata/base/unix_socket.h"
#include "protocols/health.grpc.pb.h"

namespace kata::runtime {
namespace {

absl::StatusOr<UniqueFd> ConnectVsockSocket(uint32_t cid, uint32_t port) {
  sockaddr_vm addr = {};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = cid;
  addr.svm_port = port;
  UniqueFd fd(::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid() || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoStatus(errno, StrCat("connect to vsock ", cid, ":", port));
  }
  return fd;
}

// gRPC needs the fd non-blocking, or every call ends in DEADLINE_EXCEEDED.
absl::StatusOr<AgentConnection> ChannelOnFd(UniqueFd fd, const std::string& target) {
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0) return ErrnoStatus(errno, StrCat("fcntl ", target));
  AgentConnection c;
  c.socket.reset(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
  if (!c.socket.valid()) return ErrnoStatus(errno, StrCat("dup the socket for ", target));
  c.channel = grpc::CreateInsecureChannelFromFd(target, fd.release());
  return c;
}

}  // namespace

std::string AgentAddress::ToString() const {
  switch (kind) {
    case Kind::kUnix: return StrCat("unix://", path);
    case Kind::kVsock: return StrCat("vsock://", cid, ":", port);
    case Kind::kSerial: return StrCat("serial://", path);
  }
  return "";
}

absl::StatusOr<AgentAddress> ParseAgentAddress(const std::string& address) {
  AgentAddress a;
  if (address.starts_with("unix://") || address.starts_with("unix:")) {
    a.kind = AgentAddress::Kind::kUnix;
    a.path = address.substr(address.starts_with("unix://") ? 7 : 5);
  } else if (address.starts_with("serial://")) {
    a.kind = AgentAddress::Kind::kSerial;
    a.path = address.substr(9);
  } else if (address.starts_with("vsock://")) {
    a.kind = AgentAddress::Kind::kVsock;
    const std::string rest = address.substr(8);
    const size_t colon = rest.find(':');
    if (colon == std::string::npos || !absl::SimpleAtoi(rest.substr(0, colon), &a.cid) ||
        !absl::SimpleAtoi(rest.substr(colon + 1), &a.port)) {
      return absl::InvalidArgumentError(StrCat("vsock address \"", address, "\" is not vsock://CID:PORT"));
    }
    return a;
  } else {
    return absl::InvalidArgumentError(StrCat("agent address \"", address, "\" is not unix://, vsock:// or serial://"));
  }
  if (a.path.empty() || a.path.front() != '/') {
    return absl::InvalidArgumentError(StrCat("agent address \"", address, "\" needs an absolute socket path"));
  }
  return a;
}

void AgentConnection::Close() {
  if (socket.valid()) ::shutdown(socket.get(), SHUT_RDWR);
  socket.reset();
  channel.reset();
}

absl::StatusOr<AgentConnection> ConnectAgent(const AgentAddress& address) {
  absl::StatusOr<UniqueFd> fd = address.kind == AgentAddress::Kind::kVsock ? ConnectVsockSocket(address.cid, address.port)
                                                                          : ConnectUnixSocket(address.path);
  if (!fd.ok()) return fd.status();
  return ChannelOnFd(std::move(*fd), address.ToString());
}

absl::Status CheckAgentHealth(grpc::Channel& channel, absl::Duration timeout) {
  auto stub = agent::Health::NewStub(std::shared_ptr<grpc::ChannelInterface>(&channel, [](grpc::ChannelInterface*) {}));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  ctx.set_wait_for_ready(true);
  agent::CheckRequest req;
  agent::HealthCheckResponse resp;
  const grpc::Status s = stub->Check(&ctx, req, &resp);
  if (!s.ok()) return absl::Status(static_cast<absl::StatusCode>(s.error_code()), StrCat("Health.Check: ", s.error_message()));
  if (resp.status() != agent::HealthCheckResponse::SERVING) {
    return absl::UnavailableError(StrCat("Health.Check: agent is ", agent::HealthCheckResponse::ServingStatus_Name(resp.status())));
  }
  return absl::OkStatus();
}

absl::StatusOr<AgentConnection> DialAgent(const AgentAddress& address, const DialPolicy& policy) {
  const absl::Time deadline = absl::Now() + policy.budget;
  absl::Status last = absl::DeadlineExceededError("no attempt made");
  for (;;) {
    if (policy.abort_check) {
      if (absl::Status s = policy.abort_check(); !s.ok()) return s;
    }
    auto conn = ConnectAgent(address);
    if (conn.ok()) {
      // Wait on this connection for the agent, in slices so a dead VM is noticed.
      for (;;) {
        const absl::Duration left = deadline - absl::Now();
        if (left <= absl::ZeroDuration()) break;
        last = CheckAgentHealth(*conn->channel, std::min(left, absl::Milliseconds(500)));
        if (last.ok()) return std::move(*conn);
        if (!absl::IsDeadlineExceeded(last)) break;  // the connection broke: connect again
        if (policy.abort_check) {
          if (absl::Status s = policy.abort_check(); !s.ok()) {
            conn->Close();
            return s;
          }
        }
      }
      conn->Close();  // gone for sure before the next attempt
    } else {
      last = conn.status();
    }
    if (absl::Now() + policy.step >= deadline) {
      return absl::DeadlineExceededError(StrCat("agent at ", address.ToString(), " did not answer within ",
                                                absl::FormatDuration(policy.budget), ": ", last.message()));
    }
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(policy.step));
  }
}

}  // namespace kata::runtime
