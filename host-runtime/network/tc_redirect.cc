#include "host-runtime/network/tc_redirect.h"

#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <netlink/errno.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/action.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/tc.h>

#include <chrono>
#include <thread>

#include "libkata/base/str_cat.h"

namespace kata::runtime {
namespace {

constexpr uint32_t kIngressHandle = TC_HANDLE(0xffff, 0);

struct Qdisc {
  rtnl_qdisc* p = rtnl_qdisc_alloc();
  ~Qdisc() { rtnl_qdisc_put(p); }
};
struct Cls {
  rtnl_cls* p = rtnl_cls_alloc();
  ~Cls() { rtnl_cls_put(p); }
};
struct Act {
  rtnl_act* p = rtnl_act_alloc();
  ~Act() { rtnl_act_put(p); }
};

void IngressOf(rtnl_qdisc* q, int index) {
  rtnl_tc_set_ifindex(TC_CAST(q), index);
  rtnl_tc_set_parent(TC_CAST(q), TC_H_INGRESS);
  rtnl_tc_set_handle(TC_CAST(q), kIngressHandle);
  rtnl_tc_set_kind(TC_CAST(q), "ingress");
}

}  // namespace

absl::Status AddIngressRedirect(const netlink::RtnlSocket& sock, const TcLink& from, const TcLink& to) {
  Qdisc q;
  IngressOf(q.p, from.index);
  // The kernel may answer EBUSY while it sets the link up: retried briefly, as Kata does.
  int e = 0;
  for (int attempt = 1; attempt <= 5; ++attempt) {
    e = rtnl_qdisc_add(sock.get(), q.p, NLM_F_CREATE | NLM_F_EXCL);
    if (e != -NLE_BUSY) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10 * attempt));
  }
  if (e < 0) return netlink::NetlinkStatus(e, StrCat("add an ingress qdisc on ", from.name));

  Cls cls;
  rtnl_tc_set_ifindex(TC_CAST(cls.p), from.index);
  rtnl_tc_set_parent(TC_CAST(cls.p), kIngressHandle);
  if (int k = rtnl_tc_set_kind(TC_CAST(cls.p), "u32"); k < 0) return netlink::NetlinkStatus(k, "the u32 classifier");
  rtnl_cls_set_protocol(cls.p, ETH_P_ALL);
  rtnl_u32_set_cls_terminal(cls.p);
  rtnl_u32_add_key_uint32(cls.p, 0, 0, 0, 0);  // match every packet
  Act act;
  if (int k = rtnl_tc_set_kind(TC_CAST(act.p), "mirred"); k < 0) return netlink::NetlinkStatus(k, "the mirred action");
  rtnl_mirred_set_action(act.p, TCA_EGRESS_REDIR);
  rtnl_mirred_set_policy(act.p, TC_ACT_STOLEN);
  rtnl_mirred_set_ifindex(act.p, static_cast<uint32_t>(to.index));
  if (int k = rtnl_u32_add_action(cls.p, act.p); k < 0) return netlink::NetlinkStatus(k, "the filter's action");
  if (int k = rtnl_cls_add(sock.get(), cls.p, NLM_F_CREATE | NLM_F_EXCL); k < 0) {
    (void)RemoveIngress(sock, from);
    return netlink::NetlinkStatus(k, StrCat("add a filter redirecting ", from.name, " to ", to.name));
  }
  return absl::OkStatus();
}

absl::Status RemoveIngress(const netlink::RtnlSocket& sock, const TcLink& link) {
  Qdisc q;
  IngressOf(q.p, link.index);
  const int e = rtnl_qdisc_delete(sock.get(), q.p);
  if (e < 0 && e != -NLE_OBJ_NOTFOUND && e != -NLE_NOADDR && e != -NLE_INVAL && e != -NLE_NODEV) {
    return netlink::NetlinkStatus(e, StrCat("delete the ingress qdisc of ", link.name));
  }
  return absl::OkStatus();
}

}  // namespace kata::runtime
