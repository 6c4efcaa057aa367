#include "libkata/base/file_util.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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
  // st_size is only a hint: sysfs files claim 4096 bytes, procfs files 0. Read to EOF and
  // stop one byte past the limit.
  std::string out;
  out.resize(std::min(max_bytes + 1, static_cast<size_t>(st.st_size > 0 ? st.st_size : 4096)));
  size_t done = 0;
  for (;;) {
    if (done == out.size()) {
      if (out.size() > max_bytes) break;
      out.resize(std::min(max_bytes + 1, out.size() * 2));
    }
    const ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, StrCat("read ", path));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  if (done > max_bytes) {
    return absl::InvalidArgumentError(StrCat(path, ": more than the ", max_bytes, " bytes allowed"));
  }
  out.resize(done);
  return out;
}

std::string ReadFileTail(const std::string& path, size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  struct stat st;
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  const off_t size = st.st_size;
  const off_t start = size > static_cast<off_t>(max_bytes) ? size - static_cast<off_t>(max_bytes) : 0;
  std::string out(static_cast<size_t>(size - start), '\0');
  const ssize_t n = ::pread(fd.get(), out.data(), out.size(), start);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  if (start > 0) {
    const size_t nl = out.find('\n');
    if (nl != std::string::npos) out.erase(0, nl + 1);
  }
  return out;
}

absl::Status SendAll(int fd, std::string_view data, std::string_view what) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, StrCat("send ", what));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

void ClearNonBlocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0 && (flags & O_NONBLOCK)) (void)::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
}

absl::Status WriteAll(int fd, std::string_view data, std::string_view what) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, StrCat("write ", what));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
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
  if (absl::Status s = WriteAll(fd.get(), content, tmp); !s.ok()) {
    ::unlink(tmp.c_str());
    return s;
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
