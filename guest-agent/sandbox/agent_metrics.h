#pragma once

// The agent's own health, for GetMetrics: open fds, its fd limit and resident memory, in
// Prometheus' text format under Kata's names (kata_agent_process_*), so a soak can tell a leak.

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace kata::guest {

struct AgentProcessStats {
  uint64_t open_fds = 0;
  uint64_t max_fds = 0;               // RLIMIT_NOFILE's soft limit
  uint64_t resident_memory_bytes = 0;
  uint64_t threads = 0;
  uint64_t containers = 0;
};

// What /proc says about process `pid` (0: this one).
AgentProcessStats ReadAgentProcessStats(pid_t pid = 0);

// Pure: the text GetMetrics answers.
std::string FormatAgentMetrics(const AgentProcessStats& s);

// Raises RLIMIT_NOFILE to what the kernel allows (fs.nr_open) when privileged, else the soft
// limit to the hard one: 1024 is too few for a pod's worth of execs and their pipes.
// Returns the soft limit now in force.
uint64_t RaiseOpenFileLimit();

}  // namespace kata::guest
