#pragma once

// The host's end of the agent channel: one connection attempt (unix, vsock, or the unix socket
// of QEMU's virtio-serial chardev, where each connection starts with the session preface) as
// a ttrpc client, and dialling with a retry budget until grpc.Health/Check answers.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libkata/ttrpc/client.h"

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

// A ttrpc client on a socket of ours, shared by whoever calls the agent. Close() shuts the
// socket down at once, so the agent (and QEMU's chardev, which takes one host connection at a
// time) see us leave now, and calls on it fail from then on.
struct AgentConnection {
  std::shared_ptr<ttrpc::Client> client;
  void Close();
};

// One attempt: connects a socket (over serial, sends the preface) and makes a client on it.
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
absl::Status CheckAgentHealth(ttrpc::Client& client, absl::Duration timeout);

}  // namespace kata::runtime
