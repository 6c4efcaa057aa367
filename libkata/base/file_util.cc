#include "libkata/base/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "libkata/base/str_cat.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/unique_fd.h"

namespace kata {

absl::StatusOr<std::string> ReadFileToString(const std::string& path, size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) return ErrnoStatus(errno, StrCat("open ", path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, StrCat("stat ", path));
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(StrCat(path, ": not a regular file"));
  }
  if (static_cast<size_t>(st.st_size) > max_bytes) {
    return absl::InvalidArgumentError(
        StrCat(path, ": ", st.st_size, " bytes is more than the ", max_bytes, " allowed"));
  }
  std::string out;
  out.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, StrCat("read ", path));
    }
    if (n == 0) break;  // file shrank while reading
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

absl::Status WriteFileAtomically(const std::string& path, std::string_view content,
                                 mode_t mode) {
  std::string tmp = StrCat(path, ".tmp-XXXXXX");
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, StrCat("create temporary file for ", path));
  auto fail = [&tmp](int err, std::string_view what) {
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, what);
  };
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno, StrCat("write ", tmp));
    }
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd.get(), mode) != 0) return fail(errno, StrCat("chmod ", tmp));
  if (::fsync(fd.get()) != 0) return fail(errno, StrCat("fsync ", tmp));
  if (::close(fd.release()) != 0) return fail(errno, StrCat("close ", tmp));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(errno, StrCat("rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

}  // namespace kata
