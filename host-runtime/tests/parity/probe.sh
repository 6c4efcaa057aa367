#!/bin/sh
# What a container sees, one key=value line per fact, for the runc parity test: the same probe
# runs under `runc run` on the host and under kata-runtime in a VM, and the test compares the
# two key by key (busybox sh; nothing here may depend on which runtime runs it).

# The shell's own status (read by the shell itself: /proc/self is the container's process).
while IFS= read -r line; do
  k=${line%%:*}
  case $k in
    Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp|Seccomp_filters)
      v=${line#*:}
      echo "status.$k=$(echo $v)";;
  esac
done < /proc/self/status
echo "pid.self=$$"
sed -n -E 's/^Max ([a-z ]*[a-z]) +([^ ]+) +([^ ]+).*/\1=\2 \3/p' /proc/self/limits |
  while IFS='=' read -r k v; do echo "limit.$(echo "$k" | tr ' ' _)=$v"; done
echo "umask=$(umask)"
echo "hostname=$(hostname)"
echo "domainname=$(cat /proc/sys/kernel/domainname)"
echo "cwd=$(pwd)"
env | sort | while IFS= read -r e; do echo "env.${e%%=*}=${e#*=}"; done
echo "oom_score_adj=$(cat /proc/self/oom_score_adj)"
echo "cgroup=$(tr '\n' ' ' < /proc/self/cgroup)"
echo "net.ifaces=$(ls /sys/class/net 2>/dev/null | tr '\n' ' ')"
echo "net.lo.flags=$(cat /sys/class/net/lo/flags 2>/dev/null)"
echo "sysctl.kernel.shmmax=$(cat /proc/sys/kernel/shmmax)"
echo "sysctl.net.ipv4.ip_forward=$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null)"
# Mounts: mount point -> fstype, per-mount flags that matter, and the mounted subtree.
awk '{
  for (i = 7; $i != "-"; i++) {}
  n = split($6, o, ",")
  flags = o[1]
  for (f = 1; f <= 3; f++) {
    want = (f == 1) ? "nosuid" : (f == 2) ? "nodev" : "noexec"
    for (j = 1; j <= n; j++) if (o[j] == want) flags = flags "," want
  }
  key = $5
  seen[key]++
  if (seen[key] > 1) key = key "#" seen[key]
  print "mount." key "=" $(i + 1) " " flags " root=" $4
}' /proc/self/mountinfo
for d in null zero full random urandom tty console ptmx fd stdin stdout stderr core pts/ptmx; do
  p=/dev/$d
  if [ -L "$p" ]; then
    echo "dev.$d=link $(readlink "$p")"
  elif [ -e "$p" ]; then
    echo "dev.$d=$(stat -c '%F %t:%T %a %u:%g' "$p")"
  else
    echo "dev.$d=absent"
  fi
done
# Writes: opened for writing only (truncating nothing that matters, writing nothing).
if (echo x > /probe-written) 2>/dev/null; then echo "write.rootfs=ok"; rm -f /probe-written; else echo "write.rootfs=denied"; fi
for p in /proc/sys/kernel/domainname /proc/sysrq-trigger /proc/sys/kernel/core_pattern /sys/kernel/uevent_helper; do
  if (: > "$p") 2>/dev/null; then echo "write.$p=ok"; else echo "write.$p=denied"; fi
done
for p in /proc/acpi /proc/asound /proc/kcore /proc/keys /proc/latency_stats /proc/timer_list /proc/timer_stats \
         /proc/sched_debug /sys/firmware /proc/scsi /sys/devices/virtual/powercap /proc/sysrq-trigger; do
  if [ -d "$p" ]; then
    echo "masked.$p=dir $(ls -A "$p" | wc -l)"
  elif [ -e "$p" ]; then
    echo "masked.$p=file $(head -c 64 "$p" 2>/dev/null | wc -c)"
  else
    echo "masked.$p=absent"
  fi
done
# Isolation: a syscall containerd's RuntimeDefault profile refuses, device nodes made and
# opened (the device rules), and /proc's dangerous files through the image's own symlinks.
unshare -U true 2>/dev/null; echo "syscall.unshare=$?"
if mknod /dev/probe-c c 1 1 2>/dev/null; then
  echo "mknod.c=ok"
  if head -c1 /dev/probe-c >/dev/null 2>&1; then echo "open.c=ok"; else echo "open.c=denied"; fi
  rm -f /dev/probe-c
else
  echo "mknod.c=denied"
fi
if mknod /dev/probe-b b 7 0 2>/dev/null; then echo "mknod.b=ok"; rm -f /dev/probe-b; else echo "mknod.b=denied"; fi
for l in /image-sysrq /image-core-pattern; do
  if [ -L "$l" ]; then
    if (: > "$l") 2>/dev/null; then echo "write.$l=ok"; else echo "write.$l=denied"; fi
  fi
done
echo "etc=$(ls -ln /etc | awk 'NR > 1 {print $1, $3, $4, $5, $9}' | tr '\n' ';')"
# Devices the spec gives (PROBE_DEVICES: their container paths): the node without its numbers
# (the host's under runc, the guest's in the VM), what it starts with, and whether a write
# reaches it and reads back.
for p in $PROBE_DEVICES; do
  echo "device.$p.node=$(stat -c '%F %a %u:%g' "$p" 2>&1)"
  echo "device.$p.read=$(head -c 8 "$p" 2>/dev/null || echo denied)"
  if printf from-ctr | dd of="$p" bs=512 seek=1 conv=notrunc,fsync 2>/dev/null; then
    echo "device.$p.write=$(dd if="$p" bs=512 skip=1 count=1 2>/dev/null | head -c 8)"
  else
    echo "device.$p.write=denied"
  fi
done
# The network (PROBE_NETWORK: an address to reach, the CNI bridge's): links, addresses, routes
# and MTU as the container sees them, without the route protocols and metrics (how a route
# was added, not where it goes), and whether the address answers.
if [ -n "$PROBE_NETWORK" ]; then
  echo "net.links=$(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort | tr '\n' ' ')"
  echo "net.eth0=$(cat /sys/class/net/eth0/address) mtu $(cat /sys/class/net/eth0/mtu) $(cat /sys/class/net/eth0/operstate)"
  echo "net.lo=$(ip -o link show lo | grep -o '<[^>]*>')"
  echo "net.ipv4=$(ip -o -4 addr show | awk '{print $2, $4}' | sort | tr '\n' ';')"
  echo "net.ipv6=$(ip -o -6 addr show scope global | awk '{print $2, $4}' | sort | tr '\n' ';')"
  echo "net.routes4=$(ip -4 route | sed 's/ proto [a-z]*//; s/ metric [0-9]*//' | sort | tr '\n' ';')"
  echo "net.routes6=$(ip -6 route | grep -v '^fe80::/64\|^multicast\|^ff00::/8' | sed 's/ proto [a-z]*//; s/ metric [0-9]*//; s/ pref [a-z]*//' | sort | tr '\n' ';')"
  if ping -c 1 -W 10 "$PROBE_NETWORK" >/dev/null 2>&1; then echo "net.ping=ok"; else echo "net.ping=no answer"; fi
fi
echo "probe=done"
