#pragma once

// The host's end of the agent channel: one connection attempt (unix, vsock, or the unix socket
// of QEMU's virtio-serial chardev) as a gRPC channel on our own fd (gRPC 1.51 has no vsock:
// scheme), and dialling with a retry budget until Health.Check answers.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libkata/base/unique_fd.h"

namespace kata::runtime {

struct AgentAddress {
  enum class Kind { kUnix, kVsock, kSerial };
  Kind kind = Kind::kUnix;
  std::string path;  // unix and serial
  uint32_t cid = 0;  // vsock
  uint32_t port = 0;
  std::string ToString() const;
};

// "unix://PATH" (or "unix:PATH"), "vsock://CID:PORT", "serial://PATH" (pure).
absl::StatusOr<AgentAddress> ParseAgentAddress(const std::string& address);

// A gRPC channel on a socket of ours. gRPC closes its fd only when the last reference to the
// channel goes, and asynchronously; Close() shuts the socket down at once instead, so the
// agent (and QEMU's chardev, which takes one host connection at a time) see us leave now.
struct AgentConnection {
  std::shared_ptr<grpc::Channel> channel;
  UniqueFd socket;  // a dup of the channel's socket
  void Close();
};

// One attempt: connects a socket and makes a channel on it.
absl::StatusOr<AgentConnection> ConnectAgent(const AgentAddress& address);

struct DialPolicy {
  absl::Duration step = absl::Milliseconds(10);  // between connection attempts (Kata's)
  absl::Duration budget = absl::Seconds(3);      // for the whole dial
  // Checked between attempts: a non-OK status ends the dial with it (e.g. QEMU died).
  std::function<absl::Status()> abort_check;
};

// Connects and calls Health.Check until the agent answers SERVING, within the budget.
// Over serial the connection itself always succeeds (QEMU listens), so the Check waits on it
// for the rest of the budget; over vsock, connecting fails until the agent listens, and is
// retried every step. DeadlineExceeded names the address and the last error.
absl::StatusOr<AgentConnection> DialAgent(const AgentAddress& address, const DialPolicy& policy);

// One Health.Check; OK when it answers SERVING.
absl::Status CheckAgentHealth(grpc::Channel& channel, absl::Duration timeout);

}  // namespace kata::runtime
