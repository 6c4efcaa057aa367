// IP addresses, prefixes, MACs and interface names as the agent API carries them (pure).

#include <sys/socket.h>

#include "libkata/net/ip_address.h"
#include "libkata/testing/test_support.h"

using namespace kata::net;

TEST_CASE("ip: addresses and prefixes parse and format back", "[net]") {
  auto v4 = ParseIpAddress("10.88.0.2", "a");
  REQUIRE(v4.ok());
  CHECK(v4->family == AF_INET);
  CHECK(v4->is_v4());
  CHECK(FormatIpAddress(*v4) == "10.88.0.2");
  auto v6 = ParseIpPrefix("fd00:88::2/64", "p");
  REQUIRE(v6.ok());
  CHECK(v6->address.family == AF_INET6);
  CHECK(v6->length == 64);
  CHECK(FormatIpPrefix(*v6) == "fd00:88::2/64");
  auto host = ParseIpPrefix("192.168.1.1", "p");
  REQUIRE(host.ok());
  CHECK(host->length == 32);
  CHECK(ParseIpPrefix("::1", "p")->length == 128);
  CHECK(ParseIpPrefix("0.0.0.0/0", "p")->length == 0);
  CHECK(ParsePrefixLength("24", AF_INET, "m").value() == 24);
  CHECK(ParsePrefixLength("128", AF_INET6, "m").value() == 128);
}

TEST_CASE("ip: bad addresses, prefixes and lengths are errors naming the field", "[net]") {
  struct Case {
    const char* text;
    bool prefix;
  };
  for (const Case c : {Case{"", false}, Case{"10.0.0", false}, Case{"10.0.0.256", false}, Case{"fd00::g", false},
                       Case{"10.0.0.1 ", false}, Case{"10.0.0.1/33", true}, Case{"fd00::/129", true},
                       Case{"10.0.0.1/", true}, Case{"10.0.0.1/-1", true}, Case{"10.0.0.1/2x", true},
                       Case{"/24", true}, Case{"10.0.0.1/0024", true}}) {
    INFO(c.text);
    const absl::Status s = c.prefix ? ParseIpPrefix(c.text, "routes[3].dest").status()
                                    : ParseIpAddress(c.text, "routes[3].gateway").status();
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(s.message()).find(c.prefix ? "routes[3].dest" : "routes[3].gateway") != std::string::npos);
  }
  CHECK_FALSE(ParsePrefixLength("33", AF_INET, "interface.IPAddresses[0].mask").ok());
  CHECK_FALSE(ParsePrefixLength("", AF_INET6, "m").ok());
}

TEST_CASE("ip: MAC addresses", "[net]") {
  auto mac = ParseMacAddress("52:54:00:AB:cd:0f", "interface.hwAddr");
  REQUIRE(mac.ok());
  CHECK(FormatMacAddress(*mac) == "52:54:00:ab:cd:0f");
  for (const char* bad : {"", "52:54:00:ab:cd", "52:54:00:ab:cd:0f:11", "52-54-00-ab-cd-0f", "52:54:00:ab:cd:0g",
                          "5254.00ab.cd0f", "52:54:00:ab:cd:0"}) {
    INFO(bad);
    auto s = ParseMacAddress(bad, "interface.hwAddr").status();
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(s.message()).find("interface.hwAddr") != std::string::npos);
  }
}

TEST_CASE("ip: interface names", "[net]") {
  for (const char* good : {"eth0", "tap0_kata", "a", "123456789012345"}) CHECK(ValidateInterfaceName(good, "n").ok());
  for (const char* bad : {"", ".", "..", "1234567890123456", "eth/0", "eth:0", "eth 0", "eth\t0"}) {
    INFO(bad);
    CHECK(ValidateInterfaceName(bad, "routes[0].device").code() == absl::StatusCode::kInvalidArgument);
  }
}
