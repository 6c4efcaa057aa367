#include "guest-agent/network/guest_network.h"

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "absl/strings/ascii.h"
#include "guest-agent/device/pci_path.h"
#include "guest-agent/network/network_report.h"
#include "guest-agent/network/network_request.h"
#include "guest-agent/uevent/matchers.h"
#include "libkata/base/file_util.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"
#include "libkata/netlink/rtnl.h"

namespace kata::guest {
namespace {

const log::Subsystem kLog("network");

template <typename T, void (*Put)(T*)>
struct NlPtr {
  T* p = nullptr;
  explicit NlPtr(T* v) : p(v) {}
  NlPtr(const NlPtr&) = delete;
  NlPtr& operator=(const NlPtr&) = delete;
  ~NlPtr() {
    if (p != nullptr) Put(p);
  }
};
void PutAddr(nl_addr* a) { nl_addr_put(a); }
using Addr = NlPtr<nl_addr, PutAddr>;
using Link = NlPtr<rtnl_link, rtnl_link_put>;
using IfAddr = NlPtr<rtnl_addr, rtnl_addr_put>;
using Route = NlPtr<rtnl_route, rtnl_route_put>;
using Neigh = NlPtr<rtnl_neigh, rtnl_neigh_put>;

// An address on a link, for RTM_NEWADDR and RTM_DELADDR.
struct AddressMessage {
  IfAddr a{rtnl_addr_alloc()};
  Addr local;
  AddressMessage(int index, const net::IpPrefix& p) : local(netlink::ToNlAddr(p.address, p.length)) {
    rtnl_addr_set_ifindex(a.p, index);
    rtnl_addr_set_family(a.p, p.address.family);
    rtnl_addr_set_local(a.p, local.p);
    rtnl_addr_set_prefixlen(a.p, p.length);
  }
};

const netlink::LinkInfo* FindByName(const std::vector<netlink::LinkInfo>& links, const std::string& name) {
  for (const auto& l : links) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

// RTM_SETLINK on `index` with the fields set in `change`.
absl::Status ChangeLink(const netlink::RtnlSocket& sock, int index, rtnl_link* change, const std::string& what) {
  Link orig(rtnl_link_alloc());
  rtnl_link_set_ifindex(orig.p, index);
  if (int e = rtnl_link_change(sock.get(), orig.p, change, 0); e < 0) return netlink::NetlinkStatus(e, what);
  return absl::OkStatus();
}

absl::Status SetUp(const netlink::RtnlSocket& sock, int index, bool up, const std::string& name) {
  Link change(rtnl_link_alloc());
  if (up) {
    rtnl_link_set_flags(change.p, IFF_UP);
  } else {
    rtnl_link_unset_flags(change.p, IFF_UP);
  }
  return ChangeLink(sock, index, change.p, StrCat("set link ", name, up ? " up" : " down"));
}

absl::Status Rename(const netlink::RtnlSocket& sock, int index, const std::string& from, const std::string& to) {
  Link change(rtnl_link_alloc());
  rtnl_link_set_name(change.p, to.c_str());
  return ChangeLink(sock, index, change.p, StrCat("rename link ", from, " to ", to));
}

}  // namespace

bool GuestNetwork::Ipv6Disabled() const {
  for (const char* which : {"all", "default"}) {
    auto v = ReadFileToString(StrCat(options_.procfs_root, "/sys/net/ipv6/conf/", which, "/disable_ipv6"), 16);
    if (!v.ok() || absl::StripAsciiWhitespace(*v) == "0") return false;
  }
  return true;
}

absl::Status GuestNetwork::WaitForNic(const std::string& pci_path) {
  if (options_.uevents == nullptr) {
    return absl::FailedPreconditionError(StrCat("interface.devicePath ", pci_path, ": this agent watches no uevents"));
  }
  auto devpath_or = PciPathToDevpath(options_.sysfs_root, pci_path);
  if (!devpath_or.ok()) {
    return absl::Status(devpath_or.status().code(), StrCat("interface.devicePath ", pci_path, ": ", devpath_or.status().message()));
  }
  const std::string devpath = *devpath_or;
  const PredicateMatcher nic(StrCat("virtio-net device at PCI path ", pci_path, " (", devpath, "/virtio*/net/*)"),
                             [devpath](const Uevent& e) {
                               return e.subsystem == "net" && e.action == "add" && e.devpath.starts_with(devpath + "/virtio") &&
                                      e.devpath.find("/net/") != std::string::npos;
                             });
  return options_.uevents->Wait(nic, options_.hotplug_timeout).status();
}

absl::StatusOr<agent::Interface> GuestNetwork::UpdateInterface(const agent::Interface& interface) {
  ASSIGN_OR_RETURN(InterfaceRequest req, ParseInterfaceRequest(interface));
  absl::MutexLock lock(&mu_);
  if (!req.pci_path.empty()) RETURN_IF_ERROR(WaitForNic(req.pci_path));
  ASSIGN_OR_RETURN(netlink::RtnlSocket sock, netlink::RtnlSocket::Open());
  ASSIGN_OR_RETURN(std::vector<netlink::LinkInfo> links, netlink::ListLinks(sock));
  ASSIGN_OR_RETURN(std::vector<netlink::AddressInfo> before, netlink::ListAddresses(sock));
  const netlink::LinkInfo* found = nullptr;
  for (const auto& l : links) {
    if (l.mac == req.mac && !(l.flags & IFF_LOOPBACK)) found = &l;
  }
  if (found == nullptr) {
    return absl::NotFoundError(StrCat("interface.hwAddr ", net::FormatMacAddress(req.mac), ": no link in the guest has it"));
  }
  const netlink::LinkInfo link = *found;
  // A link already called by the wanted name gives it up for now, and takes our old one after.
  const netlink::LinkInfo* holder = req.name == link.name ? nullptr : FindByName(links, req.name);
  const std::string holder_temp = StrCat(req.name.substr(0, 10), "_temp");

  // What was changed, undone in reverse when a later step fails: the link as it was, its
  // addresses as they were, the holder's name.
  std::vector<net::IpPrefix> added;
  bool set_down = false, holder_moved = false, changed = false;
  auto undo = [&](const absl::Status& why) {
    for (const net::IpPrefix& p : added) {
      AddressMessage m(link.index, p);
      (void)rtnl_addr_delete(sock.get(), m.a.p, 0);
    }
    if (changed) {
      Link back(rtnl_link_alloc());
      rtnl_link_set_mtu(back.p, link.mtu);
      rtnl_link_set_name(back.p, link.name.c_str());
      if (link.flags & IFF_NOARP) {
        rtnl_link_set_flags(back.p, IFF_NOARP);
      } else {
        rtnl_link_unset_flags(back.p, IFF_NOARP);
      }
      (void)ChangeLink(sock, link.index, back.p, "restore link");
    }
    if (holder_moved) (void)Rename(sock, holder->index, holder_temp, req.name);
    if (set_down && (link.flags & IFF_UP)) (void)SetUp(sock, link.index, true, link.name);
    kLog.Warn("interface update undone", {{"link", link.name}, {"error", std::string(why.message())}});
    return why;
  };

  if (absl::Status s = SetUp(sock, link.index, false, link.name); !s.ok()) return s;
  set_down = true;
  const bool skip_v6 = Ipv6Disabled();
  for (const net::IpPrefix& p : req.addresses) {
    if (!p.address.is_v4() && skip_v6) {
      kLog.Info("IPv6 is disabled in the guest: address skipped", {{"link", link.name}, {"address", net::FormatIpPrefix(p)}});
      continue;
    }
    const bool had = std::any_of(before.begin(), before.end(), [&](const netlink::AddressInfo& a) {
      return a.index == link.index && a.prefix == p;
    });
    AddressMessage m(link.index, p);
    if (int e = rtnl_addr_add(sock.get(), m.a.p, NLM_F_CREATE | NLM_F_REPLACE); e < 0) {
      return undo(netlink::NetlinkStatus(e, StrCat("add address ", net::FormatIpPrefix(p), " to link ", link.name)));
    }
    if (!had) added.push_back(p);
  }
  if (holder != nullptr) {
    if (absl::Status s = Rename(sock, holder->index, req.name, holder_temp); !s.ok()) return undo(s);
    holder_moved = true;
  }
  Link change(rtnl_link_alloc());
  if (req.mtu != 0) rtnl_link_set_mtu(change.p, req.mtu);
  if (req.name != link.name) rtnl_link_set_name(change.p, req.name.c_str());
  if (req.noarp) {
    rtnl_link_set_flags(change.p, IFF_NOARP | IFF_UP);
  } else {
    rtnl_link_unset_flags(change.p, IFF_NOARP);
    rtnl_link_set_flags(change.p, IFF_UP);
  }
  changed = true;  // a failed change may have applied part of itself
  if (absl::Status s = ChangeLink(sock, link.index, change.p, StrCat("set mtu, name ", req.name, " and up on link ", link.name));
      !s.ok()) {
    return undo(s);
  }
  if (holder != nullptr) {
    if (absl::Status s = Rename(sock, holder->index, holder_temp, link.name); !s.ok()) {
      kLog.Warn("the link that held the name keeps a temporary one", {{"link", holder_temp}, {"error", std::string(s.message())}});
    }
  }

  ASSIGN_OR_RETURN(links, netlink::ListLinks(sock));
  ASSIGN_OR_RETURN(std::vector<netlink::AddressInfo> addresses, netlink::ListAddresses(sock));
  for (const auto& l : links) {
    if (l.index == link.index) {
      kLog.Info("interface updated", {{"link", l.name}, {"mac", net::FormatMacAddress(req.mac)},
                                      {"addresses", static_cast<int64_t>(req.addresses.size())},
                                      {"mtu", static_cast<int64_t>(l.mtu)}});
      return DescribeLink(l, addresses);
    }
  }
  return absl::InternalError(StrCat("link ", req.name, " went away while it was being set up"));
}

namespace {

// A route as rtnetlink takes it, for RTM_NEWROUTE and RTM_DELROUTE.
struct RouteMessage {
  Route r{rtnl_route_alloc()};
  std::optional<Addr> dst, src, gw;
};

absl::Status BuildRoute(const RouteRequest& req, int index, RouteMessage& m, const std::string& what) {
  rtnl_route_set_family(m.r.p, static_cast<uint8_t>(req.dest.address.family));
  rtnl_route_set_table(m.r.p, RT_TABLE_MAIN);
  rtnl_route_set_type(m.r.p, RTN_UNICAST);
  rtnl_route_set_protocol(m.r.p, RTPROT_BOOT);
  rtnl_route_set_scope(m.r.p, static_cast<uint8_t>(req.scope));
  rtnl_route_set_flags(m.r.p, req.flags);
  m.dst.emplace(netlink::ToNlAddr(req.dest.address, req.dest.length));
  if (int e = rtnl_route_set_dst(m.r.p, m.dst->p); e < 0) return netlink::NetlinkStatus(e, what + ".dest");
  if (req.source) {
    m.src.emplace(netlink::ToNlAddr(*req.source));
    if (int e = rtnl_route_set_pref_src(m.r.p, m.src->p); e < 0) return netlink::NetlinkStatus(e, what + ".source");
  }
  if (req.mtu != 0) rtnl_route_set_metric(m.r.p, RTAX_MTU, req.mtu);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();  // owned by the route once added to it
  rtnl_route_nh_set_ifindex(nh, index);
  if (req.gateway) {
    m.gw.emplace(netlink::ToNlAddr(*req.gateway));
    rtnl_route_nh_set_gateway(nh, m.gw->p);
  }
  rtnl_route_add_nexthop(m.r.p, nh);
  return absl::OkStatus();
}

bool SameDestination(const netlink::RouteInfo& have, const RouteRequest& req) {
  return have.table == RT_TABLE_MAIN && have.dest == req.dest;
}

}  // namespace

absl::StatusOr<agent::Routes> GuestNetwork::UpdateRoutes(const agent::Routes& routes) {
  ASSIGN_OR_RETURN(std::vector<RouteRequest> reqs, ParseRoutesRequest(routes));
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(netlink::RtnlSocket sock, netlink::RtnlSocket::Open());
  ASSIGN_OR_RETURN(std::vector<netlink::LinkInfo> links, netlink::ListLinks(sock));
  ASSIGN_OR_RETURN(std::vector<netlink::RouteInfo> before, netlink::ListRoutes(sock));
  // Every device first: a request naming a link the guest lacks changes nothing.
  std::vector<int> indexes;
  for (const RouteRequest& req : reqs) {
    const netlink::LinkInfo* link = FindByName(links, req.device);
    if (link == nullptr) {
      return absl::NotFoundError(StrCat("routes[", req.index, "].device ", req.device, ": no such link in the guest"));
    }
    indexes.push_back(link->index);
  }
  // Routes to destinations the table did not have, removed again if a later one fails.
  std::vector<size_t> added;
  for (size_t i = 0; i < reqs.size(); ++i) {
    const RouteRequest& req = reqs[i];
    const std::string what = StrCat("routes[", req.index, "]");
    RouteMessage m;
    absl::Status s = BuildRoute(req, indexes[i], m, what);
    if (s.ok()) {
      if (int e = rtnl_route_add(sock.get(), m.r.p, NLM_F_CREATE | NLM_F_REPLACE); e < 0 && e != -NLE_EXIST) {
        s = netlink::NetlinkStatus(e, StrCat("add route ", what, " (", net::FormatIpPrefix(req.dest),
                                             req.gateway ? StrCat(" via ", net::FormatIpAddress(*req.gateway)) : "",
                                             " dev ", req.device, ")"));
      }
    }
    if (!s.ok()) {
      for (size_t j : added) {
        RouteMessage undo;
        if (BuildRoute(reqs[j], indexes[j], undo, "undo").ok()) (void)rtnl_route_delete(sock.get(), undo.r.p, 0);
      }
      return s;
    }
    if (std::none_of(before.begin(), before.end(), [&](const netlink::RouteInfo& r) { return SameDestination(r, req); })) {
      added.push_back(i);
    }
  }
  kLog.Info("routes updated", {{"routes", static_cast<int64_t>(reqs.size())}});
  ASSIGN_OR_RETURN(std::vector<netlink::RouteInfo> now, netlink::ListRoutes(sock));
  return DescribeRoutes(now, links);
}

absl::Status GuestNetwork::AddNeighbors(const agent::ARPNeighbors& neighbors) {
  ASSIGN_OR_RETURN(std::vector<NeighborRequest> reqs, ParseNeighborsRequest(neighbors));
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(netlink::RtnlSocket sock, netlink::RtnlSocket::Open());
  ASSIGN_OR_RETURN(std::vector<netlink::LinkInfo> links, netlink::ListLinks(sock));
  std::vector<int> indexes;
  for (size_t i = 0; i < reqs.size(); ++i) {
    const netlink::LinkInfo* link = FindByName(links, reqs[i].device);
    if (link == nullptr) return absl::NotFoundError(StrCat("neighbors[", i, "].device ", reqs[i].device, ": no such link in the guest"));
    indexes.push_back(link->index);
  }
  ASSIGN_OR_RETURN(std::vector<netlink::NeighborInfo> before, netlink::ListNeighbors(sock));
  // Entries the table did not have, removed again if a later one fails.
  std::vector<size_t> added;
  auto message = [&](size_t i, Neigh& n, std::optional<Addr>& dst, std::optional<Addr>& ll) {
    rtnl_neigh_set_ifindex(n.p, indexes[i]);
    dst.emplace(netlink::ToNlAddr(reqs[i].address));
    rtnl_neigh_set_dst(n.p, dst->p);
    if (reqs[i].lladdr) {
      ll.emplace(netlink::ToNlAddr(*reqs[i].lladdr));
      rtnl_neigh_set_lladdr(n.p, ll->p);
    }
    rtnl_neigh_set_state(n.p, reqs[i].state);
    rtnl_neigh_set_flags(n.p, static_cast<unsigned int>(reqs[i].flags));
  };
  for (size_t i = 0; i < reqs.size(); ++i) {
    Neigh n(rtnl_neigh_alloc());
    std::optional<Addr> dst, ll;
    message(i, n, dst, ll);
    if (int e = rtnl_neigh_add(sock.get(), n.p, NLM_F_CREATE | NLM_F_REPLACE); e < 0) {
      for (size_t j : added) {
        Neigh undo(rtnl_neigh_alloc());
        std::optional<Addr> undo_dst, undo_ll;
        message(j, undo, undo_dst, undo_ll);
        (void)rtnl_neigh_delete(sock.get(), undo.p, 0);
      }
      return netlink::NetlinkStatus(e, StrCat("add neighbour neighbors[", i, "] (", net::FormatIpAddress(reqs[i].address),
                                             " dev ", reqs[i].device, ")"));
    }
    const bool had = std::any_of(before.begin(), before.end(), [&](const netlink::NeighborInfo& b) {
      return b.index == indexes[i] && b.address == reqs[i].address;
    });
    if (!had) added.push_back(i);
  }
  return absl::OkStatus();
}

absl::StatusOr<agent::Interfaces> GuestNetwork::ListInterfaces() const {
  ASSIGN_OR_RETURN(netlink::RtnlSocket sock, netlink::RtnlSocket::Open());
  ASSIGN_OR_RETURN(std::vector<netlink::LinkInfo> links, netlink::ListLinks(sock));
  ASSIGN_OR_RETURN(std::vector<netlink::AddressInfo> addresses, netlink::ListAddresses(sock));
  return DescribeLinks(links, addresses);
}

absl::StatusOr<agent::Routes> GuestNetwork::ListRoutes() const {
  ASSIGN_OR_RETURN(netlink::RtnlSocket sock, netlink::RtnlSocket::Open());
  ASSIGN_OR_RETURN(std::vector<netlink::LinkInfo> links, netlink::ListLinks(sock));
  ASSIGN_OR_RETURN(std::vector<netlink::RouteInfo> routes, netlink::ListRoutes(sock));
  return DescribeRoutes(routes, links);
}

}  // namespace kata::guest
