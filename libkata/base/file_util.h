#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kata {

// Reads a whole regular file; refuses files larger than `max_bytes` (configs and specs are
// small, and a FIFO or a huge file must not hang or exhaust the reader).
absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             size_t max_bytes = 16u << 20);

// The last `max_bytes` of a file (at most), starting at a line boundary when it was cut;
// "" for a missing file. For error reports that quote a log's end (QEMU's stderr, a console).
std::string ReadFileTail(const std::string& path, size_t max_bytes = 2048);

// Writes all of `data` to `fd`, retrying short writes and EINTR; the errno on failure.
absl::Status WriteAll(int fd, std::string_view data, std::string_view what);

// Clears O_NONBLOCK on `fd`: for a descriptor a thread reads with blocking read() (one from a
// non-blocking listener would make that thread spin).
void ClearNonBlocking(int fd);

// WriteAll for a socket: send(MSG_NOSIGNAL), so a peer that left is an error (EPIPE) for the
// caller, not a SIGPIPE that kills the process.
absl::Status SendAll(int fd, std::string_view data, std::string_view what);

// Writes `content` to `path` atomically: a temporary file beside it, fsync, rename. On any
// failure the temporary file is removed and `path` is untouched.
absl::Status WriteFileAtomically(const std::string& path, std::string_view content,
                                 mode_t mode = 0644);

}  // namespace kata
