// A kernel uevent datagram ("ACTION@DEVPATH\0KEY=VALUE\0..."), as the agent's netlink socket
// hands it over, and the same bytes as a sysfs uevent file; then the matchers the device
// waits use. sysfs is an empty directory, so a matcher that reads it finds nothing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "guest-agent/device/pci_path.h"
#include "guest-agent/uevent/matchers.h"
#include "guest-agent/uevent/uevent.h"
#include "libkata/testing/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kata::guest;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  static const std::string sysfs = "/nonexistent-sysfs";
  static const VirtioBlkNameMatcher by_virtio_name("vdb", sysfs);
  static const BlockNameMatcher by_name("loop0", sysfs);
  static const PciPathBlockMatcher by_pci("02/00", "/devices/pci0000:00/0000:00:02.0/0000:01:00.0", sysfs);

  auto event = ParseUevent(bytes);
  if (event.ok()) {
    KATA_FUZZ_CHECK(!event->devpath.empty() && event->devpath.front() == '/', "a parsed uevent has a bad DEVPATH");
    (void)event->Describe();
    (void)by_virtio_name.Matches(*event);
    (void)by_name.Matches(*event);
    (void)by_pci.Matches(*event);
  }
  const Uevent from_file = UeventFromSysfs("/devices/virtual/block/loop0", "block", bytes);
  KATA_FUZZ_CHECK(from_file.action == "add" && from_file.subsystem == "block" &&
                      from_file.devpath == "/devices/virtual/block/loop0",
                  "the uevent file overrode our keys");
  (void)by_name.Matches(from_file);
  // The same bytes as a PCI path from a Device or Storage source ("02/00").
  auto pci = ParsePciPath(bytes.substr(0, 64));
  if (pci.ok()) for (uint8_t slot : *pci) KATA_FUZZ_CHECK(slot <= 0x1f, "a PCI slot above 1f");
  return 0;
}
