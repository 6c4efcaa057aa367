#include "host-runtime/channel/agent_dialer.h"

#include <linux/vm_sockets.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "absl/strings/numbers.h"
#include "libkata/agent_api/agent_api.h"
#include "libkata/agent_api/serial_session.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/file_util.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unique_fd.h"
#include "libkata/base/unix_socket.h"

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
  if (client) client->Close();  // the client stays: calls on it fail Unavailable
}

absl::StatusOr<AgentConnection> ConnectAgent(const AgentAddress& address) {
  absl::StatusOr<UniqueFd> fd = address.kind == AgentAddress::Kind::kVsock ? ConnectVsockSocket(address.cid, address.port)
                                                                          : ConnectUnixSocket(address.path);
  if (!fd.ok()) return fd.status();
  if (address.kind == AgentAddress::Kind::kSerial) {
    // Waits in the socket until the guest opens its port: QEMU reads nothing before that.
    RETURN_IF_ERROR(SendAll(fd->get(), agent_api::kSerialSessionPreface, StrCat("the session preface to ", address.ToString())));
  }
  return AgentConnection{ttrpc::Client::Adopt(std::move(*fd))};
}

absl::Status CheckAgentHealth(ttrpc::Client& client, absl::Duration timeout) {
  agent::CheckRequest req;
  agent::HealthCheckResponse resp;
  const absl::Status s = agent_api::CallMethod(client, agent_api::kHealthService, "Check", req, &resp, timeout);
  if (!s.ok()) return absl::Status(s.code(), StrCat("Health.Check: ", s.message()));
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
        last = CheckAgentHealth(*conn->client, std::min(left, absl::Milliseconds(500)));
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
