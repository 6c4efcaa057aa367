// `meson install` as an operator runs it (into a DESTDIR here): the executables, the guest
// image and the default configuration land where the configuration's defaults look; the
// configuration installed is the defaults, and an operator's edits survive a reinstall; and
// the installed runtime, with no configuration named anywhere, runs a container in a VM.
// The installed tree is laid over the machine's /usr/share and /etc by read-only overlays in
// a private mount namespace, so the machine itself is not touched.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "host-runtime/tests/vm_test_support.h"
#include "libkata/testing/test_support.h"

using kata::runtime::testing::ImageDir;
using kata::testing::Capture;

namespace {

using Ran = kata::testing::CommandResult;
Ran Run(const std::string& command) { return kata::testing::RunShell(command); }

Ran Install(const std::string& destdir) {
  return Run("KATA_GUEST_IMAGE_DIR=" + ImageDir() + " meson install -C " + KATA_BUILD_ROOT + " --no-rebuild --quiet --destdir " + destdir);
}

}  // namespace

TEST_CASE("install: meson install puts a working runtime where its defaults look; the operator's configuration survives", "[install][e2e]") {
  KATA_REQUIRE_VM();
  if (::access("/usr/bin/meson", X_OK) != 0) KATA_SKIP("meson is not installed");
  kata::testing::TempDir tmp;
  const std::string root = tmp.Sub("root");
  const Ran installed = Install(root);
  INFO(installed.out);
  REQUIRE(installed.status == 0);

  for (const char* file : {"usr/local/bin/containerd-shim-kata-v2", "usr/local/bin/kata-runtime", "usr/local/bin/kata-agent-ctl",
                           "usr/local/bin/kata-erofs-snapshotter", "usr/local/bin/kata-erofs-mount",
                           "usr/local/lib/systemd/system/kata-erofs-snapshotter.service",
                           "usr/share/kata-cpp/vmlinux", "usr/share/kata-cpp/kata-initrd.img",
                           "usr/share/kata-cpp/configuration.yaml", "etc/kata-cpp/configuration.yaml"}) {
    INFO(file);
    CHECK(std::filesystem::is_regular_file(root + "/" + file));
  }
  CHECK(!std::filesystem::exists(root + "/usr/local/bin/kata-agent"));  // the guest's /init, not the host's
  CHECK(Capture("cmp " + ImageDir() + "/kata-initrd.img " + root + "/usr/share/kata-cpp/kata-initrd.img && echo same") == "same\n");

  // The configuration installed is every default, nothing else.
  const std::string runtime = root + "/usr/local/bin/kata-runtime";
  kata::testing::WriteFile(tmp.Sub("empty.yaml"), "");
  const std::string defaults = Capture(runtime + " --config " + tmp.Sub("empty.yaml") + " config");
  REQUIRE(!defaults.empty());
  CHECK(Capture(runtime + " --config " + root + "/etc/kata-cpp/configuration.yaml config") == defaults);

  // An operator's edit survives a second install; the defaults' copy is refreshed.
  {
    std::ofstream(root + "/etc/kata-cpp/configuration.yaml", std::ios::app) << "# the operator's\n";
  }
  const Ran again = Install(root);
  INFO(again.out);
  REQUIRE(again.status == 0);
  CHECK(absl::EndsWith(kata::testing::ReadFile(root + "/etc/kata-cpp/configuration.yaml"), "# the operator's\n"));
  CHECK(!absl::StrContains(kata::testing::ReadFile(root + "/usr/share/kata-cpp/configuration.yaml"), "the operator's"));

  // The installed runtime finds its configuration, kernel and initrd by its defaults alone.
  const std::string bundle = tmp.Sub("bundle");
  kata::testing::MakeBusyboxRootfs(bundle + "/rootfs");
  REQUIRE(Run("cd " + bundle + " && runc spec && python3 -c \"import json; c = json.load(open('config.json')); "
              "c['process']['terminal'] = False; c['process']['args'] = ['sh', '-c', 'echo installed-ok; exit 4']; "
              "json.dump(c, open('config.json', 'w'))\"").status == 0);
  const std::string id = "install-" + std::to_string(::getpid());
  const Ran ran = Run("env -u KATA_CONF_FILE unshare -m --propagation private sh -ec '"
                      "mount -t overlay kata-usr-share -o lowerdir=" + root + "/usr/share:/usr/share /usr/share; "
                      "mount -t overlay kata-etc -o lowerdir=" + root + "/etc:/etc /etc; " +
                      runtime + " check >/dev/null; " + runtime + " run --bundle " + bundle + " " + id + "'");
  INFO(ran.out);
  CHECK(ran.status == 4);
  CHECK(absl::StrContains(ran.out, "installed-ok\n"));
  CHECK(!std::filesystem::exists("/run/kata-cpp/" + id));
}
