#pragma once

// What ListInterfaces and ListRoutes answer, from what rtnetlink lists (pure), in Kata's
// message shapes: every link with its addresses; the main table's unicast routes, each with
// its link's name.

#include <optional>
#include <vector>

#include "libkata/netlink/rtnl.h"
#include "protocols/agent.pb.h"

namespace kata::guest {

agent::Interface DescribeLink(const netlink::LinkInfo& link, const std::vector<netlink::AddressInfo>& addresses);
agent::Interfaces DescribeLinks(const std::vector<netlink::LinkInfo>& links,
                                const std::vector<netlink::AddressInfo>& addresses);
// nullopt for a route of another table or type, or on a link not listed.
std::optional<agent::Route> DescribeRoute(const netlink::RouteInfo& route, const std::vector<netlink::LinkInfo>& links);
agent::Routes DescribeRoutes(const std::vector<netlink::RouteInfo>& routes, const std::vector<netlink::LinkInfo>& links);

}  // namespace kata::guest
