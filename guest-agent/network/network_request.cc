#include "guest-agent/network/network_request.h"

#include <linux/neighbour.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>

#include "guest-agent/device/pci_path.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"

namespace kata::guest {
namespace {

constexpr uint32_t kMinMtu = 68;       // IPv4's minimum
constexpr uint32_t kMaxMtu = 65535;    // virtio-net's
constexpr uint32_t kMaxScope = 255;    // RT_SCOPE_* is a byte

int FamilyOf(agent::IPFamily f) { return f == agent::v6 ? AF_INET6 : AF_INET; }

// The family field, when given, must agree with the address (Kata sends both).
absl::Status CheckFamily(const net::IpAddress& address, agent::IPFamily family, const std::string& what) {
  if (FamilyOf(family) != address.family) {
    return absl::InvalidArgumentError(StrCat(what, " is an ", address.is_v4() ? "IPv4" : "IPv6",
                                             " address but its family says ", family == agent::v6 ? "v6" : "v4"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<InterfaceRequest> ParseInterfaceRequest(const agent::Interface& in) {
  InterfaceRequest out;
  ASSIGN_OR_RETURN(out.mac, net::ParseMacAddress(in.hwaddr(), "interface.hwAddr"));
  if (out.mac == net::MacAddress{}) return absl::InvalidArgumentError("interface.hwAddr is all zero");
  out.name = in.name().empty() ? in.device() : in.name();
  RETURN_IF_ERROR(net::ValidateInterfaceName(out.name, in.name().empty() ? "interface.device" : "interface.name"));
  if (in.mtu() != 0 && (in.mtu() < kMinMtu || in.mtu() > kMaxMtu)) {
    return absl::InvalidArgumentError(StrCat("interface.mtu ", in.mtu(), " is outside ", kMinMtu, "..", kMaxMtu));
  }
  out.mtu = static_cast<uint32_t>(in.mtu());
  for (int i = 0; i < in.ipaddresses_size(); ++i) {
    const agent::IPAddress& a = in.ipaddresses(i);
    const std::string what = StrCat("interface.IPAddresses[", i, "]");
    ASSIGN_OR_RETURN(net::IpAddress address, net::ParseIpAddress(a.address(), what + ".address"));
    RETURN_IF_ERROR(CheckFamily(address, a.family(), what));
    ASSIGN_OR_RETURN(int length, net::ParsePrefixLength(a.mask(), address.family, what + ".mask"));
    out.addresses.push_back({address, length});
  }
  out.noarp = (in.raw_flags() & IFF_NOARP) != 0;
  if (!in.devicepath().empty()) {
    if (absl::Status s = ParsePciPath(in.devicepath()).status(); !s.ok()) {
      return absl::InvalidArgumentError(StrCat("interface.devicePath: ", s.message()));
    }
  }
  out.pci_path = in.devicepath();
  return out;
}

absl::StatusOr<std::vector<RouteRequest>> ParseRoutesRequest(const agent::Routes& in) {
  std::vector<RouteRequest> out;
  for (int i = 0; i < in.routes_size(); ++i) {
    const agent::Route& r = in.routes(i);
    const std::string what = StrCat("routes[", i, "]");
    RouteRequest route;
    route.index = static_cast<size_t>(i);
    RETURN_IF_ERROR(net::ValidateInterfaceName(r.device(), what + ".device"));
    route.device = r.device();
    if (r.dest().empty() || r.dest() == "default") {
      route.dest.address.family = FamilyOf(r.family());
    } else {
      ASSIGN_OR_RETURN(route.dest, net::ParseIpPrefix(r.dest(), what + ".dest"));
      RETURN_IF_ERROR(CheckFamily(route.dest.address, r.family(), what + ".dest"));
    }
    const int family = route.dest.address.family;
    if (!r.gateway().empty()) {
      ASSIGN_OR_RETURN(net::IpAddress gw, net::ParseIpAddress(r.gateway(), what + ".gateway"));
      if (gw.family != family) return absl::InvalidArgumentError(StrCat(what, ".gateway \"", r.gateway(), "\" is not of the destination's family"));
      route.gateway = gw;
    }
    if (!r.source().empty()) {
      ASSIGN_OR_RETURN(net::IpAddress src, net::ParseIpAddress(r.source(), what + ".source"));
      if (src.family != family) return absl::InvalidArgumentError(StrCat(what, ".source \"", r.source(), "\" is not of the destination's family"));
      route.source = src;
    }
    if (r.scope() > kMaxScope) return absl::InvalidArgumentError(StrCat(what, ".scope ", r.scope(), " is over ", kMaxScope));
    route.scope = r.scope();
    route.flags = r.flags();
    if (r.mtu() != 0 && (r.mtu() < kMinMtu || r.mtu() > kMaxMtu)) {
      return absl::InvalidArgumentError(StrCat(what, ".mtu ", r.mtu(), " is outside ", kMinMtu, "..", kMaxMtu));
    }
    route.mtu = r.mtu();
    out.push_back(std::move(route));
  }
  std::stable_partition(out.begin(), out.end(), [](const RouteRequest& r) { return !r.gateway.has_value(); });
  return out;
}

absl::StatusOr<std::vector<NeighborRequest>> ParseNeighborsRequest(const agent::ARPNeighbors& in) {
  std::vector<NeighborRequest> out;
  for (int i = 0; i < in.arpneighbors_size(); ++i) {
    const agent::ARPNeighbor& n = in.arpneighbors(i);
    const std::string what = StrCat("neighbors[", i, "]");
    NeighborRequest neighbor;
    if (!n.has_toipaddress()) return absl::InvalidArgumentError(StrCat(what, ".toIPAddress is missing"));
    ASSIGN_OR_RETURN(neighbor.address, net::ParseIpAddress(n.toipaddress().address(), what + ".toIPAddress.address"));
    RETURN_IF_ERROR(net::ValidateInterfaceName(n.device(), what + ".device"));
    neighbor.device = n.device();
    if (!n.lladdr().empty()) {
      ASSIGN_OR_RETURN(neighbor.lladdr, net::ParseMacAddress(n.lladdr(), what + ".lladdr"));
    }
    // NUD_* are single bits below 0x100 (NUD_NONE 0 means "permanent", as Kata reads it).
    if (n.state() < 0 || n.state() > 0xff || (n.state() & (n.state() - 1)) != 0) {
      return absl::InvalidArgumentError(StrCat(what, ".state ", n.state(), " is not one NUD_* state"));
    }
    neighbor.state = n.state() == 0 ? NUD_PERMANENT : n.state();
    if (n.flags() < 0 || n.flags() > 0xff) return absl::InvalidArgumentError(StrCat(what, ".flags ", n.flags(), " is not NTF_* flags"));
    neighbor.flags = n.flags();
    out.push_back(std::move(neighbor));
  }
  return out;
}

}  // namespace kata::guest
