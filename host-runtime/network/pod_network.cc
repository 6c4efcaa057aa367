#include "host-runtime/network/pod_network.h"

#include <sys/stat.h>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "host-runtime/network/tc_redirect.h"
#include "libkata/base/file_util.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/log/log.h"
#include "libkata/netlink/netns_thread.h"

namespace kata::runtime {
namespace {

const log::Subsystem kLog("network");

absl::StatusOr<NetnsSnapshot> Snapshot(const netlink::RtnlSocket& sock) {
  NetnsSnapshot s;
  ASSIGN_OR_RETURN(s.links, netlink::ListLinks(sock));
  ASSIGN_OR_RETURN(s.addresses, netlink::ListAddresses(sock));
  ASSIGN_OR_RETURN(s.routes, netlink::ListRoutes(sock));
  ASSIGN_OR_RETURN(s.neighbors, netlink::ListNeighbors(sock));
  return s;
}

// Undoes one endpoint in the namespace: its link's ingress qdisc (only when this runtime added
// it: another's is left alone), then its tap.
absl::Status Unplumb(const netlink::RtnlSocket& sock, const NetworkEndpoint& e, const TapDevice* tap, bool link_redirected) {
  absl::Status first;
  if (link_redirected) {
    first = RemoveIngress(sock, {e.link.index, e.link.name});
    // The kernel gave a link with no transmit queue (CNI's veth) one when the qdisc came.
    if (absl::Status s = SetTxQueueLength(sock, e.link.index, e.link.name, e.link.txqlen); !s.ok() && first.ok()) first = s;
  }
  if (tap != nullptr) {
    if (absl::Status s = DeleteLink(sock, tap->index, tap->name); !s.ok() && !absl::IsNotFound(s) && first.ok()) first = s;
  }
  return first;
}

}  // namespace

absl::StatusOr<SandboxNetworkSpec> SandboxNetworkFromSpec(const oci::Spec& spec) {
  SandboxNetworkSpec out;
  for (int i = 0; i < spec.linux().namespaces_size(); ++i) {
    const auto& ns = spec.linux().namespaces(i);
    if (ns.type() != "network" || ns.path().empty()) continue;
    if (ns.path().front() != '/') {
      return absl::InvalidArgumentError(StrCat("linux.namespaces[", i, "].path \"", ns.path(), "\" is not absolute"));
    }
    out.netns_path = ns.path();
  }
  for (int i = 0; i < spec.mounts_size(); ++i) {
    const auto& m = spec.mounts(i);
    if (m.destination() != "/etc/resolv.conf" || m.source().empty() || m.source().front() != '/') continue;
    auto content = ReadFileToString(m.source(), 64 * 1024);
    if (!content.ok()) {
      return absl::Status(content.status().code(), StrCat("mounts[", i, "] (/etc/resolv.conf): ", content.status().message()));
    }
    out.dns.clear();
    for (absl::string_view line : absl::StrSplit(*content, '\n', absl::SkipWhitespace())) out.dns.emplace_back(line);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<PodNetwork>> PodNetwork::Attach(const std::string& netns_path, const std::string& vhost_net) {
  std::unique_ptr<PodNetwork> net;
  absl::Status s = netlink::RunInNetns(netns_path, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(netlink::RtnlSocket sock, netlink::RtnlSocket::Open());
    ASSIGN_OR_RETURN(NetnsSnapshot snapshot, Snapshot(sock));
    ASSIGN_OR_RETURN(NetworkPlan plan, PlanNetwork(snapshot));
    net.reset(new PodNetwork(netns_path, std::move(plan)));
    struct stat st;
    const bool vhost = !vhost_net.empty() && ::stat(vhost_net.c_str(), &st) == 0;
    for (const NetworkEndpoint& e : net->plan_.endpoints) {
      auto tap = CreateTap(sock, e.tap_name, e.link.mtu);
      absl::Status step = tap.status();
      if (step.ok()) {
        net->taps_.push_back(std::move(*tap));
        const TapDevice& t = net->taps_.back();
        step = AddIngressRedirect(sock, {t.index, t.name}, {e.link.index, e.link.name});
        if (step.ok()) {
          step = AddIngressRedirect(sock, {e.link.index, e.link.name}, {t.index, t.name});
          if (step.ok()) net->link_redirected_.push_back(true);
        }
      }
      if (step.ok() && vhost) {
        auto fd = OpenVhostNet(vhost_net);
        step = fd.status();
        if (fd.ok()) net->vhost_fds_.push_back(std::move(*fd));
      }
      if (!step.ok()) {
        for (size_t i = 0; i < net->taps_.size(); ++i) {
          (void)Unplumb(sock, net->plan_.endpoints[i], &net->taps_[i], i < net->link_redirected_.size());
        }
        net->detached_ = true;
        return absl::Status(step.code(), StrCat("network endpoint ", e.link.name, ": ", step.message()));
      }
    }
    return absl::OkStatus();
  });
  if (!s.ok()) {
    if (absl::IsNotFound(s) && net == nullptr) return absl::NotFoundError(StrCat("linux.namespaces network path: ", s.message()));
    return s;
  }
  std::vector<std::string> names;
  for (const auto& e : net->plan_.endpoints) names.push_back(e.link.name);
  kLog.Info("pod network attached", {{"netns", netns_path}, {"endpoints", absl::StrJoin(names, ",")},
                                     {"skipped", absl::StrJoin(net->plan_.skipped, ",")},
                                     {"vhost_net", !net->vhost_fds_.empty()}});
  return net;
}

PodNetwork::~PodNetwork() { (void)Detach(); }

std::vector<VmNic> PodNetwork::nics() const {
  std::vector<VmNic> out;
  for (size_t i = 0; i < taps_.size(); ++i) {
    VmNic n;
    n.id = StrCat("net", i);
    n.mac = plan_.endpoints[i].interface.hwaddr();
    n.tap_fd = taps_[i].fd.get();
    n.vhost_fd = i < vhost_fds_.size() ? vhost_fds_[i].get() : -1;
    out.push_back(n);
  }
  return out;
}

void PodNetwork::CloseFds() {
  for (TapDevice& t : taps_) t.fd.reset();
  vhost_fds_.clear();
}

absl::Status PodNetwork::ConfigureGuest(const agent_api::AgentStub& agent, absl::Duration timeout) const {
  for (const NetworkEndpoint& e : plan_.endpoints) {
    agent::UpdateInterfaceRequest req;
    *req.mutable_interface() = e.interface;
    agent::Interface answered;
    if (absl::Status s = agent.UpdateInterface(req, &answered, timeout); !s.ok()) {
      return absl::Status(s.code(), StrCat("UpdateInterface ", e.link.name, ": ", s.message()));
    }
  }
  if (plan_.neighbors.arpneighbors_size() > 0) {
    agent::AddARPNeighborsRequest req;
    *req.mutable_neighbors() = plan_.neighbors;
    google::protobuf::Empty empty;
    if (absl::Status s = agent.AddARPNeighbors(req, &empty, timeout); !s.ok()) {
      return absl::Status(s.code(), StrCat("AddARPNeighbors: ", s.message()));
    }
  }
  if (plan_.routes.routes_size() > 0) {
    agent::UpdateRoutesRequest req;
    *req.mutable_routes() = plan_.routes;
    agent::Routes answered;
    if (absl::Status s = agent.UpdateRoutes(req, &answered, timeout); !s.ok()) {
      return absl::Status(s.code(), StrCat("UpdateRoutes: ", s.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status PodNetwork::Detach() {
  if (detached_) return absl::OkStatus();
  detached_ = true;
  CloseFds();
  absl::Status first;
  absl::Status entered = netlink::RunInNetns(netns_path_, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(netlink::RtnlSocket sock, netlink::RtnlSocket::Open());
    for (size_t i = 0; i < plan_.endpoints.size(); ++i) {
      absl::Status s = Unplumb(sock, plan_.endpoints[i], i < taps_.size() ? &taps_[i] : nullptr, i < link_redirected_.size());
      if (!s.ok() && first.ok()) first = s;
    }
    return absl::OkStatus();
  });
  // A namespace that is gone took the taps and filters with it.
  if (!entered.ok() && !absl::IsNotFound(entered)) return entered;
  if (!first.ok()) kLog.Warn("pod network detach incomplete", {{"netns", netns_path_}, {"error", std::string(first.message())}});
  return first;
}

absl::Status CleanupPodNetwork(const std::string& netns_path) {
  absl::Status first;
  const absl::Status entered = netlink::RunInNetns(netns_path, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(netlink::RtnlSocket sock, netlink::RtnlSocket::Open());
    ASSIGN_OR_RETURN(NetnsSnapshot snapshot, Snapshot(sock));
    for (const netlink::LinkInfo& l : snapshot.links) {
      if (!IsOurTapName(l.name)) continue;
      if (absl::Status s = DeleteLink(sock, l.index, l.name); !s.ok() && !absl::IsNotFound(s) && first.ok()) first = s;
    }
    // The plan skips our taps, so its endpoints are the pod's links they were joined to.
    auto plan = PlanNetwork(snapshot);
    if (!plan.ok()) return absl::OkStatus();  // this runtime never joined anything there
    for (const NetworkEndpoint& e : plan->endpoints) {
      if (absl::Status s = RemoveIngress(sock, {e.link.index, e.link.name}); !s.ok() && first.ok()) first = s;
    }
    return absl::OkStatus();
  });
  if (!entered.ok() && !absl::IsNotFound(entered)) return entered;
  return first;
}

}  // namespace kata::runtime
