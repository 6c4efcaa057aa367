#include "libkata/base/errno_status.h"

#include "libkata/base/str_cat.h"

namespace kata {

absl::Status ErrnoStatus(int err, std::string_view what) {
  // absl maps errno to the code and appends strerror to the message.
  return absl::ErrnoToStatus(err, ToAbsl(what));
}

}  // namespace kata
