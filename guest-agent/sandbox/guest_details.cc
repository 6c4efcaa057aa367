#include <sys/utsname.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "guest-agent/init/kernel_probe.h"
#include "guest-agent/sandbox/sandbox.h"
#include "kata_version.h"
#include "libkata/base/file_util.h"

namespace kata::guest {

agent::GuestDetailsResponse GuestDetails(const agent::GuestDetailsRequest& req,
                                         const std::vector<std::string>& storage_handlers,
                                         const std::vector<std::string>& device_handlers,
                                         const std::string& sysfs_root) {
  agent::GuestDetailsResponse resp;
  if (req.mem_block_size()) {
    // The file holds hex without a prefix ("8000000" for 128 MiB).
    auto text = ReadFileToString(sysfs_root + "/devices/system/memory/block_size_bytes", 64);
    uint64_t size = 0;
    if (text.ok() && absl::SimpleHexAtoi(absl::StripAsciiWhitespace(*text), &size)) resp.set_mem_block_size_bytes(size);
  }
  if (req.mem_hotplug_probe()) {
    resp.set_support_mem_hotplug_probe(::access((sysfs_root + "/devices/system/memory/probe").c_str(), F_OK) == 0);
  }
  struct utsname u;
  if (::uname(&u) == 0) resp.set_kernel_release(u.release);
  bool seccomp = true;
  for (const std::string& lack : KernelLacks()) {
    seccomp = seccomp && !lack.starts_with("CONFIG_SECCOMP_FILTER ");
    resp.add_kernel_lacks(lack);
  }
  auto* d = resp.mutable_agent_details();
  d->set_supports_seccomp(seccomp);  // the agent always has libseccomp; the kernel decides
  d->set_version(KATA_VERSION);
  d->set_init_daemon(::getpid() == 1);
  for (const auto& h : device_handlers) d->add_device_handlers(h);
  for (const auto& h : storage_handlers) d->add_storage_handlers(h);
  return resp;
}

}  // namespace kata::guest
