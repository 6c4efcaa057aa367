#pragma once

// Running code inside another network namespace: setns(CLONE_NEWNET) changes only the calling
// thread, so the work runs on a thread of its own that enters the namespace and ends with it;
// the caller's threads never change namespace. Sockets and tap fds opened there stay in that
// namespace after the thread ends.

#include <functional>
#include <string>

#include "absl/status/status.h"

namespace kata::netlink {

// Enters the network namespace at `netns_path` (/var/run/netns/NAME, /proc/PID/ns/net) on a
// new thread, runs `work` there and returns its status (or why the namespace could not be
// entered, naming the path).
absl::Status RunInNetns(const std::string& netns_path, const std::function<absl::Status()>& work);

}  // namespace kata::netlink
