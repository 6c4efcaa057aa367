#include "libkata/mount/mountinfo.h"

#include <libmount/libmount.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>

#include "absl/strings/match.h"
#include "libkata/base/str_cat.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/status_macros.h"

namespace kata::mount {
namespace {

struct TableDeleter {
  void operator()(libmnt_table* t) const { mnt_unref_table(t); }
};
struct IterDeleter {
  void operator()(libmnt_iter* i) const { mnt_free_iter(i); }
};

std::string OrEmpty(const char* s) { return s ? s : ""; }

absl::StatusOr<std::string> Canonical(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) {
    return ErrnoStatus(errno, StrCat("resolve ", path));
  }
  return std::string(buf);
}

}  // namespace

absl::StatusOr<std::vector<MountEntry>> ReadMountInfo(const std::string& path) {
  std::unique_ptr<libmnt_table, TableDeleter> table(mnt_new_table());
  if (!table) return absl::ResourceExhaustedError("libmount: cannot allocate a table");
  if (int rc = mnt_table_parse_file(table.get(), path.c_str()); rc != 0) {
    return absl::InvalidArgumentError(
        StrCat("cannot parse mount table ", path, " (libmount error ", rc, ")"));
  }
  std::unique_ptr<libmnt_iter, IterDeleter> iter(mnt_new_iter(MNT_ITER_FORWARD));
  if (!iter) return absl::ResourceExhaustedError("libmount: cannot allocate an iterator");
  std::vector<MountEntry> out;
  libmnt_fs* fs = nullptr;
  while (mnt_table_next_fs(table.get(), iter.get(), &fs) == 0) {
    MountEntry e;
    e.id = mnt_fs_get_id(fs);
    e.parent_id = mnt_fs_get_parent_id(fs);
    e.devno = mnt_fs_get_devno(fs);
    e.root = OrEmpty(mnt_fs_get_root(fs));
    e.target = OrEmpty(mnt_fs_get_target(fs));
    e.source = OrEmpty(mnt_fs_get_source(fs));
    e.fstype = OrEmpty(mnt_fs_get_fstype(fs));
    e.vfs_options = OrEmpty(mnt_fs_get_vfs_options(fs));
    e.fs_options = OrEmpty(mnt_fs_get_fs_options(fs));
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<MountEntry> MountsUnder(const std::vector<MountEntry>& table, const std::string& dir) {
  std::vector<MountEntry> out;
  const std::string prefix = dir == "/" ? "/" : StrCat(dir, "/");
  for (const MountEntry& e : table) {
    if (e.target == dir || e.target.starts_with(prefix)) out.push_back(e);
  }
  return out;
}

absl::StatusOr<bool> IsMountPoint(const std::string& path) {
  ASSIGN_OR_RETURN(std::string canonical, Canonical(path));
  ASSIGN_OR_RETURN(std::vector<MountEntry> table, ReadMountInfo());
  for (const MountEntry& e : table) {
    if (e.target == canonical) return true;
  }
  return false;
}

absl::StatusOr<std::vector<MountEntry>> ListMountsUnder(const std::string& dir) {
  ASSIGN_OR_RETURN(std::string canonical, Canonical(dir));
  ASSIGN_OR_RETURN(std::vector<MountEntry> table, ReadMountInfo());
  return MountsUnder(table, canonical);
}

}  // namespace kata::mount
