// The network RPCs' requests as the agent checks them before touching a link: the first input
// byte picks the message (0 Interface, 1 Routes, 2 ARPNeighbors, 3 CreateSandbox's dns), the
// rest is its wire encoding. Beyond "no sanitizer report": what passes is what the agent can
// hand to netlink as it is (names valid, prefix lengths within the family, gateway-less routes
// first), and the parsed addresses print back to themselves.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

#include "google/protobuf/stubs/logging.h"
#include "guest-agent/network/network_request.h"
#include "guest-agent/network/sandbox_dns.h"
#include "libkata/testing/fuzz_check.h"
#include "protocols/agent.pb.h"

namespace {

using namespace kata;

void CheckPrefix(const net::IpPrefix& p) {
  KATA_FUZZ_CHECK(p.address.family == AF_INET || p.address.family == AF_INET6, "an address of no family");
  KATA_FUZZ_CHECK(p.length >= 0 && p.length <= (p.address.is_v4() ? 32 : 128), "a prefix length outside its family");
  auto again = net::ParseIpPrefix(net::FormatIpPrefix(p), "again");
  KATA_FUZZ_CHECK(again.ok() && *again == p, "a parsed prefix does not print back to itself");
}

void Interface(const agent::Interface& in) {
  auto req = guest::ParseInterfaceRequest(in);
  if (!req.ok()) return;
  KATA_FUZZ_CHECK(net::ValidateInterfaceName(req->name, "name").ok(), "an interface name netlink would refuse");
  KATA_FUZZ_CHECK(req->mtu == 0 || (req->mtu >= 68 && req->mtu <= 65535), "an MTU out of range");
  KATA_FUZZ_CHECK(req->mac != net::MacAddress{}, "an all-zero MAC");
  for (const auto& p : req->addresses) CheckPrefix(p);
}

void Routes(const agent::Routes& in) {
  auto routes = guest::ParseRoutesRequest(in);
  if (!routes.ok()) return;
  KATA_FUZZ_CHECK(routes->size() == static_cast<size_t>(in.routes_size()), "a route lost or added");
  bool gateway_seen = false;
  for (const auto& r : *routes) {
    KATA_FUZZ_CHECK(!(gateway_seen && !r.gateway), "a link route after a gateway route");
    gateway_seen = gateway_seen || r.gateway.has_value();
    CheckPrefix(r.dest);
    KATA_FUZZ_CHECK(!r.gateway || r.gateway->family == r.dest.address.family, "a gateway of another family");
    KATA_FUZZ_CHECK(net::ValidateInterfaceName(r.device, "device").ok(), "a route device netlink would refuse");
    KATA_FUZZ_CHECK(r.scope <= 255, "a scope that is not a byte");
  }
}

void Neighbors(const agent::ARPNeighbors& in) {
  auto neighbors = guest::ParseNeighborsRequest(in);
  if (!neighbors.ok()) return;
  for (const auto& n : *neighbors) {
    KATA_FUZZ_CHECK(n.state > 0 && n.state <= 0xff && (n.state & (n.state - 1)) == 0, "not one NUD state");
    KATA_FUZZ_CHECK(net::ValidateInterfaceName(n.device, "device").ok(), "a neighbour device netlink would refuse");
  }
}

void Dns(const agent::CreateSandboxRequest& in) {
  auto content = guest::ResolvConfFromDns(in.dns());
  if (!content.ok()) return;
  size_t lines = 0;
  for (char c : *content) {
    KATA_FUZZ_CHECK(c != '\0' && c != '\r', "a NUL or CR in resolv.conf");
    lines += c == '\n';
  }
  KATA_FUZZ_CHECK(lines == static_cast<size_t>(in.dns_size()), "resolv.conf lines differ from the dns lines");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Strings with bad UTF-8 parse anyway (proto3 says so in a log line each): quiet, or the
  // log line costs more than the input.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  if (size == 0) return 0;
  const void* wire = data + 1;
  const int wire_size = static_cast<int>(size - 1);
  switch (data[0] % 4) {
    case 0: {
      agent::Interface m;
      if (m.ParseFromArray(wire, wire_size)) Interface(m);
      break;
    }
    case 1: {
      agent::Routes m;
      if (m.ParseFromArray(wire, wire_size)) Routes(m);
      break;
    }
    case 2: {
      agent::ARPNeighbors m;
      if (m.ParseFromArray(wire, wire_size)) Neighbors(m);
      break;
    }
    default: {
      agent::CreateSandboxRequest m;
      if (m.ParseFromArray(wire, wire_size)) Dns(m);
      break;
    }
  }
  return 0;
}
