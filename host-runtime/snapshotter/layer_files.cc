#include "host-runtime/snapshotter/layer_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_split.h"

#include "host-runtime/snapshotter/loop_mount.h"
#include "host-runtime/vm/run_command.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/unique_fd.h"

namespace kata::snapshotter {
namespace {

// A large layer takes mkfs.erofs a while; a stuck tool must not hold the snapshotter forever.
constexpr absl::Duration kToolTimeout = absl::Minutes(30);

absl::Status RunTool(const std::vector<std::string>& argv, std::string_view what) {
  auto result = runtime::RunCommand(argv, kToolTimeout, 1 << 16);
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    return absl::InternalError(StrCat(what, ": ", argv[0], " exited ", result->exit_code, ": ", result->output));
  }
  return absl::OkStatus();
}

absl::Status SyncFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0) return ErrnoStatus(errno, StrCat("sync ", path));
  return absl::OkStatus();
}

absl::Status Resolve(std::string* tool) {
  if (tool->find('/') != std::string::npos) return absl::OkStatus();
  const char* env = std::getenv("PATH");
  std::string path = StrCat(env != nullptr ? env : "", ":/usr/sbin:/sbin");
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    const std::string candidate = StrCat(ToStd(dir), "/", *tool);
    if (::access(candidate.c_str(), X_OK) == 0) {
      *tool = candidate;
      return absl::OkStatus();
    }
  }
  return absl::NotFoundError(StrCat(*tool, " is not on PATH (", path, ")"));
}

}  // namespace

absl::Status ResolveLayerTools(LayerTools* tools) {
  RETURN_IF_ERROR(Resolve(&tools->mkfs_ext4));
  return Resolve(&tools->mkfs_erofs);
}

absl::Status MakeWritableImage(const LayerTools& tools, const std::string& image, uint64_t size_bytes,
                               const std::string& template_dir) {
  {
    UniqueFd fd(::open(image.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid()) return ErrnoStatus(errno, StrCat("create ", image));
    if (::ftruncate(fd.get(), static_cast<off_t>(size_bytes)) != 0) {
      absl::Status s = ErrnoStatus(errno, StrCat("size ", image));
      ::unlink(image.c_str());
      return s;
    }
  }
  // lazy_*_init: the inode tables and the journal are not zeroed now (the image stays sparse);
  // the kernel initializes them as they are used.
  absl::Status s = RunTool({tools.mkfs_ext4, "-q", "-F", "-E", "lazy_itable_init=1,lazy_journal_init=1", "-d", template_dir, image},
                           StrCat("make the writable layer ", image));
  if (s.ok()) s = SyncFile(image);
  if (!s.ok()) ::unlink(image.c_str());
  return s;
}

absl::Status MakeErofsLayer(const LayerTools& tools, const std::string& dir, const std::string& out) {
  const std::string tmp = out + ".tmp";
  ::unlink(tmp.c_str());
  // -Enoinline_data: file data never shares a block with metadata, as containerd's EROFS
  // snapshotter writes layers; --preserve-mtime keeps each file's own mtime, as overlayfs shows.
  absl::Status s = RunTool({tools.mkfs_erofs, "--quiet", "-Enoinline_data", "--preserve-mtime", tmp, dir},
                           StrCat("convert ", dir, " to EROFS"));
  if (s.ok()) s = SyncFile(tmp);
  if (s.ok() && ::rename(tmp.c_str(), out.c_str()) != 0) s = ErrnoStatus(errno, StrCat("rename ", tmp, " to ", out));
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

absl::Status MakeErofsLayerFromImage(const LayerTools& tools, const std::string& image, const std::string& scratch_dir,
                                     const std::string& out) {
  if (::mkdir(scratch_dir.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoStatus(errno, StrCat("mkdir ", scratch_dir));
  RETURN_IF_ERROR(LoopMount(image, scratch_dir, "ext4", "ro,noload"));
  absl::Status s = MakeErofsLayer(tools, scratch_dir + "/upper", out);
  absl::Status u = Unmount(scratch_dir);
  ::rmdir(scratch_dir.c_str());
  return s.ok() ? u : s;
}

}  // namespace kata::snapshotter
