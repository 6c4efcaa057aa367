#pragma once

// A kernel uevent (NETLINK_KOBJECT_UEVENT) and its parser.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kata::guest {

struct Uevent {
  std::string action;     // add, remove, change, bind, ...
  std::string devpath;    // /devices/pci0000:00/0000:00:02.0/0000:01:00.0/virtio2/block/vda
  std::string devname;    // vda (relative to /dev)
  std::string subsystem;  // block, ...
  uint64_t seqnum = 0;
  int major = -1;
  int minor = -1;

  std::string Describe() const;  // one line for logs and error messages
};

// Parses one kernel uevent datagram: "ACTION@DEVPATH\0KEY=VALUE\0...". Datagrams from udevd
// ("libudev" header) and malformed ones are InvalidArgument; unknown keys are ignored.
absl::StatusOr<Uevent> ParseUevent(std::string_view datagram);

// Parses the KEY=VALUE lines of a sysfs `uevent` file (MAJOR, MINOR, DEVNAME, DEVTYPE).
// Used to seed the event store with devices present before the monitor started.
Uevent UeventFromSysfs(std::string_view devpath, std::string_view subsystem,
                       std::string_view uevent_file);

}  // namespace kata::guest
