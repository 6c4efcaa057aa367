#include "guest-agent/device/pci_path.h"
#include "libkata/testing/test_support.h"

using kata::guest::ParsePciPath;
using kata::guest::PciPathToDevpath;

using kata::testing::MakeDirs;

TEST_CASE("pci path: well-formed paths parse to slots", "[pci]") {
  CHECK(*ParsePciPath("02/00") == std::vector<uint8_t>{2, 0});
  CHECK(*ParsePciPath("1f") == std::vector<uint8_t>{0x1f});
  CHECK(*ParsePciPath("0A/1b/00") == std::vector<uint8_t>{0x0a, 0x1b, 0});
}

TEST_CASE("pci path: malformed paths are refused naming them", "[pci]") {
  for (const char* bad : {"", "2/00", "02//00", "02/", "/02", "zz", "020", "20", "02/0g", "02/00/", "-1"}) {
    auto r = ParsePciPath(bad);
    INFO(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(r.status().message()).find(std::string("\"") + bad + "\"") != std::string::npos);
  }
}

TEST_CASE("pci path: walks each bridge's child bus in sysfs", "[pci]") {
  kata::testing::TempDir sys;
  // Root port at 00:02.0 with bus 01; behind it a switch port at 01:00.0 with bus 05.
  MakeDirs(sys.path() + "/devices/pci0000:00/0000:00:02.0/pci_bus/0000:01");
  MakeDirs(sys.path() + "/devices/pci0000:00/0000:00:02.0/0000:01:00.0/pci_bus/0000:05");
  CHECK(*PciPathToDevpath(sys.path(), "02/00") == "/devices/pci0000:00/0000:00:02.0/0000:01:00.0");
  CHECK(*PciPathToDevpath(sys.path(), "02/00/03") ==
        "/devices/pci0000:00/0000:00:02.0/0000:01:00.0/0000:05:03.0");
  CHECK(*PciPathToDevpath(sys.path(), "07") == "/devices/pci0000:00/0000:00:07.0");
}

TEST_CASE("pci path: a missing or ambiguous bridge bus is an error", "[pci]") {
  kata::testing::TempDir sys;
  auto missing = PciPathToDevpath(sys.path(), "03/00");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(std::string(missing.status().message()).find("03/00") != std::string::npos);
  MakeDirs(sys.path() + "/devices/pci0000:00/0000:00:04.0/pci_bus/0000:02");
  MakeDirs(sys.path() + "/devices/pci0000:00/0000:00:04.0/pci_bus/0000:03");
  auto two = PciPathToDevpath(sys.path(), "04/00");
  CHECK(two.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(PciPathToDevpath(sys.path(), "zz/00").status().code() == absl::StatusCode::kInvalidArgument);
}
